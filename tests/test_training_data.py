"""Training rows: the seed's LLaVA format read and checked, every bad-row kind named, GeoTIFFs rendered."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import write_tif
from PIL import Image

from training import data
from training.errors import DataError, DataFileError


def _image(folder: Path, name: str, colour=(30, 60, 200)) -> str:
    Image.fromarray(np.full((56, 56, 3), colour, np.uint8)).save(folder / name)
    return name


def _write(folder: Path, rows: list, jsonl: bool = False) -> Path:
    path = folder / ("rows.jsonl" if jsonl else "rows.json")
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) if jsonl else json.dumps(rows, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path


def _turns(*texts: str) -> list[dict]:
    return [{"from": "human" if i % 2 == 0 else "gpt", "value": t} for i, t in enumerate(texts)]


def test_llava_rows_multi_image_multi_turn_and_both_placeholders(tmp_path: Path) -> None:
    a, b = _image(tmp_path, "a.png"), _image(tmp_path, "b.png", (40, 160, 40))
    rows = [
        {"id": "one", "image": a, "conversations": _turns("<image>\n是否有水体？", "是")},
        {"id": "two", "image": [a, b], "conversations": [
            {"role": "user", "content": "<ImageHere>2023年 <ImageHere>2024年：耕地变化了吗？"},
            {"role": "assistant", "content": "是，新增耕地12公顷。"},
            {"from": "human", "value": "Where?"}, {"from": "gpt", "value": "In the north."}]},
        {"id": "three", "image": a, "conversations": _turns("Is there water?", "yes")},  # one image, no placeholder
        {"id": "four", "image": a, "question": "有没有林地？", "answer": "否", "question_type": "presence",
         "facts": {"dates": []}},
    ]
    for jsonl in (False, True):
        loaded = data.load_rows(_write(tmp_path, rows, jsonl))
        assert [r.id for r in loaded] == ["one", "two", "three", "four"]
    two = data.messages_of(loaded[1])
    assert two[0]["content"] == [{"type": "image"}, {"type": "text", "text": "2023年"}, {"type": "image"},
                                 {"type": "text", "text": "2024年：耕地变化了吗？"}]
    assert [m["role"] for m in two] == ["user", "assistant", "user", "assistant"]
    assert data.messages_of(loaded[2])[0]["content"][0] == {"type": "image"}
    assert (loaded[3].question, loaded[3].answer, loaded[3].question_type) == ("有没有林地？", "否", "presence")
    assert json.loads(loaded[3].facts) == {"dates": []}


@pytest.mark.parametrize("row, problem", [
    ({"id": "x", "image": "nowhere.png", "conversations": _turns("<image>q", "a")}, "missing image"),
    ({"id": "x", "image": ["a.png", "a.png"], "conversations": _turns("<image>q", "a")},
     "1 image placeholders (<image>/<ImageHere>) for 2 images"),
    ({"id": "x", "image": "a.png", "conversations": _turns("<image><image>q", "a")}, "2 image placeholders"),
    ({"id": "x", "image": "a.png", "conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "q"}]},
     "turns must alternate"),
    ({"id": "x", "image": "a.png", "conversations": _turns("<image>q", "  ")}, "empty answer"),
    ({"id": "x", "image": "a.png", "conversations": _turns("<image>q", "a", "more?")}, "question without an answer"),
    ({"id": "x", "image": "a.png"}, "at least a question and an answer"),
    ({"id": "x", "video": "v.mp4", "conversations": _turns("q", "a")}, "videos are not supported"),
    ({"id": "x", "image": 7, "conversations": _turns("q", "a")}, "'image' must be a path"),
    ("just a string", "not an object"),
])
def test_every_bad_row_kind_is_named_with_file_and_row(tmp_path: Path, row: object, problem: str) -> None:
    _image(tmp_path, "a.png")
    good = {"id": "ok", "image": "a.png", "conversations": _turns("<image>q", "a")}
    path = _write(tmp_path, [good, row])
    with pytest.raises(DataError) as caught:
        data.load_rows(path)
    (message,) = caught.value.problems
    assert message.startswith("rows.json:row 2") and problem in message, message
    kept = data.load_rows(path, skip_bad_rows=True)  # --skip_bad_rows: the good row stays, the count is known
    assert [r.id for r in kept] == ["ok"]


def test_unreadable_files_say_so(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataFileError, match="not JSON"):
        data.load_rows(bad)
    with pytest.raises(DataFileError, match="cannot read"):
        data.load_rows(tmp_path / "absent.json")


def test_geotiff_images_are_rendered_by_the_engine(tmp_path: Path) -> None:
    bands = np.zeros((4, 64, 64), np.float32)
    bands[:, :, :32] = np.array([0.06, 0.08, 0.05, 0.02])[:, None, None]  # water on the left
    bands[:, :, 32:] = np.array([0.03, 0.07, 0.04, 0.40])[:, None, None]  # vegetation on the right
    write_tif(tmp_path / "tile.tif", bands, descriptions=["blue", "green", "red", "nir"])
    rows = data.load_rows(_write(tmp_path, [{"id": "g", "image": "tile.tif",
                                             "conversations": _turns("<image>是否有水体？", "是")}]))
    dataset = data.sft_dataset(rows, tmp_path / "cache")
    image = dataset[0]["images"][0]
    pixels = np.asarray(image.convert("RGB"))
    assert list((tmp_path / "cache").glob("tile-*.png"))  # rendered once, cached
    from engine.scene.layer import open_layer
    from engine.scene.render import Composite, render_composites
    from engine.types import LayerSpec

    _, (tile,) = render_composites(open_layer(LayerSpec(path=tmp_path / "tile.tif")), None, [Composite.TRUE_COLOR])
    assert np.array_equal(pixels, tile.image)  # exactly what the engine shows the model at inference
    assert not np.array_equal(pixels[:, 0], pixels[:, -1])  # water and vegetation differ


def test_grpo_rows_carry_the_reward_columns_and_questions_are_cut_without_cutting_images(
        tmp_path: Path, tiny_model_dir: Path) -> None:
    from transformers import AutoProcessor

    _image(tmp_path, "a.png")
    long_question = "<image>" + "请说明 " * 200 + "是否有水体？"
    rows = data.load_rows(_write(tmp_path, [
        {"id": "1", "image": "a.png", "question": "是否有水体？", "answer": "是", "question_type": "presence"},
        {"id": "2", "image": "a.png", "conversations": _turns(long_question, "是")}]))
    tokenizer = AutoProcessor.from_pretrained(tiny_model_dir).tokenizer
    dataset = data.grpo_dataset(rows, tmp_path / "cache", tokenizer, max_question_tokens=12)
    assert set(dataset.column_names) == {"prompt", "images", "question", "answer", "question_type", "facts"}
    assert dataset[0]["answer"] == "是" and dataset[0]["question_type"] == "presence"
    content = dataset[1]["prompt"][0]["content"]
    assert content[0]["type"] == "image"  # the image stays
    text = content[1]["text"]
    assert text.endswith("是否有水体？") and len(tokenizer(text)["input_ids"]) <= 12
