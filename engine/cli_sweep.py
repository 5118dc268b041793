"""``python -m engine sweep``: many areas measured on Dask, with a table, a findings GeoPackage and a record."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli_measure import add_measure_options, measure_inputs, positive_int

EXIT_SOME_FAILED = 1


def add_parser(sub) -> None:
    p = sub.add_parser(
        "sweep", help="measure every area of a boundary file (townships, counties) on Dask",
        description="Measure every area of a boundary file on the same dates, one Dask task per area, as "
                    "`analyse --aoi AREAS --aoi-name NAME --aoi-name-field FIELD` would. Writes facts/<area>.json, "
                    "findings.gpkg, summary.csv (UTF-8 with BOM) and summary.xlsx, and sweep.json to --out. Exit 0 "
                    "when every area is measured, 1 when some failed (their errors are in the summary), 2 on bad "
                    "input. A rerun skips the areas already measured (--force redoes them).")
    p.add_argument("--areas", type=Path, required=True, metavar="AREAS",
                   help="boundary polygons: GeoPackage, Shapefile (GBK or UTF-8), GeoJSON, any CRS")
    p.add_argument("--name-field", required=True, metavar="FIELD", help="the attribute naming each area, e.g. XZQMC")
    p.add_argument("--layer", action="append", required=True, metavar="LAYER",
                   help="a layer, a folder of layers or a glob (quote it); repeat for more dates")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="the sweep's folder (made if missing)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, default=None, metavar="N",
                       help="local Dask cluster of N worker processes on this machine (default: the CPU cores)")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="an existing Dask cluster's scheduler, e.g. tcp://host:8786 (its workers must reach "
                            "the layers and --out at the same paths)")
    p.add_argument("--force", action="store_true", help="measure again the areas already measured")
    p.add_argument("--narrate", action="store_true",
                   help="also have the model explain each area's facts, through an OpenAI-compatible server "
                        "(--openai-url, --openai-model); each narrative is audited (narratives/<area>.json)")
    p.add_argument("--openai-url", default=None, metavar="URL",
                   help="OpenAI-compatible server for --narrate, e.g. http://gpu-server:8000/v1 "
                        "(default $LANDUSE_OPENAI_URL)")
    p.add_argument("--openai-model", default=None, metavar="NAME",
                   help="the served model's name for --narrate (default $LANDUSE_OPENAI_MODEL)")
    p.add_argument("--narrate-concurrency", type=positive_int, default=4, metavar="N",
                   help="most narrative requests at once, across all workers (default 4)")
    p.add_argument("--reports", action="store_true",
                   help="also a report per area (reports/<area>/: report.docx, patches.xlsx, patches.gpkg, as "
                        "`engine report` writes) and summary_report.docx over all areas")
    p.add_argument("--report-lang", choices=["zh", "en"], default="zh", help="language of the reports (default zh)")
    add_measure_options(p, aoi=False)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    import logging
    from dataclasses import asdict

    import distributed  # noqa: F401  (it sets its loggers up on import; quieten them after)
    from tqdm import tqdm

    from engine.outputs.report import sweep_report_settings
    from engine.sweep.run import SweepConfig, sweep

    if not args.debug:  # Dask's scheduler and nanny talk at INFO; the progress bar says what matters
        for name in ("distributed", "bokeh", "tornado"):
            logging.getLogger(name).setLevel(logging.ERROR)
    inputs = measure_inputs(args)  # its settings, zones and reference; the sweep resolves the layers per date
    zones = asdict(inputs.zones) if inputs.zones is not None else None
    reference = asdict(inputs.reference) if inputs.reference is not None else None
    narrate = None
    if args.narrate:
        import os

        from engine.sweep.narrative import NarrativeConfig

        url = args.openai_url or os.environ.get("LANDUSE_OPENAI_URL")
        model = args.openai_model or os.environ.get("LANDUSE_OPENAI_MODEL")
        if not url or not model:
            raise ValueError("--narrate needs --openai-url and --openai-model (an OpenAI-compatible server, "
                             "e.g. vLLM serving the merged model)")
        narrate = NarrativeConfig(url, model, os.environ.get("LANDUSE_OPENAI_KEY"),
                                  concurrency=args.narrate_concurrency)
    config = SweepConfig(areas=args.areas, name_field=args.name_field, layers=tuple(args.layer), out_dir=args.out,
                         zones=zones, reference=reference, workers=args.workers, scheduler=args.scheduler,
                         force=args.force, mmu_ha=inputs.config.mmu_ha, thresholds=inputs.config.thresholds.to_dict(),
                         budget_mb=args.budget_mb, max_memory_mb=args.max_memory_mb, sensor=args.sensor,
                         assume_crs=args.assume_crs, use_cache=not args.no_cache, narrate=narrate,
                         report=sweep_report_settings(args.report_lang) if args.reports else None)
    bar = None

    def progress(done: int, failed: int, remaining: int) -> None:
        nonlocal bar
        if args.quiet:
            return
        if bar is None:
            bar = tqdm(total=done + failed + remaining, desc="areas / 区域", unit="area", file=sys.stderr)
        bar.n = done + failed
        bar.set_postfix(done=done, failed=failed, remaining=remaining)
        bar.refresh()

    def dashboard(link: str) -> None:
        print(f"Dask dashboard: {link}", file=sys.stderr)

    try:
        result = sweep(config, progress, dashboard)
    finally:
        if bar is not None:
            bar.close()
    ok = sum(r["status"] == "ok" for r in result.summary)
    print(f"{ok} of {len(result.summary)} areas measured ({len(result.skipped)} already done, skipped); "
          f"{len(result.failed)} failed; results in {args.out}")
    for row in result.failed:
        print(f"  failed: {row['area']}: {row['error']}")
    return EXIT_SOME_FAILED if result.failed else 0
