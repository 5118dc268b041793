"""Benchmark of ``engine report``'s stages on a synthetic two-date scene with many change patches.

    .venv/bin/python tests/bench_report.py [--size 2048] [--patch-px 16] [--out bench-out]

Measures, in one process and one run: the analysis (keeping the patches), the register (every patch
vectorised and placed in CGCS2000), the Excel register, the GeoPackage, the overview map, six before/after
pairs and the Word document; prints a table with each stage's seconds and share, and the patch count.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--patch-px", type=int, default=16, help="side of the synthetic land-cover patches")
    parser.add_argument("--out", type=Path, default=REPO / "bench-out")
    args = parser.parse_args()

    from engine.analysis.run import analyse
    from engine.outputs.document import write_document
    from engine.outputs.files import write_register_vectors, write_register_xlsx
    from engine.outputs.labels import Labels
    from engine.outputs.pictures import overview_map, patch_chips
    from engine.outputs.register import patch_register
    from engine.outputs.report import analytics_summary
    from engine.synthetic import SyntheticSpec, write_scene
    from engine.types import LayerSpec

    folder = args.out / f"report_{args.size}_{args.patch_px}"
    spec = SyntheticSpec(width=args.size, height=args.size, patch_px=args.patch_px)
    layers = sorted(folder.glob("S2_*.tif")) or write_scene(spec, folder).layers
    labels = Labels.for_lang("zh")
    times: dict[str, float] = {}

    def timed(name, fn, *a, **k):
        start = time.perf_counter()
        value = fn(*a, **k)
        times[name] = time.perf_counter() - start
        return value

    analysis = timed("analyse (keeping the patches)", analyse, [LayerSpec(path=p) for p in layers],
                     keep_class_maps=True)
    summary = timed("summary (analytics answers, audit)", analytics_summary, analysis.facts, "zh", "mu")
    register = timed("register (every patch, CGCS2000)", patch_register, analysis)
    timed("patches.xlsx", write_register_xlsx, register, labels, folder / "patches.xlsx")
    timed("patches.gpkg", write_register_vectors, register, labels, folder / "patches.gpkg")
    picture = timed("overview map", overview_map, analysis, register.rows, labels)
    chips = timed("6 before/after pairs", patch_chips, analysis, register.rows, 6)
    timed("report.docx", write_document, folder / "report.docx", analysis.facts.to_dict(), register, summary,
          picture, chips, labels)
    total = sum(times.values())
    print(f"\nreport of a two-date {args.size}x{args.size} synthetic scene, {len(register.rows)} change patches; "
          "one run, one process")
    print(f"{'stage':<40}{'seconds':>10}{'share':>8}")
    for name, seconds in times.items():
        print(f"{name:<40}{seconds:>10.2f}{100 * seconds / total:>7.0f}%")
    print(f"{'total':<40}{total:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
