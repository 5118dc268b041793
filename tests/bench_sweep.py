"""Benchmark of a sweep: 16 areas over a two-date pair, against the same areas measured one by one.

    .venv/bin/python tests/bench_sweep.py [--size 10980] [--out bench-out] [--counties 100] [--county-km2 3000]

On a SIZE x SIZE two-date synthetic Sentinel-2-like pair (``bench_analyse.make_pair``, reused when
there), 16 areas (a 4 x 4 grid of townships, each inset from its neighbours) are measured:

- one by one: ``analyse`` with each area as its AOI, one after another in one process (no cache),
  with what a sweep writes for it (the facts as JSON and the findings, as ``analyse --aoi --json
  --geojson`` does); the sum of their times is the reference;
- a sweep on a local Dask cluster of 1 worker, then of 2 workers (no cache, ``--force``): wall time
  with and without starting the cluster, and the overhead of 1 worker against the reference (goal:
  10 % or less);
- each worker's peak resident memory, against the worker's memory limit (the engine's budgets);
- a projection to a province: COUNTIES counties of COUNTY_KM2 each, two dates of Sentinel-2 at 10 m,
  from the measured seconds per megapixel-date of one worker, on 1 to 64 workers.

Prints one table; every number is measured in this run except the projection, which says so.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from bench_analyse import make_pair  # noqa: E402


def write_areas(layer: Path, out: Path, n: int = 4) -> Path:
    """An n x n grid of townships over the layer (GeoJSON in the layer's CRS), inset 3.3 px from each other."""
    import rasterio
    from shapely.geometry import box, mapping

    with rasterio.open(layer) as src:
        left, bottom, right, top = src.bounds
        crs = src.crs.to_string()
        inset = 3.3 * src.res[0]
    step_x, step_y = (right - left) / n, (top - bottom) / n
    features = [{"type": "Feature", "properties": {"XZQMC": f"乡{i + 1:02d}"},
                 "geometry": mapping(box(left + (i % n) * step_x + inset, bottom + (i // n) * step_y + inset,
                                         left + (i % n + 1) * step_x - inset, bottom + (i // n + 1) * step_y - inset))}
                for i in range(n * n)]
    path = out / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": crs}},
                                "features": features}, ensure_ascii=False), encoding="utf-8")
    return path


def one_by_one(layers: list[Path], areas: Path) -> tuple[float, float]:
    """Seconds for the 16 areas measured one after another in this process, and the pixels measured (Mpx-dates)."""
    from engine.analysis.aoi import AoiSpec
    from engine.analysis.run import analyse
    from engine.types import LayerSpec

    names = [f["properties"]["XZQMC"] for f in json.loads(areas.read_text(encoding="utf-8"))["features"]]
    specs = [LayerSpec(path=p) for p in layers]
    analyse(specs, aoi=AoiSpec(areas, names[0], "XZQMC"))  # loads the compiled kernels, as a worker does once
    total, mpx = 0.0, 0.0
    for name in names:
        start = time.perf_counter()
        result = analyse(specs, aoi=AoiSpec(areas, name, "XZQMC"))
        facts = result.facts
        json.dumps([facts.to_dict(), result.findings(5000)], ensure_ascii=False)
        total += time.perf_counter() - start
        mpx += len(facts.dates) * facts.area_m2 / (facts.pixel_size[0] * facts.pixel_size[1]) / 1e6
    return total, mpx


def swept(layers: list[Path], areas: Path, out: Path, workers: int) -> dict[str, float]:
    from engine.sweep.run import SweepConfig, sweep

    config = SweepConfig(areas=areas, name_field="XZQMC", layers=tuple(str(p) for p in layers), out_dir=out,
                         workers=workers, force=True, use_cache=False)
    start = time.perf_counter()
    result = sweep(config)
    wall = time.perf_counter() - start
    assert all(o.status == "ok" for o in result.outcomes), [o.error for o in result.outcomes]
    peaks = [o.peak_rss_mb for o in result.outcomes]
    return {"wall": wall, "tasks": sum(o.seconds for o in result.outcomes), "peak": max(peaks),
            "median_area": statistics.median(o.seconds for o in result.outcomes),
            "workers": len({o.worker for o in result.outcomes}), "limit": config.worker_memory_mb}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10980)
    parser.add_argument("--out", type=Path, default=REPO / "bench-out")
    parser.add_argument("--counties", type=int, default=100)
    parser.add_argument("--county-km2", type=float, default=3000.0)
    args = parser.parse_args()
    layers = make_pair(args.size, args.out)
    folder = args.out / f"sweep_{args.size}"
    folder.mkdir(parents=True, exist_ok=True)
    areas = write_areas(layers[0], folder)
    os.environ.setdefault("LANDUSE_CACHE_DIR", str(folder / "cache"))  # unused (no cache), kept out of ~/.cache
    reference, mpx = one_by_one(layers, areas)
    one = swept(layers, areas, folder / "one", 1)
    two = swept(layers, areas, folder / "two", 2)
    print(f"\nsweep of 16 areas over a two-date {args.size}x{args.size} pair ({mpx:.0f} Mpx-dates measured); "
          f"{os.cpu_count()} cores")
    print(f"{'case':<52}{'seconds':>10}{'vs one by one':>15}{'peak MB/worker':>16}")
    print(f"{'analyse --aoi, 16 areas one by one in one process':<52}{reference:>10.1f}{1.0:>15.2f}{'':>16}")
    for label, r in (("sweep, 1 worker (wall, incl. cluster start)", one),
                     ("sweep, 2 workers (wall, incl. cluster start)", two)):
        print(f"{label:<52}{r['wall']:>10.1f}{r['wall'] / reference:>15.2f}{r['peak']:>16.0f}")
    print(f"{'sweep, 1 worker: the tasks alone':<52}{one['tasks']:>10.1f}{one['tasks'] / reference:>15.2f}")
    print(f"Dask overhead, 1 worker, wall against one by one: {100 * (one['wall'] / reference - 1):+.1f} % "
          f"(goal <= 10 %); 2 workers / 1 worker: {two['wall'] / one['wall']:.2f}")
    print(f"peak memory per worker: {max(one['peak'], two['peak']):.0f} MB of a {one['limit']} MB limit")
    per_mpx = one["tasks"] / mpx
    province_mpx = args.counties * 2 * args.county_km2 * 1e6 / 100 / 1e6  # 10 m pixels, two dates
    print(f"\nprojection (not measured): {args.counties} counties x {args.county_km2:g} km2 x 2 dates of Sentinel-2 "
          f"at 10 m = {province_mpx:,.0f} Mpx-dates, at the measured {per_mpx * 1000:.1f} ms per Mpx-date per worker "
          "(synthetic deflate GeoTIFFs on local disk: real JPEG 2000 products over a network read slower)")
    for n in (1, 2, 8, 16, 64):
        print(f"  {n:>3} workers: {province_mpx * per_mpx / n / 3600:8.2f} h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
