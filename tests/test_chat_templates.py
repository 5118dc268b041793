"""Training on every checkpoint of the Qwen-VL family, whatever its chat template.

TRL adds loss-mask markers only to chat templates it knows byte for byte; an edited template, a
Qwen2-VL or a Qwen3-VL must train all the same (masks by assistant-turn token spans), a template
that cannot be trained on must be refused in one line before the model loads, and every failure
of a training command must be one ``error:`` line with exit status 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from engine.model.tiny import build_tiny_model
from training import grpo, modeling, sft, templates
from training.errors import TemplateError
from training.toy import write_toy_dataset

# Qwen's layout, but no default system prompt and different whitespace handling: a user's edit TRL cannot patch
EDITED = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
          "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
          "{% for part in message['content'] %}{% if part['type'] == 'image' %}"
          "<|vision_start|><|image_pad|><|vision_end|>{% elif part['type'] == 'text' %}{{ part['text'] }}"
          "{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
# the system line counts the turns: every later turn rewrites the start of the conversation
NOT_PREFIX_PRESERVING = "<|im_start|>system\n{{ messages | length }} turns<|im_end|>\n" + EDITED

QUIET = ["--report_to", "none", "--seed", "0", "--save_strategy", "no", "--logging_steps", "1"]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    return {"edited": build_tiny_model(root / "edited", family="qwen2_5_vl", chat_template=EDITED),
            "qwen2_vl": build_tiny_model(root / "qwen2_vl", family="qwen2_vl"),
            "qwen3_vl": build_tiny_model(root / "qwen3_vl", family="qwen3_vl"),
            "not_prefix": build_tiny_model(root / "not_prefix", chat_template=NOT_PREFIX_PRESERVING)}


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_toy_dataset(tmp_path_factory.mktemp("toy"), 8, seed=0, side_px=64)


def _processor(folder: Path):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(folder)


def _examples() -> list[dict]:
    """Two rows for the collators: one with two images and two turns, one plain."""
    from PIL import Image

    blue, green = Image.new("RGB", (56, 56), (30, 60, 200)), Image.new("RGB", (56, 56), (40, 160, 40))
    return [
        {"messages": [{"role": "user", "content": [{"type": "image"}, {"type": "image"},
                                                   {"type": "text", "text": "是否有水体？"}]},
                      {"role": "assistant", "content": [{"type": "text", "text": "是"}]},
                      {"role": "user", "content": [{"type": "text", "text": "面积多少？"}]},
                      {"role": "assistant", "content": [{"type": "text", "text": "12 公顷"}]}],
         "images": [blue, green]},
        {"messages": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "有没有建设用地？"}]},
                      {"role": "assistant", "content": [{"type": "text", "text": "否"}]}],
         "images": [green]},
    ]


@pytest.mark.parametrize(("ids", "mask"), [
    ([7, 1, 2, 5, 9, 8, 1, 2, 6, 9], [0, 0, 0, 1, 1, 0, 0, 0, 1, 1]),  # two turns
    ([1, 2, 5, 5, 5], [0, 0, 1, 1, 1]),  # cut short: kept to the end
    ([7, 8, 9], [0, 0, 0]),  # no assistant turn
    ([1, 2, 9, 0, 0], [0, 0, 1, 0, 0]),  # an empty answer still learns to stop; padding after it is not loss
])
def test_assistant_mask(ids: list[int], mask: list[int]) -> None:
    assert templates.assistant_mask(ids, header=[1, 2], end=[9]) == mask


def test_span_masks_equal_trls_labels_on_a_template_trl_knows(tiny_model_dir: Path) -> None:
    from trl.chat_template_utils import get_training_chat_template
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    processor = _processor(tiny_model_dir)
    trl = DataCollatorForVisionLanguageModeling(processor=processor, assistant_only_loss=True,
                                                chat_template=get_training_chat_template(processor))
    ours = templates.SpanMaskingCollator(processor, templates.find_markers(processor), max_length=None)
    expected, got = trl(_examples()), ours(_examples())
    assert torch.equal(expected["input_ids"], got["input_ids"])
    assert torch.equal(expected["labels"], got["labels"])
    kept = processor.tokenizer.decode(got["labels"][0][got["labels"][0] != -100])
    assert kept == "是<|im_end|>\n12 公顷<|im_end|>\n"


def test_the_markers_come_from_the_models_own_template(models: dict[str, Path]) -> None:
    from trl.chat_template_utils import get_training_chat_template

    processor = _processor(models["edited"])
    with pytest.raises(ValueError, match="not training-compatible"):  # what TRL alone does with it
        get_training_chat_template(processor)
    masking = templates.plan(processor)
    assert not masking.by_trl
    assert masking.markers == templates.TurnMarkers(header="<|im_start|>assistant\n", end="<|im_end|>\n")
    batch = templates.SpanMaskingCollator(processor, masking.markers, max_length=None)(_examples())
    kept = processor.tokenizer.decode(batch["labels"][1][batch["labels"][1] != -100])
    assert kept == "否<|im_end|>\n"
    assert templates.plan(_processor(models["qwen3_vl"])).by_trl  # TRL knows Qwen3-VL's own


def test_a_template_that_rewrites_earlier_turns_is_refused(models: dict[str, Path]) -> None:
    with pytest.raises(TemplateError, match="prefix-preserving"):
        templates.plan(_processor(models["not_prefix"]))


@pytest.mark.parametrize("family", ["edited", "qwen2_vl", "qwen3_vl"])
def test_sft_then_grpo_two_steps_on_each_checkpoint(family: str, models: dict[str, Path], toy: Path,
                                                    tmp_path: Path) -> None:
    pixels = ["--min_pixels", "4096", "--max_pixels", "4096"]
    stage1, stage2 = tmp_path / "stage1", tmp_path / "stage2"
    assert sft.main(["--model_id", str(models[family]), "--data_path", str(toy), "--output_dir", str(stage1),
                     "--max_steps", "2", "--per_device_train_batch_size", "2", *pixels, *QUIET]) == 0
    record = json.loads((stage1 / "training_record.json").read_text())
    assert record["steps"] == 2 and record["last_logged"]["loss"] > 0
    assert (stage1 / "adapter_model.safetensors").is_file()
    assert grpo.main(["--model_id", str(stage1), "--data_path", str(toy), "--output_dir", str(stage2),
                      "--max_steps", "2", "--per_device_train_batch_size", "2", "--num_generations", "2",
                      "--max_completion_length", "4", *pixels, *QUIET]) == 0
    assert json.loads((stage2 / "training_record.json").read_text())["steps"] == 2


def test_an_unusable_template_is_one_error_line_before_the_model_loads(models: dict[str, Path], toy: Path,
                                                                      tmp_path: Path, capsys,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    loads = []
    monkeypatch.setattr(modeling, "load_model", lambda *a, **k: loads.append(a) or (_ for _ in ()).throw(
        AssertionError("the model was loaded")))
    code = sft.main(["--model_id", str(models["not_prefix"]), "--data_path", str(toy),
                     "--output_dir", str(tmp_path / "o"), *QUIET])
    err = capsys.readouterr().err.strip().splitlines()  # progress bars and warnings, and one error line
    errors = [line for line in err if line.startswith("error: ")]
    assert code == 2 and not loads
    assert len(errors) == 1 and "prefix-preserving" in errors[0] and "later turn" in errors[0], err
    assert not any("Traceback" in line for line in err)


def test_every_training_failure_is_one_error_line(models: dict[str, Path], toy: Path, tmp_path: Path, capsys,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers

    def crash(self, *args, **kwargs):
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(transformers.Trainer, "train", crash)
    args = ["--model_id", str(models["edited"]), "--data_path", str(toy), "--output_dir", str(tmp_path / "o"),
            "--max_steps", "1", *QUIET]
    assert sft.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "out of memory" in err[-1] and "--debug" in err[-1]
    assert not any(line.startswith("Traceback") for line in err), err
    with pytest.raises(RuntimeError, match="out of memory"):  # --debug: the traceback, as it was
        sft.main([*args, "--debug"])
    # a bad option value is one line too, not a dataclass traceback
    assert sft.main([*args, "--lora_r", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "error: --lora_r and --lora_alpha must be at least 1", err


def test_rows_longer_than_max_length_are_named_before_the_model_loads(tiny_model_dir: Path, tmp_path: Path, capsys,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1008 x 1008 image at the recipe's max_pixels is 1225 visual tokens: past TRL's default 1024, it used to
    crash at the first batch ("Mismatch in image token count"). Now the row is named, with its length, first."""
    from PIL import Image

    from training import lengths

    folder = tmp_path / "data"
    rows = write_toy_dataset(folder, 3, seed=0, side_px=56)
    Image.new("RGB", (1008, 1008), (30, 60, 200)).save(folder / "big.png")
    records = json.loads(rows.read_text(encoding="utf-8"))
    records[1]["image"], records[1]["id"] = "big.png", "big-one"
    rows.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    processor = _processor(tiny_model_dir)
    processor.image_processor.size = {"shortest_edge": 256 * 28 * 28, "longest_edge": 1280 * 28 * 28}
    big = Image.open(folder / "big.png")
    grid = processor.image_processor(images=[big], return_tensors="pt")["image_grid_thw"][0]
    assert lengths.image_tokens(1008, 1008, processor.image_processor) == int(grid.prod()) // 4 == 35 * 35
    loads = []
    monkeypatch.setattr(modeling, "load_model", lambda *a, **k: loads.append(a) or (_ for _ in ()).throw(
        AssertionError("the model was loaded")))
    code = sft.main(["--model_id", str(tiny_model_dir), "--data_path", str(rows), "--output_dir", str(tmp_path / "o"),
                     "--max_length", "1024", "--max_pixels", str(1280 * 28 * 28), *QUIET])
    err = capsys.readouterr().err
    assert code == 2 and not loads
    assert "train.json:row 2 (big-one): 12" in err and "--max_length 1024" in err, err
    assert "row 1 " not in err and "row 3 " not in err


@pytest.mark.parametrize("command", ["merge", "evaluate", "build_dataset"])
def test_the_other_training_commands_fail_in_one_line_too(command: str, tmp_path: Path, capsys,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected failure deep inside (here a disk that fills up) is one error line, and --debug shows it."""
    import importlib

    module = importlib.import_module(f"training.{command}")
    args = {"merge": ["--adapter", str(tmp_path), "--output_dir", str(tmp_path / "o")],
            "evaluate": ["--data", str(tmp_path / "d.json"), "--out", str(tmp_path / "o")],
            "build_dataset": ["--layer", str(tmp_path / "a.tif"), "--out", str(tmp_path / "o")]}[command]

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    target = {"merge": "adapter_chain", "evaluate": "_question_set", "build_dataset": "build"}[command]
    monkeypatch.setattr(module, target, full)
    assert module.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "error: OSError: [Errno 28] No space left on device (run again with --debug for the traceback)"
    assert not any("Traceback" in line for line in err)
    with pytest.raises(OSError):
        module.main([*args, "--debug"])
