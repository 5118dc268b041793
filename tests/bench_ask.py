"""Benchmark of an ask's non-model time and of the service's overhead per request.

    .venv/bin/python tests/bench_ask.py [--extent 2000] [--scene 6000] [--out bench-out] [--repeat 20]

On an EXTENT x EXTENT-pixel extent in the middle of a two-date SCENE x SCENE
synthetic Sentinel-2-like pair (as a QGIS view onto a larger scene). A first
ask analyses the extent and, for display, builds the engine's cached overviews
of the scene files once (reported apart); the timed asks then find the
analysis in the cache, as repeated questions on one extent do:

- non-model time of one ask: read (cache lookup), analyse (from the cache),
  render true and false colour per date, prompt; the model is replaced by a
  backend that answers one fixed sentence at once, so nothing else is timed;
- service overhead: wall time of ``POST /v1/ask`` to a real ``serve`` process
  on loopback minus the pipeline's own ``total_s`` for the same request
  (HTTP, validation, queueing, JSON), with the analytics-only backend.

Prints medians over ``--repeat`` asks.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from bench_analyse import make_pair  # noqa: E402


class _InstantModel:
    """A backend that renders like a model backend but answers at once (the model is not what is timed)."""

    from engine.model.backends import BackendKind

    kind = BackendKind.OPENAI

    def info(self) -> dict[str, object]:
        return {"backend": "instant (benchmark)"}

    def prepare(self) -> None:
        pass

    def image_pixels(self) -> None:
        return None

    def box_scale(self) -> None:
        return None

    def takes_video(self) -> bool:
        return False

    def count_tokens(self, text: str) -> int:
        return len(text)

    def stream(self, prompt: object, generation: object, cancel: threading.Event) -> Iterator[str]:
        yield "benchmark answer"


def centre_extent(path: Path, side: int) -> dict[str, object]:
    import rasterio

    with rasterio.open(path) as src:
        col0, row0 = (src.width - side) // 2, (src.height - side) // 2
        left, top = src.transform * (col0, row0)
        right, bottom = src.transform * (col0 + side, row0 + side)
        return {"xmin": left, "ymin": bottom, "xmax": right, "ymax": top, "crs": src.crs.to_string()}


def bench_pipeline(layers: list[Path], extent: dict[str, object], repeat: int) -> dict[str, float]:
    from engine.analysis.cache import AnalysisCache
    from engine.ask import AskRequest, ask, collect
    from engine.types import Extent, LayerSpec

    request = AskRequest("新增耕地面积是多少？", [LayerSpec(path=p) for p in layers], Extent(**extent))
    cache = AnalysisCache()
    t = time.perf_counter()
    collect(ask(request, _InstantModel(), cache=cache))  # analyses, fills the cache, builds display overviews
    first = time.perf_counter() - t
    rows: dict[str, list[float]] = {"first ask (analyse, build overviews)": [first]}
    for _ in range(repeat):
        timings = collect(ask(request, _InstantModel(), cache=cache))["timings"]
        non_model = timings["analyse_s"] + timings["render_s"] + timings["prompt_s"]
        for key, value in (("analyse (cache) + read", timings["analyse_s"]), ("render (4 images)", timings["render_s"]),
                           ("prompt", timings["prompt_s"]), ("non-model total", non_model)):
            rows.setdefault(key, []).append(value)
    return {k: statistics.median(v) for k, v in rows.items()}


def bench_service(layers: list[Path], extent: dict[str, object], repeat: int, cache_dir: Path) -> dict[str, float]:
    import http.client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "engine", "serve", "--port", str(port), "--backend", "none"],
                              cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO),
                                             "LANDUSE_CACHE_DIR": str(cache_dir)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # a plain keep-alive connection: the client's own cost is not the service's
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call(method: str, path: str, body: dict | None = None) -> tuple[float, bytes]:
        t = time.perf_counter()
        conn.request(method, path, json.dumps(body) if body else None, {"Content-Type": "application/json"})
        data = conn.getresponse().read()
        return time.perf_counter() - t, data

    try:
        for _ in range(600):
            try:
                call("GET", "/v1/health")
                break
            except OSError:
                conn.close()
                time.sleep(0.1)
        body = {"question": "新增耕地面积是多少？", "layers": [{"path": str(p)} for p in layers], "extent": extent}
        call("POST", "/v1/ask", body)  # fills the service's cache
        overheads, walls, health = [], [], []
        for _ in range(repeat):
            wall, data = call("POST", "/v1/ask", body)
            overheads.append(wall - json.loads(data)["timings"]["total_s"])
            walls.append(wall)
            health.append(call("GET", "/v1/health")[0])
    finally:
        conn.close()
        server.terminate()
        server.wait(10)
    return {"POST /v1/ask wall (analytics backend)": statistics.median(walls),
            "service overhead per ask": statistics.median(overheads),
            "GET /v1/health round trip": statistics.median(health)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--extent", type=int, default=2000, help="extent side in pixels (default 2000)")
    parser.add_argument("--scene", type=int, default=6000, help="scene side in pixels (default 6000)")
    parser.add_argument("--out", type=Path, default=REPO / "bench-out")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    cache_dir = args.out / f"cache-ask-{time.time_ns()}"
    os.environ["LANDUSE_CACHE_DIR"] = str(cache_dir)
    layers = make_pair(args.scene, args.out, prefix="ask_scene")
    extent = centre_extent(layers[0], args.extent)
    pipeline = bench_pipeline(layers, extent, args.repeat)
    service = bench_service(layers, extent, args.repeat, cache_dir)
    print(f"\nask on a {args.extent}x{args.extent}-pixel extent of a two-date {args.scene}x{args.scene} scene "
          f"(analysis cached after the first ask); {os.cpu_count()} cores; median of {args.repeat}")
    print(f"{'stage':<42}{'ms':>10}{'goal ms':>10}")
    goals = {"non-model total": 300, "service overhead per ask": 10}
    for name, seconds in {**pipeline, **service}.items():
        goal = goals.get(name)
        print(f"{name:<42}{seconds * 1000:>10.1f}{'' if goal is None else goal:>10}")
    print(json.dumps({k: round(v * 1000, 2) for k, v in {**pipeline, **service}.items()}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
