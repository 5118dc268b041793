"""``python -m engine analyse``: measure land use over an extent or an area of interest, and print it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.cli_measure import (
    Bars,
    add_extent_options,
    add_measure_options,
    add_run_options,
    measure_inputs,
    positive_int,
)


def add_parser(sub) -> None:
    p = sub.add_parser("analyse", help="measure land cover per date and change between dates",
                       description="Classify each date, measure class areas (m², ha, km², 亩) and the change "
                                   "between the first and the last date over an extent. Layers are sorted by "
                                   "acquisition date and read on the first date's grid.")
    p.add_argument("--layer", action="append", type=Path, required=True, metavar="LAYER",
                   help="a layer (as for inspect); repeat for more dates")
    add_extent_options(p, "the first layer")
    p.add_argument("--question", default=None, metavar="TEXT",
                   help="a question in Chinese or English, answered from the measured facts only "
                        "(the analytics-only answerer), e.g. \"新增耕地面积是多少？\"")
    p.add_argument("--unit", choices=["mu", "ha", "km2", "m2"], default=None,
                   help="unit: mu (亩), ha (公顷), km2 (平方公里), m2 (default ha for the table; for --question the "
                        "unit named in the question, else 亩 in Chinese and ha in English); "
                        "--json always gives every unit")
    add_measure_options(p)
    p.add_argument("--geojson", type=Path, default=None, metavar="OUT",
                   help="write the change patches as an RFC 7946 GeoJSON FeatureCollection (EPSG:4326)")
    p.add_argument("--max-findings", type=positive_int, default=500, metavar="N",
                   help="largest patches written to --geojson (default 500; the count left out is stated)")
    p.add_argument("--json", action="store_true", help="print the facts record as JSON")
    add_run_options(p)
    p.set_defaults(func=cmd_analyse)


def cmd_analyse(args: argparse.Namespace) -> int:
    from engine.analysis.areas import AreaUnit, format_area
    from engine.analysis.cache import AnalysisCache
    from engine.analysis.classes import MEASURED
    from engine.analysis.run import analyse

    inputs = measure_inputs(args)
    args.unit_given = args.unit is not None
    args.unit = args.unit or "ha"
    with Bars(args.quiet) as bars:
        result = analyse(inputs.specs, inputs.extent, inputs.config, bars.update, inputs.zones,
                         None if args.no_cache else AnalysisCache(), inputs.reference, aoi=inputs.aoi)
    facts = result.facts
    if args.geojson is not None:
        from engine.analysis.findings import write_geojson

        write_geojson(result.findings(args.max_findings), args.geojson)
    if args.json:
        print(json.dumps(facts.to_dict(), ensure_ascii=False, indent=2))
        return 0
    unit = AreaUnit(args.unit)
    if result.from_cache:
        print("(from the cache: same files, extent and settings as an earlier run)")
    if args.question:
        from engine.answer.analytics import answer

        reply = answer(args.question, facts, unit if args.unit_given else None)
        print(f"问 / Q: {args.question}\n答 / A: {reply.text}\n")
    print(f"extent       {facts.extent['xmin']:.1f} {facts.extent['ymin']:.1f} {facts.extent['xmax']:.1f} "
          f"{facts.extent['ymax']:.1f} ({facts.crs})" +
          (f", inside {facts.aoi['name']} ({facts.aoi['source']})" if facts.aoi else "") +
          f", {format_area(facts.area_m2, unit)}")
    header = f"{'class / 地类':<22}" + "".join(f"{d.date:>18}" for d in facts.per_date)
    print(header)
    for cls in MEASURED:
        row = "".join(f"{format_area(d.classes[cls.key].area_m2, unit):>18}" for d in facts.per_date)
        print(f"{cls.key + ' ' + cls.label_zh:<20}{row}")
    print(f"{'valid / 有效':<20}" + "".join(f"{100 * d.valid_fraction:>17.1f}%" for d in facts.per_date))
    if len(facts.per_date) > 1:
        print(f"\ntransitions {facts.dates[0]} -> {facts.dates[-1]} "
              f"(minimum mapping unit {facts.mmu_m2 / 10000:g} ha; speckle removed "
              f"{format_area(facts.speckle_m2, unit)})")
        if not facts.transitions:
            print("  no change patches at or above the minimum mapping unit")
        for t in facts.transitions:
            print(f"  {t.class_from:>9} -> {t.class_to:<9} {format_area(t.area_m2, unit):>16}  {t.patches} patches")
    for zone in facts.zones:
        if zone.get("outside"):
            print(f"\nzone {zone['name']} ({zone['kind_zh']}): outside the extent")
            continue
        print(f"\nzone {zone['name']} ({zone['kind_zh']}), {format_area(zone['area_in_extent_m2'], unit)} in extent")
        if not zone["violations"]:
            print("  no suspected violations")
        for v in zone["violations"]:
            print(f"  suspected {v['kind']}: {v['class_from']} -> {v['class_to']} "
                  f"{format_area(v['area_m2'], unit)} near {v['centroid_lon']:.5f}, {v['centroid_lat']:.5f}")
    if facts.reference is not None:
        ref = facts.reference
        agree = ref["agreement"]
        overall = "n/a" if agree["overall"] is None else f"{100 * agree['overall']:.1f} %"
        print(f"\nreference {ref['name']} ({ref['scheme']}, {ref['date']}): agreement with {ref['compared_with']} "
              f"{overall} over {agree['pixels']} pixels")
    if args.geojson is not None:
        print(f"\nfindings: {facts.findings_count} change patches written to {args.geojson}")
    for note in facts.notes:
        print(f"note: {note}")
    return 0
