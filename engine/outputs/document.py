"""The monitoring report as an editable Word document (python-docx).

Sections, in order: title, area and dates; data and quality per date; the summary paragraph with its
numbers-audit verdict; the overview map; land use per date in 亩 and 公顷; changes between classes;
zone violations; the patch table (the largest patches, with where to find all of them); before/after
pictures; the method. Every figure is formatted from the facts or the register (``fmt_mu``, ``fmt_ha``):
nothing here computes an area. Chinese text is set in an East Asian font (``w:eastAsia``).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from engine.analysis.classes import MEASURED
from engine.cachefs import save_atomic
from engine.outputs.labels import PATCH_COLUMNS, Labels
from engine.outputs.pictures import ChipPair, MapPicture
from engine.outputs.register import Register
from engine.units import all_units

EAST_ASIAN_FONT = "宋体"  # SimSun: present in every Chinese Windows and Office; other systems substitute
LATIN_FONT = "Times New Roman"
PATCH_TABLE_ROWS = 50  # the document lists the largest; patches.xlsx holds every one


@dataclass(frozen=True)
class Summary:
    """The summary paragraph and its audit (``engine.answer.audit.Audit.to_dict()``)."""

    text: str
    audit: dict
    by_model: bool


def fmt_mu(value: float) -> str:
    return f"{value:.2f}"


def fmt_ha(value: float) -> str:
    return f"{value:.4f}"


def fmt_pct(fraction: float) -> str:
    return f"{100 * fraction:.1f}%"


def patch_cell(row, key: str, labels: Labels) -> str:
    value = getattr(row, key, None)
    if key == "change":
        return labels.change(row.class_from, row.class_to)
    if key == "zone":
        return row.zone or "—"
    if key == "area_mu":
        return fmt_mu(value)
    if key == "area_ha":
        return fmt_ha(value)
    if key in ("lon", "lat"):
        return f"{value:.6f}"
    if key in ("gk_x_m", "gk_y_m"):
        return "—" if value is None else f"{value:.2f}"
    return str(value)


def write_document(path: Path, facts: dict, register: Register, summary: Summary, picture: MapPicture | None,
                   chips: list[ChipPair], labels: Labels, title: str | None = None) -> Path:
    """Build the report from the facts (``Facts.to_dict()``), the register, the summary and the pictures."""
    from docx import Document
    from docx.shared import Cm

    doc = Document()
    set_fonts(doc)
    area_name = (facts.get("aoi") or {}).get("name")
    doc.add_heading(title or labels["title"], level=0)
    add_pairs(doc, [(labels["area"], area_name or _extent_text(facts)),
                 (labels["dates"], " — ".join(facts["dates"])),
                 (labels["made"], dt.datetime.now().strftime("%Y-%m-%d %H:%M"))])

    doc.add_heading(labels["sources"], level=1)
    add_table(doc, [labels["date"], labels["layer"], labels["sensor"], labels["valid"], labels["cloud"]],
           [[d["date"], d["layer"], d["sensor"], fmt_pct(d["valid_fraction"]), fmt_pct(1 - d["valid_fraction"])]
            for d in facts["per_date"]])

    doc.add_heading(labels["summary"], level=1)
    for paragraph in summary.text.split("\n\n"):
        doc.add_paragraph(paragraph)
    doc.add_paragraph(labels["summary_source_model" if summary.by_model else "summary_source_facts"])
    unsupported = list(summary.audit.get("unsupported", []))
    doc.add_paragraph(labels["audit_bad"] + " " + "、".join(unsupported) if unsupported else labels["audit_ok"])

    if picture is not None:
        doc.add_heading(labels["map"], level=1)
        doc.add_picture(io.BytesIO(picture.png), width=Cm(16))

    doc.add_heading(labels["landuse"], level=1)
    dates = facts["dates"]
    header = [labels["class"]] + [f"{d} ({labels[u]})" for d in dates for u in ("unit_mu", "unit_ha")]
    rows = [[labels.cls(c.key)] + [f(facts["classes"][d][c.key][k]) for d in dates
                                   for k, f in (("area_mu", fmt_mu), ("area_ha", fmt_ha))] for c in MEASURED]
    add_table(doc, header, rows)

    doc.add_heading(labels["transitions"], level=1)
    if facts["transitions"]:
        add_table(doc, [labels["from_to"], labels["unit_mu"], labels["unit_ha"], labels["patches_n"]],
               [[labels.change(t["from"], t["to"]), fmt_mu(t["area_mu"]), fmt_ha(t["area_ha"]), str(t["patches"])]
                for t in facts["transitions"]])
    else:
        doc.add_paragraph(labels["no_patches"])

    doc.add_heading(labels["violations"], level=1)
    violations = [(z, v) for z in facts["zones"] for v in z.get("violations", [])]
    if violations:
        add_table(doc, [labels["zone"], labels["kind"], labels["from_to"], labels["unit_mu"], labels["unit_ha"]],
               [[z["name"], z.get("kind_zh", z["kind"]) if labels.zh else z["kind"],
                 labels.change(v["class_from"], v["class_to"]), fmt_mu(v["area_mu"]), fmt_ha(v["area_ha"])]
                for z, v in violations])
    else:
        doc.add_paragraph(labels["no_violations"] if facts["zones"] else labels["no_zones"])

    doc.add_heading(labels["patch_table"], level=1)
    if register.rows:
        columns = labels.columns(PATCH_COLUMNS)
        shown = register.rows[:PATCH_TABLE_ROWS]
        add_table(doc, [t for _, t in columns], [[patch_cell(r, k, labels) for k, _ in columns] for r in shown],
               size=7)
        if register.gauss_kruger is not None:
            doc.add_paragraph(labels["gk"].format(name=register.gauss_kruger.name))
        for note in register.notes:
            doc.add_paragraph(note)
        if len(register.rows) > len(shown):
            doc.add_paragraph(labels["patch_table_more"].format(shown=len(shown), count=len(register.rows)))
    else:
        doc.add_paragraph(labels["no_patches"])

    if chips:
        doc.add_heading(labels["chips"], level=1)
        grid = doc.add_table(rows=len(chips), cols=2)
        for pair, row in zip(chips, grid.rows, strict=True):
            for cell, png, when in ((row.cells[0], pair.before, "before"), (row.cells[1], pair.after, "after")):
                paragraph = cell.paragraphs[0]
                paragraph.add_run().add_picture(io.BytesIO(png), width=Cm(7.5))
                cell.add_paragraph(f"#{pair.number} {labels[when]} "
                                   f"({facts['dates'][0] if when == 'before' else facts['dates'][-1]})")

    doc.add_heading(labels["method"], level=1)
    classes = "、".join(labels.cls(c.key) for c in MEASURED) if labels.zh else ", ".join(
        labels.cls(c.key) for c in MEASURED)
    for paragraph in labels.method(classes=classes, mmu=f"{facts['mmu_m2'] / 10000:g}",
                                   speckle=f"{fmt_mu(all_units(facts['speckle_m2'])['area_mu'])} "
                                           f"{labels['unit_mu']}",
                                   area_method=facts["area_method"] or "—"):
        doc.add_paragraph(paragraph)
    for note in facts.get("notes", []):
        doc.add_paragraph(note)
    return save_atomic(path, doc.save)


def set_fonts(doc) -> None:
    from docx.oxml.ns import qn

    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Table Grid"):
        try:
            style = doc.styles[name]
        except KeyError:
            continue
        style.font.name = LATIN_FONT
        r_pr = style.element.get_or_add_rPr()
        fonts = r_pr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = r_pr.makeelement(qn("w:rFonts"), {})
            r_pr.append(fonts)
        fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)


def add_pairs(doc, pairs: list[tuple[str, str]]) -> None:
    for key, value in pairs:
        paragraph = doc.add_paragraph()
        paragraph.add_run(f"{key}：").bold = True
        paragraph.add_run(str(value))


def add_table(doc, header: list[str], rows: list[list[str]], size: int | None = None) -> None:
    from docx.shared import Pt

    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for values in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, values, strict=True):
            cell.text = text
    if size is not None:
        for row in table.rows:
            for cell in row.cells:
                for run in cell.paragraphs[0].runs:
                    run.font.size = Pt(size)


def _extent_text(facts: dict) -> str:
    e = facts["extent"]
    return f"{e['xmin']:.0f}, {e['ymin']:.0f} — {e['xmax']:.0f}, {e['ymax']:.0f} ({e['crs']})"
