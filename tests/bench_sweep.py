"""Benchmark of a sweep: 16 areas over a two-date pair, against the same areas measured one by one.

    .venv/bin/python tests/bench_sweep.py [--size 10980] [--out bench-out] [--repeat 1]
        [--counties 100] [--county-km2 3000]

On a SIZE x SIZE two-date synthetic Sentinel-2-like pair (``bench_analyse.make_pair``, reused when
there), 16 areas (a 4 x 4 grid of townships, each inset from its neighbours) are measured:

- one by one: ``analyse`` with each area as its AOI, one after another in one process (no cache),
  with what a sweep writes for it (the facts as JSON and the findings, as ``analyse --aoi --json
  --geojson`` does): the reference;
- a sweep on a local Dask cluster of 1 worker, then of 2 workers (no cache, ``--force``).

Each case runs in a fresh interpreter timed from outside, so both sides pay their imports and the
compiled kernels' loading once, as a user running either does. The table then splits the time: the
Dask cluster's start and close and the sweep's own outputs are paid once per sweep; the per-area
overhead is the workers' warm areas against the same areas one by one. The goal is a Dask overhead
of 10 % or less for 1 worker;
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
import subprocess
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


def one_by_one(layers: list[Path], areas: Path) -> dict[str, float]:
    """The 16 areas measured one after another in this process, as ``analyse --aoi --json --geojson`` does each:
    seconds for all of them (from a cold process: the imports and compiled kernels load in the first, as they do
    in a worker's first task), and the pixels measured (Mpx-dates)."""
    from engine.analysis.aoi import AoiSpec
    from engine.analysis.run import analyse
    from engine.types import LayerSpec

    names = [f["properties"]["XZQMC"] for f in json.loads(areas.read_text(encoding="utf-8"))["features"]]
    specs = [LayerSpec(path=p) for p in layers]
    mpx, seconds = 0.0, []
    for name in names:
        start = time.perf_counter()
        result = analyse(specs, aoi=AoiSpec(areas, name, "XZQMC"))
        facts = result.facts
        json.dumps([facts.to_dict(), result.findings(5000)], ensure_ascii=False)
        seconds.append(time.perf_counter() - start)
        mpx += len(facts.dates) * facts.area_m2 / (facts.pixel_size[0] * facts.pixel_size[1]) / 1e6
    return {"mpx": mpx, "first": seconds[0], "warm": sum(seconds[1:])}


def swept(layers: list[Path], areas: Path, out: Path, workers: int) -> dict[str, float]:
    from engine.sweep.run import SweepConfig, sweep

    config = SweepConfig(areas=areas, name_field="XZQMC", layers=tuple(str(p) for p in layers), out_dir=out,
                         workers=workers, force=True, use_cache=False)
    result = sweep(config)
    assert all(o.status == "ok" for o in result.outcomes), [o.error for o in result.outcomes]
    by_worker: dict[str, list[float]] = {}
    for o in result.outcomes:  # in the order they completed: each worker's first is its cold one
        by_worker.setdefault(o.worker, []).append(o.seconds)
    return {"tasks": sum(o.seconds for o in result.outcomes), "peak": max(o.peak_rss_mb for o in result.outcomes),
            "warm": sum(sum(s[1:]) for s in by_worker.values()), "first": sum(s[0] for s in by_worker.values()),
            "workers": len(by_worker), "limit": config.worker_memory_mb, **result.phases_s}


def cold(case: str, size: int, out: Path, workers: int = 0) -> dict[str, float]:
    """One case in a fresh interpreter, timed from outside (interpreter start and every import included)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--size", str(size), "--out", str(out), "--child", case,
                           "--workers", str(workers)], check=True, capture_output=True, text=True)
    return {"wall": time.perf_counter() - start, **json.loads(done.stdout.strip().splitlines()[-1])}


def child(args: argparse.Namespace) -> int:
    layers = make_pair(args.size, args.out)
    folder = args.out / f"sweep_{args.size}"
    areas = folder / "areas.geojson"
    if args.child == "one-by-one":
        result = one_by_one(layers, areas)
    else:
        result = swept(layers, areas, folder / f"workers_{args.workers}", args.workers)
    print(json.dumps(result))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10980)
    parser.add_argument("--out", type=Path, default=REPO / "bench-out")
    parser.add_argument("--counties", type=int, default=100)
    parser.add_argument("--county-km2", type=float, default=3000.0)
    parser.add_argument("--repeat", type=int, default=1, help="interleaved rounds; the table shows medians")
    parser.add_argument("--child", choices=("one-by-one", "sweep"), help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("LANDUSE_CACHE_DIR", str(args.out / f"sweep_{args.size}" / "cache"))  # no cache is used
    if args.child:
        return child(args)
    layers = make_pair(args.size, args.out)
    folder = args.out / f"sweep_{args.size}"
    folder.mkdir(parents=True, exist_ok=True)
    write_areas(layers[0], folder)
    rounds = [(cold("one-by-one", args.size, args.out), cold("sweep", args.size, args.out, 1),
               cold("sweep", args.size, args.out, 2)) for _ in range(args.repeat)]  # interleaved: noise hits all
    ref, one, two = ({k: statistics.median(r[i][k] for r in rounds) for k in rounds[0][i]} for i in range(3))
    print(f"\nsweep of 16 areas over a two-date {args.size}x{args.size} pair ({ref['mpx']:.0f} Mpx-dates measured); "
          f"{os.cpu_count()} cores; each case in a fresh interpreter, timed from its start; "
          f"median of {args.repeat} interleaved rounds")
    print(f"{'case':<56}{'seconds':>9}{'vs one by one':>15}{'peak MB/worker':>16}")
    print(f"{'analyse --aoi, 16 areas one by one in one process':<56}{ref['wall']:>9.1f}{1.0:>15.2f}{'':>16}")
    for label, r in (("sweep, 1 worker", one), ("sweep, 2 workers", two)):
        print(f"{label:<56}{r['wall']:>9.1f}{r['wall'] / ref['wall']:>15.2f}{r['peak']:>16.0f}")
    print(f"\nwhere the time went (seconds){'one by one':>29}{'sweep, 1 worker':>17}")
    rows = (("interpreter start, imports, planning", ref["wall"] - ref["first"] - ref["warm"],
             one["wall"] - one["tasks"] - one["cluster_start"] - one["cluster_close"] - one["outputs"]),
            ("Dask cluster start", 0.0, one["cluster_start"]),
            ("first area (cold: imports, compiled kernels)", ref["first"], one["first"]),
            ("the other 15 areas", ref["warm"], one["warm"]),
            ("Dask cluster close", 0.0, one["cluster_close"]),
            ("summary.csv/.xlsx, findings.gpkg, sweep.json", 0.0, one["outputs"]))
    for label, a, b in rows:
        print(f"  {label:<55}{a:>10.1f}{b:>17.1f}")
    per_area = one["warm"] / ref["warm"] - 1
    fixed = one["wall"] - ref["wall"] - (one["warm"] - ref["warm"])
    print(f"Dask overhead, 1 worker, wall against one by one: {100 * (one['wall'] / ref['wall'] - 1):+.1f} % "
          f"(goal <= 10 %): per area {100 * per_area:+.1f} %, plus {fixed:.1f} s once per sweep; "
          f"2 workers / 1 worker: {two['wall'] / one['wall']:.2f}")
    print(f"peak memory per worker: {max(one['peak'], two['peak']):.0f} MB of a {one['limit']} MB limit")
    per_mpx = one["warm"] / (ref["mpx"] * 15 / 16)
    province_mpx = args.counties * 2 * args.county_km2 * 1e6 / 100 / 1e6  # 10 m pixels, two dates
    print(f"\nprojection (not measured): {args.counties} counties x {args.county_km2:g} km2 x 2 dates of Sentinel-2 "
          f"at 10 m = {province_mpx:,.0f} Mpx-dates, at the measured {per_mpx * 1000:.1f} ms per Mpx-date per worker "
          f"plus the {fixed:.0f} s once (synthetic deflate GeoTIFFs on local disk: real JPEG 2000 products over a "
          "network read slower)")
    for n in (1, 2, 8, 16, 64):
        print(f"  {n:>3} workers: {(province_mpx * per_mpx / n + fixed) / 3600:8.2f} h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
