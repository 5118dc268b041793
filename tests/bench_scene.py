"""Benchmark of the scene reader: bare read vs inspect vs render, with peak memory.

    .venv/bin/python tests/bench_scene.py [--size 10980] [--out bench-out]

Writes a four-band uint16 deflate-tiled GeoTIFF of SIZE x SIZE pixels (and a COG
copy with internal overviews), then runs each case in a fresh child process and
prints wall time, the ratio to the bare read, and the child's peak RSS:

- bare read: rasterio reads the four bands strip by strip (same GDAL settings
  as the engine: 64 MB block cache, GDAL_NUM_THREADS=ALL_CPUS), nothing else;
  this is the reference of the "x bare" column. A second bare read with GDAL's
  defaults (one decoding thread) is shown for comparison;
- inspect: the engine's full-extent summary (reflectance, indices, validity);
- render: full extent at display size, without overviews, from the COG's
  internal overviews, and through the engine's cached overviews (first call
  builds them, second call reuses them).

Each case runs --repeat times (median shown; the overview build once): the
machines are shared and noisy, so read the table as ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CASES = {
    "bare_read": """
import rasterio, time
from rasterio.windows import Window
from engine.scene.rasterio_io import gdal_env
t = time.perf_counter()
with gdal_env(), rasterio.open(PATH) as src:
    for row in range(0, src.height, 512):
        src.read([1, 2, 3, 4], window=Window(0, row, src.width, min(512, src.height - row)))
elapsed = time.perf_counter() - t
""",
    "bare_read_default": """
import rasterio, time
from rasterio.windows import Window
t = time.perf_counter()
with rasterio.open(PATH) as src:
    for row in range(0, src.height, 512):
        src.read([1, 2, 3, 4], window=Window(0, row, src.width, min(512, src.height - row)))
elapsed = time.perf_counter() - t
""",
    "inspect": """
import time
from engine.scene.layer import open_layer
from engine.scene.summary import summarise
from engine.types import LayerSpec
t = time.perf_counter()
summarise(open_layer(LayerSpec(path=PATH)))
elapsed = time.perf_counter() - t
""",
    "render": """
import time
from engine.scene.layer import open_layer
from engine.scene.render import RenderConfig, render
from engine.types import LayerSpec
t = time.perf_counter()
_, _, tiles = render(open_layer(LayerSpec(path=PATH)), config=RenderConfig(use_overviews=FLAG))
list(tiles)
elapsed = time.perf_counter() - t
""",
}


def run_case(code: str, path: Path | list[Path], flag: bool, cache: Path, repeat: int = 1) -> tuple[float, float]:
    """Run ``code`` in ``repeat`` fresh children; return (median seconds, max peak RSS in MB).

    In ``code``, PATH becomes the path (or list of paths) and FLAG the boolean ``flag``.
    """
    runs = [_run_once(code, path, flag, cache) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def _run_once(code: str, path: Path | list[Path], flag: bool, cache: Path) -> tuple[float, float]:
    value = [str(p) for p in path] if isinstance(path, list) else str(path)
    script = code.replace("PATH", repr(value)).replace("FLAG", repr(flag))
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork+exec.
    script += "\nimport json, re\nhwm = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1])" \
              "\nprint(json.dumps({'s': elapsed, 'rss': hwm / 1024}))\n"
    env = {**os.environ, "LANDUSE_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["s"], result["rss"]


def make_inputs(size: int, out: Path) -> tuple[Path, Path]:
    import rasterio.shutil
    from tqdm import tqdm

    from engine.synthetic import SyntheticSpec, write_scene

    plain = out / f"bench_{size}.tif"
    cog = out / f"bench_{size}_cog.tif"
    if not plain.exists():
        spec = SyntheticSpec(width=size, height=size, dates=("2024-05-01",), bands=("B02", "B03", "B04", "B08"),
                             with_scl=False, patch_px=64, cloud_fraction=0.0)
        with tqdm(desc=f"writing {size}x{size} scene", unit="strip", file=sys.stderr) as bar:
            def update(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()
            scene = write_scene(spec, out / "tmp", progress=update)
        scene.layers[0].rename(plain)
    if not cog.exists():
        t = time.perf_counter()
        rasterio.shutil.copy(plain, cog, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=512, NUM_THREADS="ALL_CPUS")
        print(f"COG with overviews written in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return plain, cog


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10980, help="scene side in pixels (default 10980)")
    parser.add_argument("--out", type=Path, default=REPO / "bench-out", help="folder for the scenes")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the median is shown (default 3)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    plain, cog = make_inputs(args.size, args.out)
    cache = args.out / f"cache-{time.time_ns()}"

    r = args.repeat
    rows = []
    bare_s, bare_rss = run_case(CASES["bare_read"], plain, False, cache, r)
    rows.append(("bare rasterio read, 4 bands", bare_s, bare_rss))
    rows.append(("bare read, GDAL defaults (1 decode thread)",
                 *run_case(CASES["bare_read_default"], plain, False, cache, r)))
    rows.append(("inspect, full extent", *run_case(CASES["inspect"], plain, False, cache, r)))
    rows.append(("render, no overviews", *run_case(CASES["render"], plain, False, cache, r)))
    rows.append(("render, COG internal overviews", *run_case(CASES["render"], cog, True, cache, r)))
    rows.append(("render, engine builds cached overviews", *run_case(CASES["render"], plain, True, cache)))
    rows.append(("render, cached overviews reused", *run_case(CASES["render"], plain, True, cache, r)))

    print_table(f"scene {args.size}x{args.size}, 4 x uint16, deflate, 512x512 tiles; {os.cpu_count()} cores; "
                f"median of {r} runs (the overview build runs once)", rows)
    return 0


def run_rounds(cases: list[tuple[str, bool]], path: Path | list[Path], cache: Path,
               repeat: int) -> list[tuple[float, float, float]]:
    """Run the (code, flag) cases one after another, ``repeat`` rounds, each in a fresh child.

    Returns per case (median seconds, median ratio to the first case of the
    same round, max peak RSS MB): interleaving keeps slow drifts of a shared
    machine out of the ratios.
    """
    times: list[list[float]] = [[] for _ in cases]
    rss: list[float] = [0.0] * len(cases)
    for _ in range(repeat):
        for i, (code, flag) in enumerate(cases):
            seconds, peak = _run_once(code, path, flag, cache)
            times[i].append(seconds)
            rss[i] = max(rss[i], peak)
    return [(statistics.median(t), statistics.median(a / b for a, b in zip(t, times[0], strict=True)), r)
            for t, r in zip(times, rss, strict=True)]


def print_table(title: str, rows: list[tuple[str, float, float]] | list[tuple[str, float, float, float]]) -> None:
    """Rows of (case, seconds, peak RSS MB) or (case, seconds, ratio, peak RSS MB).

    Without a ratio, the first row's time is the reference of the ratio column.
    """
    reference = rows[0][1]
    print(f"\n{title}")
    print(f"{'case':<46}{'seconds':>9}{'x bare':>9}{'peak RSS MB':>13}")
    for name, seconds, *rest in rows:
        ratio, rss = rest if len(rest) == 2 else (seconds / reference, rest[0])
        print(f"{name:<46}{seconds:>9.2f}{ratio:>9.2f}{rss:>13.0f}")


if __name__ == "__main__":
    sys.exit(main())
