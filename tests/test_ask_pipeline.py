"""Model loading (tiny Qwen2.5-VL, 4-bit on CPU included), backends and the ask pipeline end to end."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import L7, L8

from engine.analysis.run import AnalysisConfig
from engine.ask import AskRequest, Sessions, ask, collect, measure
from engine.errors import GenerationError, InsufficientMemoryError, ModelNotFoundError, UnsupportedModelError
from engine.model import loading
from engine.model.backends import BackendKind, LocalBackend, NoneBackend, OpenAIBackend, choose_backend
from engine.model.config import GenerationConfig, ModelConfig, ModelFamily, Precision
from engine.types import LayerSpec

LAYERS = [LayerSpec(path=L7), LayerSpec(path=L8)]
QUESTION = "新增耕地面积是多少？"


def demo_analysis() -> AnalysisConfig:
    return AnalysisConfig(mmu_ha=0.18)  # the samples are 41 x 41 pixels (as ``ask --demo``)


@pytest.mark.parametrize("precision", [Precision.FP32, Precision.NF4])
def test_tiny_model_loads_in_each_precision_on_cpu(tiny_model_dir: Path, precision: Precision) -> None:
    lm = loading.load(ModelConfig(source=str(tiny_model_dir), precision=precision, device="cpu"))
    assert lm.family is ModelFamily.QWEN2_5_VL and lm.precision is precision and lm.device == "cpu"
    language_linear = lm.model.model.language_model.layers[0].mlp.gate_proj
    vision_linear = lm.model.model.visual.blocks[0].mlp.gate_proj
    assert (type(language_linear).__name__ == "Linear4bit") is (precision is Precision.NF4)
    assert type(vision_linear).__name__ == "Linear"  # the vision tower is never quantised
    assert loading.load(ModelConfig(source=str(tiny_model_dir), precision=precision, device="cpu")) is lm


def test_model_class_comes_from_config_json(tiny_model_dir: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "Qwen2-VL-looking-name"  # the path says Qwen2-VL; config.json says qwen2_5_vl
    shutil.copytree(tiny_model_dir, renamed)
    assert loading.read_family(renamed) is ModelFamily.QWEN2_5_VL
    config = json.loads((renamed / "config.json").read_text())
    config["model_type"] = "llava"
    (renamed / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsupportedModelError, match="llava"):
        loading.read_family(renamed)


def test_missing_weights_say_how_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=re.escape("modelscope download --model Qwen/Qwen2.5-VL-3B-Instruct")):
        loading.resolve_source("Qwen/Qwen2.5-VL-3B-Instruct")
    with pytest.raises(ModelNotFoundError, match=r"no config\.json"):
        loading.resolve_source(str(tmp_path))


def test_memory_estimate_of_the_3b_model_and_refusal(tmp_path: Path, tiny_model_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "qwen25vl3b"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(QWEN25_VL_3B_CONFIG))
    quantisable, kept = loading.parameter_counts(ModelFamily.QWEN2_5_VL, folder)
    assert 3.6e9 < quantisable + kept < 3.9e9  # about 3.75 B parameters (../shared/SEED.md)
    nf4 = loading.estimate_bytes(quantisable, kept, Precision.NF4, "cuda") / 2**30
    bf16 = loading.estimate_bytes(quantisable, kept, Precision.BF16, "cuda") / 2**30
    assert 2.5 < nf4 < 5.0 and 7.5 < bf16 < 10.5  # the README's NF4 ≈ 3.4 GB and bf16 ≈ 7.5 GB, plus margin
    monkeypatch.setattr(loading, "free_bytes", lambda device: 1024)
    with pytest.raises(InsufficientMemoryError, match="GiB is free"):
        loading.load(ModelConfig(source=str(tiny_model_dir), precision="fp32", device="cpu", max_pixels=28 * 28 * 64))


def test_auto_backend_falls_back_to_none_with_a_reason(tiny_model_dir: Path) -> None:
    backend, why = choose_backend(BackendKind.AUTO, ModelConfig(source="/nonexistent/model"), True)
    assert backend.kind is BackendKind.NONE and "does not exist" in why
    backend, why = choose_backend(BackendKind.AUTO, ModelConfig(source=str(tiny_model_dir)), True)
    assert backend.kind is BackendKind.LOCAL and why is None


def test_ask_with_the_analytics_backend_gives_measured_numbers() -> None:
    out = collect(ask(AskRequest(QUESTION, LAYERS, analysis=demo_analysis()), NoneBackend()))
    assert out["audit"]["ok"] and out["audit"]["checked"] >= 3
    assert "亩" in out["answer"] and out["facts"]["dates"] == ["2001-07-30", "2013-07-07"]
    assert out["findings"]["type"] == "FeatureCollection" and out["findings"]["features"]
    assert all(f["properties"]["source"] == "measured" for f in out["findings"]["features"])


def test_ask_with_the_tiny_model_in_4bit_streams_and_keeps_sessions(tiny_model_dir: Path) -> None:
    backend = LocalBackend(ModelConfig(source=str(tiny_model_dir), precision="nf4", device="cpu"))
    sessions = Sessions()
    events = list(ask(AskRequest(QUESTION, LAYERS, session_id="a", analysis=demo_analysis()), backend, sessions,
                      GenerationConfig(max_new_tokens=8)))
    kinds = [e.kind for e in events]
    assert kinds[0] == "progress" and kinds[-1] == "done"
    assert kinds.index("facts") < kinds.index("token") < kinds.index("findings") < kinds.index("audit")
    done = events[-1].data
    assert len(done["images"]) == 4  # true and false colour for each of two dates
    assert done["backend"]["precision"] == "nf4" and "first_token_s" in done["timings"]
    assert [t.question for t in sessions.history("a")] == [QUESTION] and sessions.history("b") == []


class _FailingBackend(NoneBackend):
    kind = BackendKind.LOCAL

    def stream(self, prompt: object, generation: object, cancel: threading.Event) -> Iterator[str]:
        yield "部分"
        raise GenerationError("the model failed while answering (out of memory: CUDA)")


def test_a_failing_model_becomes_an_error_event_and_the_measured_answer() -> None:
    events = list(ask(AskRequest(QUESTION, LAYERS, analysis=demo_analysis()), _FailingBackend()))
    error = next(e for e in events if e.kind == "error")
    assert error.data["code"] == "generation_failed" and error.data["fallback"] == "analytics"
    assert events[-1].data["fallback"] and "亩" in events[-1].data["answer"]


class _StubOpenAI(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat server that streams a fixed answer and records the request."""

    answer_pieces = ("新增耕地", "503.9 亩", "。")
    seen: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in self.answer_pieces:
            chunk = {"choices": [{"index": 0, "delta": {"content": piece}}]}
            self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stub_openai() -> Iterator[str]:
    _StubOpenAI.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StubOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_openai_backend_streams_with_images_as_data_urls(stub_openai: str) -> None:
    backend = OpenAIBackend(stub_openai, "qwen2.5-vl-3b", api_key="secret")
    events = list(ask(AskRequest(QUESTION, LAYERS, analysis=demo_analysis()), backend))
    tokens = [e.data["text"] for e in events if e.kind == "token"]
    assert tokens == list(_StubOpenAI.answer_pieces)
    done = events[-1].data
    assert done["answer"] == "新增耕地503.9 亩。"
    assert next(e for e in events if e.kind == "audit").data["ok"]  # 503.9 亩 is measured on the demo
    (request,) = _StubOpenAI.seen
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer secret"
    assert request["body"]["stream"] is True and request["body"]["model"] == "qwen2.5-vl-3b"
    content = request["body"]["messages"][-1]["content"]
    urls = [c["image_url"]["url"] for c in content if c["type"] == "image_url"]
    assert len(urls) == 4 and all(u.startswith("data:image/png;base64,") for u in urls)
    assert QUESTION in content[-1]["text"] and "事实表" in content[-1]["text"]


