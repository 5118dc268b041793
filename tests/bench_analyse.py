"""Benchmark of ``analyse`` on a two-date scene pair: time against the bare read, peak memory, cache.

    .venv/bin/python tests/bench_analyse.py [--size 10980] [--out bench-out] [--repeat 3]

Writes two dates of a SIZE x SIZE synthetic Sentinel-2-like stack (B02, B03,
B04, B08 and SCL; uint16, deflate, 512 x 512 tiles; planted changes), then runs
each case in fresh child processes (median time, largest peak RSS); the
first three cases run interleaved, round after round, and the ratio is the
median of each round's ratio to its own bare read:

- bare read: rasterio reads all five bands of both dates strip by strip with
  the engine's GDAL settings, nothing else (the reference of "x bare");
- analyse: classify both dates, areas, change with the minimum mapping unit,
  patches, facts (no cache), in a fresh process: it includes loading the
  compiled kernels (about half a second; their first compilation after an
  install is done by ``scripts/setup.sh``);
- analyse in a warm process: the same, after one small analyse in that
  process, as the engine service runs it;
- analyse, first run with the cache (classifies and writes the cache);
- analyse, repeated: the same call again, served from the cache. Its time is
  the call alone, as a running service sees it (imports excluded).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from bench_scene import print_table, run_case, run_rounds  # noqa: E402

BARE = """
import rasterio, time
from rasterio.windows import Window
from engine.scene.rasterio_io import gdal_env
t = time.perf_counter()
for path in PATH:
    with gdal_env(), rasterio.open(path) as src:
        for row in range(0, src.height, 512):
            src.read(window=Window(0, row, src.width, min(512, src.height - row)))
elapsed = time.perf_counter() - t
"""
WARM = """
from engine.analysis.run import analyse
from engine.types import Extent, LayerSpec
import rasterio
with rasterio.open(PATH[0]) as src:
    b = src.bounds
    small = Extent(b.left, b.top - 512 * src.res[1], b.left + 512 * src.res[0], b.top, crs=src.crs.to_string())
analyse([LayerSpec(path=p) for p in PATH], small)
"""
ANALYSE = """
import time
from engine.analysis.cache import AnalysisCache
from engine.analysis.run import analyse
from engine.types import LayerSpec
specs = [LayerSpec(path=p) for p in PATH]
cache = AnalysisCache() if FLAG else None
t = time.perf_counter()
result = analyse(specs, cache=cache)
elapsed = time.perf_counter() - t
assert result.facts.transitions
"""


def make_pair(size: int, out: Path, prefix: str = "pair") -> list[Path]:
    """Two dates of a SIZE x SIZE synthetic Sentinel-2-like stack in ``out/<prefix>_<size>`` (reused if there)."""
    from tqdm import tqdm

    from engine.synthetic import SyntheticSpec, write_scene

    folder = out / f"{prefix}_{size}"
    layers = sorted(folder.glob("S2_synthetic_*.tif"))
    if len(layers) == 2:
        return layers
    spec = SyntheticSpec(width=size, height=size, bands=("B02", "B03", "B04", "B08"), with_scl=True,
                         patch_px=64, cloud_fraction=0.05)
    with tqdm(desc=f"writing two {size}x{size} dates", unit="strip", file=sys.stderr) as bar:
        def update(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()
        scene = write_scene(spec, folder, progress=update)
    return scene.layers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10980)
    parser.add_argument("--out", type=Path, default=REPO / "bench-out")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    layers = make_pair(args.size, args.out)
    cache = args.out / f"cache-analyse-{time.time_ns()}"
    r = args.repeat
    names = ["bare read, 5 bands x 2 dates", "analyse, no cache", "analyse, no cache, warm process"]
    rounds = run_rounds([(BARE, False), (ANALYSE, False), (WARM + ANALYSE, False)], layers, cache, r)
    rows = [(name, *row) for name, row in zip(names, rounds, strict=True)]
    bare = rounds[0][0]
    first = run_case(ANALYSE, layers, True, cache)
    repeated = run_case(ANALYSE, layers, True, cache, r)
    rows.append(("analyse, first run writing the cache", first[0], first[0] / bare, first[1]))
    rows.append(("analyse, repeated (served from the cache)", repeated[0], repeated[0] / bare, repeated[1]))
    print_table(f"two dates {args.size}x{args.size}, 5 x uint16 (B02 B03 B04 B08 SCL), deflate, 512x512 tiles; "
                f"{os.cpu_count()} cores; {r} interleaved rounds (bare, analyse, warm analyse): median seconds "
                "and median ratio to the same round's bare read", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
