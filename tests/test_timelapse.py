"""Three or more dates as a time-lapse, and a plain photo as a free visual question.

With three or more dates, a model that takes video (every Qwen-VL family) sees the dates' true-colour images as the
frames of one video, with the dates in its prompt; without a model the answer states the measured trend of each
interval. A photo without georeference is asked about as it is: no measurement, and the answer's figures are
listed as unmeasured.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from engine.analysis.areas import AreaUnit
from engine.analysis.run import AnalysisConfig, analyse
from engine.answer.audit import audit
from engine.ask import AskRequest, Sessions, ask, collect
from engine.model.backends import BackendKind, LocalBackend, NoneBackend
from engine.model.config import GenerationConfig, ModelConfig
from engine.photo import PhotoError, PhotoRequest, ask_photo
from engine.prompt.builder import ImageFrame, PromptImage, time_lapse
from engine.synthetic import SyntheticSpec, write_scene
from engine.types import LayerSpec

DATES = ("2022-05-01", "2023-05-01", "2024-05-01")


@pytest.fixture(scope="module")
def three_dates(tmp_path_factory: pytest.TempPathFactory) -> list[LayerSpec]:
    scene = write_scene(SyntheticSpec(width=128, height=128, patch_px=16, dates=DATES),
                        tmp_path_factory.mktemp("three-dates"))
    return [LayerSpec(path=p) for p in scene.layers]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path) -> LocalBackend:
    return LocalBackend(ModelConfig(source=str(tiny_model_dir), precision="fp32", device="cpu"))


def _image(date: str, composite: str, size: tuple[int, int] = (56, 84)) -> PromptImage:
    pixels = np.full((*size, 3), 80, np.uint8)
    from affine import Affine

    return PromptImage(pixels, ImageFrame(size[1], size[0], Affine.identity(), "EPSG:32648", date, composite))


@pytest.mark.parametrize(("dates", "video_frames"), [
    (["2022", "2023", "2024"], 3),
    (["2023", "2024"], 0),  # two dates are two images, as before
    (["2024"], 0),
])
def test_three_dates_make_a_time_lapse_of_their_true_colour_images(dates: list[str], video_frames: int) -> None:
    images = [_image(d, c) for d in dates for c in ("true_color", "false_color")]
    video, stills = time_lapse(images)
    assert (len(video.frames) if video else 0) == video_frames
    if video:
        assert [f.frame.date for f in video.frames] == dates
        assert all(i.frame.composite == "false_color" for i in stills)
    else:
        assert stills == images


def test_the_tiny_model_receives_the_three_dates_as_frames_of_one_video(three_dates, tiny: LocalBackend,
                                                                        caplog) -> None:
    caplog.set_level(logging.INFO, logger="engine.model.backends")
    out = collect(ask(AskRequest("近三年土地利用结构趋势？", three_dates), tiny,
                      generation=GenerationConfig(max_new_tokens=4)))
    assert out["video"] == {"frames": 3, "dates": list(DATES)}
    assert len(out["images"]) == 3 and all("假彩色" in i["caption"] for i in out["images"])  # the stills
    seen = [r.getMessage() for r in caplog.records if r.getMessage().startswith("model input")]
    assert seen and "1 video of 3 frames" in seen[-1] and "3 images" in seen[-1], seen


def test_the_video_reaches_the_processor_as_video_tokens(three_dates, tiny: LocalBackend) -> None:
    from engine.ask import render_images
    from engine.prompt.builder import build_prompt

    result = _analysis(three_dates)
    video, stills = time_lapse(render_images(result, tiny.image_pixels()))
    prompt = build_prompt("趋势如何？", result.facts, stills, [], "zh", AreaUnit.MU, len, video=video)
    assert "视频：3 帧" in prompt.text and all(d in prompt.text for d in DATES)
    inputs = tiny.inputs(prompt)
    assert int(inputs["video_grid_thw"][0][0]) == 2  # 3 frames in Qwen's temporal patches of 2
    assert int(inputs["image_grid_thw"].shape[0]) == 3
    video_pad = tiny.loaded().processor.tokenizer.convert_tokens_to_ids("<|video_pad|>")
    assert int((inputs["input_ids"] == video_pad).sum()) > 0


def test_two_dates_reach_the_model_as_images_only(three_dates, tiny: LocalBackend) -> None:
    out = collect(ask(AskRequest("变化情况？", three_dates[1:]), tiny, generation=GenerationConfig(max_new_tokens=2)))
    assert out["video"] is None and len(out["images"]) == 4


def test_without_a_model_three_dates_are_answered_with_each_intervals_measured_trend(three_dates) -> None:
    for question in ("本季度耕地面积变化情况？", "近一年土地利用结构趋势？", "这里有什么？"):
        out = collect(ask(AskRequest(question, three_dates), NoneBackend()))
        assert "分期变化" in out["answer"] and "2022-05-01至2023-05-01" in out["answer"], (question, out["answer"])
        assert "2023-05-01至2024-05-01" in out["answer"]
        assert out["audit"]["verdict"] == "all_measured", out["audit"]


def _analysis(layers: list[LayerSpec]):
    return analyse(layers, None, AnalysisConfig())


def _photo(path: Path, kind: str = "PNG") -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)).save(path, format=kind)
    return path


def test_a_photo_is_a_free_visual_question_to_the_model(tmp_path: Path, tiny: LocalBackend, caplog) -> None:
    caplog.set_level(logging.INFO, logger="engine.model.backends")
    photos = [_photo(tmp_path / "field.png"), _photo(tmp_path / "site.jpg", "JPEG")]
    sessions = Sessions()
    events = list(ask_photo(PhotoRequest("照片里有什么？", photos, session_id="s"), tiny, sessions,
                            GenerationConfig(max_new_tokens=4)))
    kinds = [e.kind for e in events]
    assert "facts" not in kinds and "findings" not in kinds  # nothing is measured
    assert kinds[-2:] == ["audit", "done"]
    done = events[-1].data
    assert done["mode"] == "photo" and len(done["images"]) == 2 and done["video"] is None
    assert [t.question for t in sessions.history("s")] == ["照片里有什么？"]
    seen = [r.getMessage() for r in caplog.records if r.getMessage().startswith("model input")]
    assert seen and "2 images" in seen[-1]


class _Talkative(NoneBackend):
    """A model that invents figures about a photo."""

    kind = BackendKind.LOCAL

    def stream(self, prompt, generation, cancel):
        assert prompt.facts is None and "事实表" not in prompt.text and "照片1：site.png" in prompt.text
        yield from ("照片中约有3栋房屋，", "占地约200亩。")


def test_a_photos_figures_are_never_measured(tmp_path: Path) -> None:
    events = list(ask_photo(PhotoRequest("照片里有什么？", [_photo(tmp_path / "site.png")]), _Talkative()))
    checked = next(e.data for e in events if e.kind == "audit")
    assert checked["verdict"] == "unsupported" and checked["unsupported"] == ["3栋", "约200亩"], checked
    assert audit("照片中约有3栋房屋", {}, "").verdict == "unsupported"


def test_a_photo_too_large_to_decode_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    huge = tmp_path / "huge.png"  # a 30000 x 30000 header over a few bytes
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))
    with pytest.raises(PhotoError, match=r"huge\.png"):
        list(ask_photo(PhotoRequest("照片里有什么？", [huge]), NoneBackend()))


def test_a_photo_without_a_model_says_a_model_is_needed(tmp_path: Path) -> None:
    events = list(ask_photo(PhotoRequest("照片里有什么？", [_photo(tmp_path / "a.png")]), NoneBackend()))
    assert [e.kind for e in events] == ["error"]
    assert events[0].data["code"] == "no_model" and "视觉语言模型" in events[0].data["message"]


@pytest.mark.parametrize("content", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 20])
def test_a_file_that_is_not_a_photo_is_refused_in_one_line(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    with pytest.raises(PhotoError, match=r"bad\.png"):
        list(ask_photo(PhotoRequest("照片里有什么？", [bad]), NoneBackend(why="test")))


@pytest.mark.parametrize("family", ["qwen2_vl", "qwen3_vl"])
def test_the_other_families_take_the_time_lapse_too(family: str, three_dates, tmp_path: Path, caplog) -> None:
    from engine.model.tiny import build_tiny_model

    caplog.set_level(logging.INFO, logger="engine.model.backends")
    model = build_tiny_model(tmp_path / family, family=family)
    backend = LocalBackend(ModelConfig(source=str(model), precision="fp32", device="cpu"))
    out = collect(ask(AskRequest("趋势如何？", three_dates), backend, generation=GenerationConfig(max_new_tokens=2)))
    assert not out["errors"] and out["video"] == {"frames": 3, "dates": list(DATES)}, out["errors"]
    assert any("1 video of 3 frames" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("family", "dates", "grid_t"), [("qwen3_vl", 6, 3), ("qwen2_5_vl", 6, 3), ("qwen2_vl", 5, 3)])
def test_every_date_is_a_frame_the_processor_keeps(family: str, dates: int, grid_t: int, three_dates,
                                                     tmp_path: Path) -> None:
    """No frame sampling: Qwen3-VL's processor would keep 4 of 6 frames by default."""
    from engine.model.tiny import build_tiny_model
    from engine.prompt.builder import PromptVideo, build_prompt

    backend = LocalBackend(ModelConfig(source=str(build_tiny_model(tmp_path / family, family=family)),
                                       precision="fp32", device="cpu"))
    frames = [_image(f"{2018 + i}-05-01", "true_color", (112, 112)) for i in range(dates)]
    result = _analysis(three_dates)
    prompt = build_prompt("趋势？", result.facts, [], [], "zh", AreaUnit.MU, len, video=PromptVideo(frames))
    assert int(backend.inputs(prompt)["video_grid_thw"][0][0]) == grid_t  # frames in temporal patches of 2