def test_openai_backend_unreachable_is_an_error_event() -> None:
    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m")  # discard port: nothing listens
    events = list(ask(AskRequest(QUESTION, LAYERS, analysis=demo_analysis()), backend))
    assert next(e for e in events if e.kind == "error").data["code"] == "backend_unavailable"


QWEN25_VL_3B_CONFIG = {  # the public config.json of Qwen/Qwen2.5-VL-3B-Instruct (sizes only)
    "model_type": "qwen2_5_vl", "architectures": ["Qwen2_5_VLForConditionalGeneration"],
    "hidden_size": 2048, "intermediate_size": 11008, "num_hidden_layers": 36, "num_attention_heads": 16,
    "num_key_value_heads": 2, "vocab_size": 151936, "tie_word_embeddings": True, "max_position_embeddings": 128000,
    "rope_theta": 1000000.0, "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    "vision_config": {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16,
                      "out_hidden_size": 2048, "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
                      "window_size": 112, "fullatt_block_indexes": [7, 15, 23, 31], "in_chans": 3},
}


def test_progress_streams_while_the_analysis_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A progress event reaches the consumer while the analysis is still running, not after it returns."""
    import engine.ask

    delivered = threading.Event()
    real = engine.ask.analyse

    def analyse_waiting_for_the_consumer(specs, extent, config, progress, zones, cache, **kwargs):
        progress("date 1/2 2001-07-30", 1, 41)
        if not delivered.wait(20):  # batched progress would only arrive after this returns
            raise AssertionError("the progress event was not delivered while the analysis ran")
        return real(specs, extent, config, progress, zones, cache, **kwargs)

    monkeypatch.setattr(engine.ask, "analyse", analyse_waiting_for_the_consumer)
    kinds = []
    for event in measure(AskRequest("新增建设用地多少亩？", LAYERS, analysis=demo_analysis())):
        if event.kind == "progress" and event.data["stage"].startswith("date 1/2"):
            delivered.set()
        kinds.append(event.kind)
    assert kinds.index("facts") > kinds.index("progress") and kinds[-1] == "done"
    assert kinds[kinds.index("facts"):] == ["facts", "findings", "token", "audit", "done"]


def test_an_analysis_error_reaches_the_consumer() -> None:
    from engine.errors import LayerNotFoundError

    with pytest.raises(LayerNotFoundError):
        list(measure(AskRequest("", [LayerSpec(path=Path("/nonexistent/scene.tif"))])))


def test_measure_writes_each_dates_land_cover_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rasterio

    from engine.analysis.classes import MEASURED
    from engine.analysis.classmap_file import CLASS_COLOURS

    monkeypatch.setenv("LANDUSE_CACHE_DIR", str(tmp_path))
    out = collect(measure(AskRequest("", LAYERS, analysis=demo_analysis(), class_maps=True)))
    maps = out["class_maps"]
    assert [m["date"] for m in maps] == out["facts"]["dates"]
    for entry, date in zip(maps, out["facts"]["dates"], strict=True):
        path = Path(entry["path"])
        assert path.is_relative_to(tmp_path / "classmaps") and path.suffix == ".tif"
        with rasterio.open(path) as src:
            codes = src.read(1)
            colours = src.colormap(1)
            pixel_m2 = abs(src.transform.a * src.transform.e)
        for cls in MEASURED:
            assert colours[int(cls)][:3] == tuple(int(CLASS_COLOURS[cls.key][i:i + 2], 16) for i in (1, 3, 5))
            measured = out["facts"]["classes"][date][cls.key]["area_m2"]
            assert (codes == cls).sum() * pixel_m2 == pytest.approx(measured, rel=0.005)  # the map the facts count
    assert not list((tmp_path / "classmaps").glob(".*.tmp"))  # written whole, renamed into place


def test_cancel_stops_the_analysis_at_its_next_step() -> None:
    from engine.errors import CancelledError

    cancel = threading.Event()
    seen = []
    with pytest.raises(CancelledError):
        for event in measure(AskRequest("", LAYERS, analysis=demo_analysis()), cancel=cancel):
            seen.append(event.kind)
            if event.kind == "progress" and event.data["stage"].startswith("date 1/2"):
                cancel.set()  # the client went away
    assert "facts" not in seen
