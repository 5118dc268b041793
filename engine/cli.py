"""Command line: ``python -m engine inspect|render|analyse|ask|serve|audit|make-tiny-model``.

Thin on purpose: it parses arguments into typed values, calls the library, and
turns every ``EngineError`` into a one-line message and exit status 2 (a
traceback only with ``--debug``). Progress bars go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from engine import __version__
from engine.cli_measure import Bars, add_extent_options, add_run_options, positive_int
from engine.cli_model import add_backend_options, backend_from, generation_from
from engine.errors import EngineError
from engine.types import BandRole, Extent, LayerSpec

log = logging.getLogger("engine")

EXIT_USER_ERROR = 2


def _band_map(text: str) -> dict[BandRole, int]:
    mapping: dict[BandRole, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise argparse.ArgumentTypeError(f"band map entries look like red=3, got {part!r}")
        role, index = part.split("=", 1)
        try:
            mapping[BandRole.parse(role)] = int(index)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return mapping


def _add_layer_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("layer", metavar="LAYER", type=Path,
                   help="a Landsat product folder or *_MTL.txt, a Sentinel-2 SAFE folder, MTD_MSI*.xml or "
                        "band file (*_B04_10m.jp2), or a multiband GeoTIFF/COG/VRT or RGB image")
    add_extent_options(p, "the layer")
    p.add_argument("--sensor", default=None,
                   help="override the sensor: landsat5, landsat7, landsat8, landsat9, sentinel2, rgb, generic")
    p.add_argument("--band-map", type=_band_map, default={}, metavar="ROLE=INDEX,...",
                   help="map band roles to 1-based band indexes of a stack, e.g. red=3,green=2,blue=1,nir=4")
    p.add_argument("--scale", type=float, default=None, help="override reflectance = DN * scale + offset")
    p.add_argument("--offset", type=float, default=None, help="override the offset used with --scale")
    p.add_argument("--date", default=None, metavar="YYYY-MM-DD", help="override the acquisition date")
    p.add_argument("--assume-crs", default=None, metavar="CRS",
                   help="CRS to use for a raster that has none, e.g. EPSG:32648")
    add_run_options(p)


def _layer_spec(args: argparse.Namespace) -> LayerSpec:
    return LayerSpec(path=args.layer, date=args.date, sensor=args.sensor, band_map=args.band_map,
                     scale=args.scale, offset=args.offset, assume_crs=args.assume_crs)


def _extent(args: argparse.Namespace, layer_crs: str) -> Extent | None:
    if args.bbox is None:
        return None
    return Extent(*args.bbox, crs=args.bbox_crs or layer_crs)


def cmd_inspect(args: argparse.Namespace) -> int:
    from engine.scene.layer import open_layer
    from engine.scene.summary import summarise

    product = open_layer(_layer_spec(args))
    with Bars(args.quiet) as bars:
        summary = summarise(product, _extent(args, product.grid.crs.to_string()), args.budget_mb,
                            bars.stage("reading"))
    if args.json:
        print(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))
        return 0
    d = summary.to_dict()
    print(f"layer        {d['name']}")
    print(f"sensor       {d['sensor_label']} ({d['sensor']}), {d['level']}")
    print(f"acquired     {d['acquired'] or 'unknown (give --date)'}")
    print(f"crs          {d['crs']}, pixel {d['pixel_size'][0]:g} x {d['pixel_size'][1]:g}")
    b = d["bounds"]
    print(f"bounds       {b[0]:.2f} {b[1]:.2f} {b[2]:.2f} {b[3]:.2f}")
    print(f"pixels       {d['pixels']}  valid {100 * d['valid_fraction']:.1f} %")
    print(f"{'band':<8}{'source':<10}{'mean':>9}{'min':>9}{'max':>9}")
    for role, s in d["bands"].items():
        print(f"{role:<8}{s['source']!s:<10}{s['mean']:>9.4f}{s['min']:>9.4f}{s['max']:>9.4f}")
    print(f"{'index':<18}{'mean':>9}{'min':>9}{'max':>9}")
    for name, s in d["indices"].items():
        if s["count"]:
            print(f"{name:<18}{s['mean']:>9.4f}{s['min']:>9.4f}{s['max']:>9.4f}")
    for name, why in d["indices_unavailable"].items():
        print(f"{name:<18}not available: {why}")
    for note in d["notes"]:
        print(f"note: {note}")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from engine.scene.export import save_tiles
    from engine.scene.layer import open_layer
    from engine.scene.render import Composite, RenderConfig, render

    product = open_layer(_layer_spec(args))
    composite = Composite.FALSE_COLOR if args.false_color else Composite.TRUE_COLOR
    config = RenderConfig(min_pixels=args.min_pixels, max_pixels=args.max_pixels,
                          resolution_m=args.resolution, use_overviews=not args.no_overviews)
    with Bars(args.quiet) as bars:
        def on_build(elapsed: float, written: int) -> None:
            bars.update("building overviews (once, cached)", written, None, unit="B", scale=True)

        plan, stretch, tiles = render(product, _extent(args, product.grid.crs.to_string()), composite, config,
                                      bars.stage("rendering", "tiles"), on_build)
        meta = {"layer": str(args.layer), "sensor": product.sensor.value,
                "acquired": product.acquired.isoformat() if product.acquired else None}
        written = save_tiles(args.output, plan, stretch, tiles, composite, meta)
    for path in written:
        print(path)
    if len(written) > 1:
        print(f"{len(written)} tiles ({plan.rows} rows x {plan.cols} cols); geotransforms in "
              f"{args.output.with_suffix('.json')}")
    return 0


DEMO_LAYERS = ("tests/data/landsat/LE07_L1TP_195025_20010730_20170204_01_T1",
               "tests/data/landsat/LC08_L1TP_195025_20130707_20170503_01_T1")
DEMO_QUESTION = "2001年到2013年新增耕地面积是多少？"
DEMO_MMU_HA = 0.18  # the bundled subsets are 41 x 41 pixels: a smaller mapping unit than the default


def cmd_ask(args: argparse.Namespace) -> int:
    from engine.analysis.areas import AreaUnit
    from engine.analysis.cache import AnalysisCache
    from engine.analysis.run import AnalysisConfig, ZoneSpec
    from engine.ask import AskRequest, ask, collect
    from engine.model.backends import BackendKind

    repo = Path(__file__).resolve().parents[1]
    layers = [repo / p for p in DEMO_LAYERS] if args.demo and not args.layer else args.layer
    if not layers:
        raise ValueError("give --layer (repeat for more dates), or --demo for the bundled Landsat samples")
    question = args.question or (DEMO_QUESTION if args.demo else None)
    if not question:
        raise ValueError("give a question, e.g. \"新增耕地面积是多少？\"")
    specs = [LayerSpec(path=p, sensor=args.sensor, assume_crs=args.assume_crs) for p in layers]
    from engine.scene.layer import open_layer

    first = open_layer(specs[0])  # a missing or unreadable layer is reported before any model is loaded
    for spec in specs[1:]:
        open_layer(spec)
    extent = Extent(*args.bbox, crs=args.bbox_crs or first.grid.crs.to_string()) if args.bbox is not None else None
    mmu = args.mmu_ha if args.mmu_ha is not None else (DEMO_MMU_HA if args.demo else 0.5)
    request = AskRequest(question=question, layers=specs, extent=extent,
                         zones=ZoneSpec(args.zones) if args.zones else None,
                         unit=AreaUnit(args.unit) if args.unit else None, analysis=AnalysisConfig(mmu_ha=mmu))
    backend = backend_from(args)
    events = ask(request, backend, generation=generation_from(args), cache=None if args.no_cache else AnalysisCache())
    if args.json:
        print(json.dumps(collect(events), ensure_ascii=False, indent=2))
        return 0
    if args.quiet and backend.kind is BackendKind.LOCAL:
        import transformers

        transformers.utils.logging.disable_progress_bar()  # its weight-loading bar too
    answering = False
    with Bars(args.quiet) as bars:
        for event in events:
            if event.kind == "progress":
                bars.update(str(event.data["stage"]), int(event.data["done"]), int(event.data["total"]))
            elif event.kind == "facts":
                bars.__exit__()
                bars.bars.clear()
                print(f"问 / Q: {question}", flush=True)
            elif event.kind == "token":
                if not answering:  # after the model has loaded, so its loading bar stays above the answer
                    print("答 / A: ", end="", flush=True)
                    answering = True
                print(event.data["text"], end="", flush=True)
            elif event.kind == "error":
                print(f"\n[{event.data['code']}] {event.data['message']}; answer from the measurements:",
                      file=sys.stderr)
            elif event.kind == "findings":
                print()
                props = event.data.get("properties", {})
                print(f"findings: {props.get('count', 0)} measured change patches, "
                      f"{props.get('model_boxes', 0)} boxes from the model")
            elif event.kind == "audit":
                bad, verdict = event.data["unsupported"], event.data["verdict"]
                print({"all_measured": "audit: every number is measured",
                       "no_figures": "audit: the answer states no figure to check"}.get(
                    verdict, f"audit: NOT supported by the measurements: {', '.join(bad)}"))
            elif event.kind == "done":
                info = event.data["backend"]
                if event.data["fallback"]:
                    print(f"backend: measurements only ({info.get('backend')} {info.get('model') or ''} could not "
                          "answer)")
                else:
                    print(f"backend: {info.get('backend')} {info.get('model') or ''}".rstrip())
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from engine.answer.analytics import language_of
    from engine.answer.audit import audit, check_facts
    from engine.errors import FactsError

    try:
        facts = check_facts(json.loads(args.facts.read_text(encoding="utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FactsError(f"{args.facts} is not JSON ({exc}); give what `analyse --json` prints") from None
    text = args.answer if args.answer is not None else args.answer_file.read_text(encoding="utf-8")
    result = audit(text, facts, args.question or "")
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(result.lines(language_of(text))))
    return 0 if result.ok else 1


def cmd_make_tiny_model(args: argparse.Namespace) -> int:
    from engine.model.tiny import build_tiny_model

    template = args.chat_template.read_text(encoding="utf-8") if args.chat_template else None
    path = build_tiny_model(args.output, seed=args.seed, family=args.family, chat_template=template)
    print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m engine",
        description="县域土地利用监测引擎 / County land-use monitoring engine: read Landsat and Sentinel-2 "
                    "layers, measure land use and change, and answer questions about them (ask, serve).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("inspect", help="sensor, date, CRS, bands, mean reflectance and indices of a layer",
                       description="Describe a layer and summarise its valid pixels over an extent "
                                   "(full resolution, read block by block).")
    _add_layer_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--budget-mb", type=positive_int, default=256, metavar="MB",
                   help="memory budget for reading (default 256)")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("render", help="render a true/false colour image of an extent for the model",
                       description="Render an extent as PNG at Qwen2.5-VL sizes (sides multiples of 28), with a "
                                   "2-98 %% stretch. Large extents at a given --resolution become tiles; each PNG "
                                   "gets a world file and OUT.json records every tile's geotransform.")
    _add_layer_options(p)
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.png", help="output PNG path")
    p.add_argument("--false-color", action="store_true", help="NIR-red-green instead of true colour")
    p.add_argument("--resolution", type=float, default=None, metavar="METRES",
                   help="ground metres per image pixel; extents too big for one image become tiles "
                        "(default: fit the whole extent into one image)")
    p.add_argument("--min-pixels", type=positive_int, default=256 * 28 * 28,
                   help="minimum image area (default 256*28*28)")
    p.add_argument("--max-pixels", type=positive_int, default=1280 * 28 * 28,
                   help="maximum image area per tile (default 1280*28*28)")
    p.add_argument("--no-overviews", action="store_true",
                   help="do not build cached overviews for large files (slower display reads)")
    p.set_defaults(func=cmd_render)

    from engine import cli_analyse

    cli_analyse.add_parser(sub)

    p = sub.add_parser("ask", help="ask a question about layers: measured facts, then a grounded answer",
                       description="Read and analyse the extent, render it for the vision-language model, and "
                                   "stream an answer whose numbers are audited against the measurements. "
                                   "Backend: local (transformers), openai (an OpenAI-compatible server such as "
                                   "vLLM), none (measurements only), or auto (local when a model is configured "
                                   "and on this machine, otherwise none). Environment: LANDUSE_BACKEND, "
                                   "LANDUSE_MODEL, LANDUSE_OPENAI_URL, LANDUSE_OPENAI_MODEL, LANDUSE_OPENAI_KEY.")
    p.add_argument("question", nargs="?", default=None, help="the question, in Chinese or English")
    p.add_argument("--layer", action="append", type=Path, default=[], metavar="LAYER",
                   help="a layer (as for inspect); repeat for more dates")
    p.add_argument("--demo", action="store_true",
                   help="use the bundled Landsat 2001/2013 samples (and a demo question if none is given)")
    add_extent_options(p, "the first layer")
    p.add_argument("--zones", type=Path, default=None, metavar="ZONES", help="protection zones (as for analyse)")
    p.add_argument("--unit", choices=["mu", "ha", "km2", "m2"], default=None,
                   help="area unit of the answer (default: the one named in the question, else 亩/ha)")
    p.add_argument("--mmu-ha", type=float, default=None, metavar="HA",
                   help="minimum mapping unit in hectares (default 0.5; 0.18 with --demo)")
    add_backend_options(p)
    p.add_argument("--sensor", default=None, help="override the sensor of every layer")
    p.add_argument("--assume-crs", default=None, metavar="CRS", help="CRS for rasters that have none")
    p.add_argument("--no-cache", action="store_true", help="recompute the analysis")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (answer, facts, findings, audit, images, timings)")
    add_run_options(p)
    p.set_defaults(func=cmd_ask)

    from engine import cli_serve

    cli_serve.add_parser(sub)

    p = sub.add_parser("audit", help="check every figure of a text (an answer, a draft report) against measured facts",
                       description="Check every figure of a text against the facts `analyse --json` printed. Exit "
                                   "0 when every figure is supported, 1 when any is not, 2 on bad input.")
    p.add_argument("--facts", type=Path, required=True, help="FACTS.json, as `python -m engine analyse --json` prints")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--answer", help="the text to check")
    what.add_argument("--answer-file", type=Path, help="a UTF-8 text file to check (e.g. a draft report)")
    p.add_argument("--question", help="the question the text answers (its own figures are not checked)")
    p.add_argument("--json", action="store_true",
                   help='print {"ok", "verdict", "checked", "unsupported", "numbers": [...]} as JSON')
    p.add_argument("--debug", action="store_true", help="tracebacks instead of one-line errors")
    p.set_defaults(func=cmd_audit)

    from engine import cli_report, cli_sweep

    cli_report.add_parser(sub)
    cli_sweep.add_parser(sub)

    p = sub.add_parser("make-tiny-model", help="write a tiny random Qwen-VL checkpoint (for tests and demos)",
                       description="Write a tiny, randomly initialised Qwen2.5-VL, Qwen2-VL or Qwen3-VL (real "
                                   "transformers classes, real processor) to a folder, loadable with "
                                   "from_pretrained. It explains nothing; it exercises the code path offline.")
    p.add_argument("output", type=Path, metavar="DIR")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--family", choices=["qwen2_5_vl", "qwen2_vl", "qwen3_vl"], default="qwen2_5_vl",
                   help="architecture (default qwen2_5_vl)")
    p.add_argument("--chat-template", type=Path, metavar="FILE.jinja",
                   help="a chat template to use instead of the family's own (as an edited checkpoint has)")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    p.set_defaults(func=cmd_make_tiny_model)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = os.environ.get("LANDUSE_LOG_LEVEL", "WARNING").upper()  # e.g. INFO: what the model is given
    logging.basicConfig(level=logging.DEBUG if args.debug else getattr(logging, level, logging.WARNING),
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. piped into `head`
        return 0
    except (EngineError, ValueError, OSError) as exc:
        if args.debug:
            raise
        kind = getattr(exc, "code", type(exc).__name__)
        print(f"error ({kind}): {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
