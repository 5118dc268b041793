"""Shared fixtures: real Landsat samples, synthetic rasters and the tiny Qwen2.5-VL.

Everything a test needs is made here (synthetic GeoTIFFs, the tiny model) except
the small real Landsat subsets in ``tests/data`` (origin in ``tests/data/README.md``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

DATA = Path(__file__).parent / "data"
LANDSAT = DATA / "landsat"
L7 = LANDSAT / "LE07_L1TP_195025_20010730_20170204_01_T1"
L8 = LANDSAT / "LC08_L1TP_195025_20130707_20170503_01_T1"
L5 = LANDSAT / "LT05_L1TP_167055_20000309_20161214_01_T1"

# tests/plugin/ runs under QGIS's own Python (scripts/test.sh does that); the .venv has no QGIS.
collect_ignore = [] if importlib.util.find_spec("qgis") else ["plugin"]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the engine's cache (overviews, ...) out of the user's home during tests."""
    monkeypatch.setenv("LANDUSE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "engine-cache"))


def write_tif(path: Path, data: np.ndarray, *, crs: str | None = "EPSG:32648",
              transform: Affine | None = None, nodata: float | None = None,
              descriptions: list[str] | None = None, tags: dict[str, str] | None = None,
              scales: list[float] | None = None, offsets: list[float] | None = None,
              **profile: object) -> Path:
    """Write ``data`` (bands, rows, cols) as a GeoTIFF with the given metadata."""
    data = np.asarray(data)
    if data.ndim == 2:
        data = data[None]
    kwargs: dict[str, object] = {
        "driver": "GTiff", "count": data.shape[0], "height": data.shape[1], "width": data.shape[2],
        "dtype": data.dtype.name, "transform": transform or Affine(10, 0, 500000, 0, -10, 4000000),
    }
    if crs is not None:
        kwargs["crs"] = crs
    if nodata is not None:
        kwargs["nodata"] = nodata
    kwargs.update(profile)
    with rasterio.open(path, "w", **kwargs) as dst:
        dst.write(data)
        for i, d in enumerate(descriptions or [], start=1):
            dst.set_band_description(i, d)
        if tags:
            dst.update_tags(**tags)
        if scales:
            dst.scales = scales
        if offsets:
            dst.offsets = offsets
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Qwen2.5-VL checkpoint, built once per test session (or reused from $TINY_QWEN_DIR)."""
    from engine.model.tiny import build_tiny_model

    reuse = os.environ.get("TINY_QWEN_DIR")
    if reuse and (Path(reuse) / "config.json").exists():
        return Path(reuse)
    return build_tiny_model(tmp_path_factory.mktemp("tiny-qwen"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``gpu`` tests, with the reason, where torch sees no CUDA device."""
    if not any("gpu" in item.keywords for item in items):
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU: run on the device machine (pytest -m gpu)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def openai_stub() -> Iterator[tuple[str, list, list[dict]]]:
    """An OpenAI-compatible server replying with the queued texts in turn (HTTP 500 for an int), streamed when the
    request asks for a stream."""
    queue: list = []
    calls: list[dict] = []  # the request bodies

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            calls.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            item = queue.pop(0) if queue else "nothing"
            if isinstance(item, int):
                self.send_response(item)
                self.end_headers()
                self.wfile.write(b"server error")
                return
            if calls[-1].get("stream"):  # as a server does: the reply as an event stream of deltas
                chunk = json.dumps({"choices": [{"delta": {"content": item}}]}, ensure_ascii=False)
                body = f"data: {chunk}\n\ndata: [DONE]\n\n".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            body = json.dumps({"choices": [{"message": {"role": "assistant", "content": item}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1", queue, calls
    server.shutdown()
