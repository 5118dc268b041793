"""A sweep's tables and map layers, rebuilt from every area's files (so a rerun that skipped areas keeps them).

- ``summary.csv`` (UTF-8 with a BOM, which Excel needs to read Chinese) and ``summary.xlsx``: one row
  per area with ``area``, ``status``, ``error``, the dates and the main figures in 亩 and 公顷;
- ``findings.gpkg``: layer ``change_patches`` (polygons) and layer ``zone_violations`` (points at their
  centroids), each feature with an ``area`` attribute naming its area; EPSG:4326.
Every file is written to a temporary name and renamed over the target.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from engine.analysis.areas import M2_PER_HA, M2_PER_MU
from engine.cachefs import save_atomic, write_atomic
from engine.sweep.areas import Area
from engine.sweep.narrative import narrative_verdict
from engine.sweep.task import FACTS, FAILED, FINDINGS, paths

SUMMARY_COLUMNS = (
    "area", "status", "error", "date_from", "date_to", "valid_from_pct", "valid_to_pct", "analysed_mu",
    "analysed_ha", "new_built_up_mu", "new_built_up_ha", "cropland_grassland_lost_mu", "cropland_grassland_lost_ha",
    "change_patches", "zone_violations", "zone_violation_mu", "zone_violation_ha", "narrative_audit",
)


def summary_row(area: Area, out_dir: Path) -> dict[str, object]:
    """The area's row: its figures from ``facts/<stem>.json``, or its error from ``failed/<stem>.json``."""
    where = paths(out_dir, area.stem)
    row: dict[str, object] = dict.fromkeys(SUMMARY_COLUMNS, "")
    row["area"] = area.name
    try:
        facts = json.loads(where[FACTS].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        facts = None
    if facts is None:
        try:
            error = json.loads(where[FAILED].read_text(encoding="utf-8"))["error"]
        except (OSError, ValueError, KeyError):
            error = "not measured (the sweep stopped before this area)"
        row.update(status="failed", error=error)
        return row
    per_date = facts["per_date"]
    gained = sum(t["area_m2"] for t in facts["transitions"] if t["to"] == "built_up" and t["from"] != "built_up")
    lost = sum(t["area_m2"] for t in facts["transitions"]
               if t["from"] == "cropland_grassland" and t["to"] != "cropland_grassland")
    violations = [v for z in facts["zones"] for v in z.get("violations", [])]
    violated = sum(v["area_m2"] for v in violations)
    row.update(status="ok", date_from=facts["dates"][0], date_to=facts["dates"][-1],
               valid_from_pct=round(100 * per_date[0]["valid_fraction"], 1),
               valid_to_pct=round(100 * per_date[-1]["valid_fraction"], 1),
               analysed_mu=_mu(facts["analysed_area_m2"]), analysed_ha=_ha(facts["analysed_area_m2"]),
               new_built_up_mu=_mu(gained), new_built_up_ha=_ha(gained),
               cropland_grassland_lost_mu=_mu(lost), cropland_grassland_lost_ha=_ha(lost),
               change_patches=facts["findings_count"], zone_violations=len(violations),
               zone_violation_mu=_mu(violated), zone_violation_ha=_ha(violated),
               narrative_audit=narrative_verdict(out_dir, area.stem))
    return row


def _mu(m2: float) -> float:
    return round(m2 / M2_PER_MU, 2)


def _ha(m2: float) -> float:
    return round(m2 / M2_PER_HA, 4)


def write_summary(rows: list[dict[str, object]], out_dir: Path) -> tuple[Path, Path]:
    """``summary.csv`` (UTF-8 with BOM) and ``summary.xlsx``, one row per area."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=SUMMARY_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    csv_path = out_dir / "summary.csv"
    write_atomic(csv_path, text.getvalue().encode("utf-8-sig"))
    return csv_path, _write_xlsx(rows, out_dir / "summary.xlsx")


def _write_xlsx(rows: list[dict[str, object]], path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "summary"
    sheet.append(list(SUMMARY_COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row[c] for c in SUMMARY_COLUMNS])
    sheet.freeze_panes = "B2"
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["C"].width = 40
    return save_atomic(path, book.save)


def write_findings(areas: list[Area], out_dir: Path) -> Path:
    """``findings.gpkg``: every measured area's change patches and zone violations, each with its area's name."""
    import numpy as np
    import pyogrio.raw
    from shapely import to_wkb
    from shapely.geometry import Point, shape

    patches: list[tuple[dict, bytes]] = []
    violations: list[tuple[dict, bytes]] = []
    for area in areas:
        where = paths(out_dir, area.stem)
        try:
            findings = json.loads(where[FINDINGS].read_text(encoding="utf-8"))
            facts = json.loads(where[FACTS].read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # failed, or not measured yet
        for feature in findings["features"]:
            props = {k: v for k, v in feature["properties"].items() if not isinstance(v, dict | list)}
            patches.append(({"area": area.name, **props}, to_wkb(shape(feature["geometry"]))))
        for zone in facts["zones"]:
            for v in zone.get("violations", []):
                props = {"area": area.name, "zone": zone["name"], "zone_kind": zone["kind"],
                         **{k: v[k] for k in ("kind", "class_from", "class_to", "area_m2", "area_ha", "area_mu")}}
                violations.append((props, to_wkb(Point(v["centroid_lon"], v["centroid_lat"]))))
    def write(tmp: Path) -> None:
        for layer, geometry_type, features in (("change_patches", "MultiPolygon", patches),
                                               ("zone_violations", "Point", violations)):
            names = list(dict.fromkeys(k for props, _ in features for k in props)) or ["area"]
            columns = [np.array([props.get(n) for props, _ in features], dtype=_dtype(features, n)) for n in names]
            pyogrio.raw.write(tmp, geometry=np.array([g for _, g in features], dtype=object), field_data=columns,
                              fields=names, crs="EPSG:4326", geometry_type=geometry_type, driver="GPKG",
                              layer=layer, append=tmp.exists(), promote_to_multi=True)

    return save_atomic(out_dir / "findings.gpkg", write)


def _dtype(features: list[tuple[dict, bytes]], name: str):
    values = [props.get(name) for props, _ in features if props.get(name) is not None]
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "float64"
    return object
