"""A sweep's summary report (``summary_report.docx``): one row per area with its figures, as ``summary.xlsx`` has
them, the areas that failed and why, and where each area's own report is. Every figure is a summary row's
(``engine.sweep.outputs.summary_row``, read from the area's facts); the total row adds the rows as shown."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine.cachefs import save_atomic
from engine.outputs.document import add_pairs, add_table, fmt_mu, set_fonts
from engine.outputs.labels import Labels

_COLUMNS = (  # (summary row key, Chinese, English)
    ("area", "区域", "Area"),
    ("analysed_mu", "监测面积（亩）", "Measured (mu)"),
    ("new_built_up_mu", "新增建设用地（亩）", "New built-up (mu)"),
    ("cropland_grassland_lost_mu", "耕地和草地减少（亩）", "Cropland and grassland lost (mu)"),
    ("change_patches", "变化图斑数", "Change patches"),
    ("zone_violations", "保护区疑似违规数", "Suspected violations"),
    ("zone_violation_mu", "疑似违规面积（亩）", "Violations (mu)"),
)
def write_sweep_report(rows: list[dict[str, object]], path: Path, report: dict | None = None) -> Path:
    from docx import Document

    labels = Labels.for_lang((report or {}).get("lang", "zh"))
    zh = labels.zh
    ok = [r for r in rows if r["status"] == "ok"]
    doc = Document()
    set_fonts(doc)
    doc.add_heading((report or {}).get("title") or labels["sweep_title"], level=0)
    dates = sorted({f"{r['date_from']} — {r['date_to']}" for r in ok})
    add_pairs(doc, [(labels["sweep_areas"], f"{len(rows)}（{labels['sweep_ok']} {len(ok)}）" if zh else
                     f"{len(rows)} ({len(ok)} {labels['sweep_ok']})"),
                    (labels["dates"], "; ".join(dates) or "—"),
                    (labels["made"], dt.datetime.now().strftime("%Y-%m-%d %H:%M"))])
    body = [[str(r["area"]), *(_cell(r[key], key) for key, _, _ in _COLUMNS[1:])] for r in ok]
    total = [labels["total"], *(_cell(round(sum(float(r[key]) for r in ok), 2 if key.endswith("_mu") else 0), key)
                              for key, _, _ in _COLUMNS[1:])]
    add_table(doc, [zh_text if zh else en for _, zh_text, en in _COLUMNS], [*body, total])
    doc.add_paragraph(labels["sweep_reports"])
    failed = [r for r in rows if r["status"] != "ok"]
    if failed:
        doc.add_heading(labels["sweep_failed"], level=1)
        add_table(doc, [_COLUMNS[0][1 if zh else 2], labels["sweep_reason"]],
                  [[str(r["area"]), str(r["error"])] for r in failed])
    return save_atomic(path, doc.save)


def _cell(value: object, key: str) -> str:
    if key.endswith("_mu"):
        return fmt_mu(float(value))
    return str(int(float(value)))
