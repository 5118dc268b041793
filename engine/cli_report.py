"""``python -m engine report``: measure as ``analyse`` does, then write the bureau's files into ``--out``
(``engine.outputs.report``): report.docx, patches.xlsx, patches.gpkg (+ .qml), optionally a Shapefile, and
report.pdf when LibreOffice is installed.

The summary paragraph is written from the measurements alone, unless a model is asked for (``--backend``,
``--model``, ``--openai-url`` or a ``--config`` naming one): then it is the model's explanation, and the report
carries its numbers audit.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.cli_measure import Bars, add_extent_options, add_measure_options, add_run_options, measure_inputs
from engine.cli_model import add_backend_options


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="write the monitoring report (Word), patch register (Excel) and patches "
                                      "(GeoPackage, CGCS2000) of an extent or area",
                       description="Measure as analyse does, then write report.docx, patches.xlsx, patches.gpkg "
                                   "with a QGIS style, facts.json and (with LibreOffice installed) report.pdf into "
                                   "--out. Every figure in them comes from the measurements.")
    p.add_argument("--layer", action="append", type=Path, required=True, metavar="LAYER",
                   help="a layer (as for inspect); repeat for more dates")
    add_extent_options(p, "the first layer")
    add_measure_options(p)
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the files (made if missing)")
    p.add_argument("--title", default=None, help="the report's title (default 土地利用变化监测报告)")
    p.add_argument("--unit", choices=["mu", "ha"], default="mu",
                   help="unit of the summary paragraph: mu (亩, default) or ha (公顷); tables give both")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the report (default zh)")
    p.add_argument("--max-chips", type=int, default=6, metavar="N",
                   help="before/after picture pairs of the N largest patches (default 6, 0 for none)")
    p.add_argument("--shapefile", action="store_true",
                   help="also write patches_shp/patches.shp (UTF-8 .cpg, .prj) beside the GeoPackage")
    p.add_argument("--no-pdf", action="store_true", help="skip report.pdf even when LibreOffice is installed")
    p.add_argument("--json", action="store_true", help="print what was written as one JSON object")
    add_backend_options(p)
    add_run_options(p)
    p.set_defaults(func=cmd_report)


def _wants_model(args: argparse.Namespace) -> bool:
    if args.backend is not None:
        return args.backend != "none"
    return any(getattr(args, name) is not None for name in ("model", "openai_url", "config"))


def cmd_report(args: argparse.Namespace) -> int:
    from engine.analysis.cache import AnalysisCache
    from engine.analysis.run import analyse
    from engine.outputs.report import ReportConfig, make_report, prepare_out

    config = ReportConfig(title=args.title, unit=args.unit, lang=args.lang, max_chips=args.max_chips,
                          shapefile=args.shapefile, pdf=not args.no_pdf)  # bad settings fail before any reading
    prepare_out(args.out)
    inputs = measure_inputs(args)
    cache = None if args.no_cache else AnalysisCache()
    with Bars(args.quiet) as bars:
        # keep_class_maps: the register needs every patch itself, not the stored result's capped findings
        result = analyse(inputs.specs, inputs.extent, inputs.config, bars.update, inputs.zones, cache,
                         inputs.reference, keep_class_maps=True, aoi=inputs.aoi)
        summary = _model_summary(args, inputs, cache, config) if _wants_model(args) else None
        stages = iter(range(1, 7))
        made = make_report(result, args.out, config, summary,
                           stage=lambda name: bars.update("report", next(stages, 6), 6, unit="steps"))
    if args.json:
        print(json.dumps(made.to_dict(), ensure_ascii=False, indent=2))
        return 0
    names = ", ".join(p.name for p in made.files.values())
    print(f"report written to {made.folder}: {names}")
    print(f"{made.patches} change patches, {made.total_mu:,.2f} 亩 in all (patches.xlsx lists every one)")
    verdict = made.summary.audit.get("verdict")
    print({"all_measured": "summary audit: every figure is measured",
           "no_figures": "summary audit: the summary states no figure"}.get(
        verdict, "summary audit: NOT supported: " + ", ".join(made.summary.audit.get("unsupported", []))))
    for note in made.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def _model_summary(args: argparse.Namespace, inputs, cache, config):  # -> Summary
    """The model's explanation, with the backend the model options choose."""
    from engine.ask import AskRequest
    from engine.cli_model import backend_from, generation_from
    from engine.outputs.report import model_summary

    request = AskRequest(question="", layers=inputs.specs, extent=inputs.extent, zones=inputs.zones,
                         analysis=inputs.config, aoi=inputs.aoi)
    return model_summary(request, config, backend_from(args), cache, generation_from(args))
