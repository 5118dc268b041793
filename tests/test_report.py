"""The bureau's outputs (``engine report``): every figure in report.docx, patches.xlsx and patches.gpkg equals the
measurements; the map shows the patches where they are; coordinates are CGCS2000; bad input is one line."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pyproj import CRS, Geod, Transformer

from engine.analysis.run import ZoneSpec, analyse
from engine.errors import ReportError
from engine.outputs.document import PATCH_TABLE_ROWS, Summary, fmt_ha, fmt_mu
from engine.outputs.labels import Labels
from engine.outputs.pictures import PATCH_RGB, overview_map
from engine.outputs.register import gauss_kruger_zone, patch_register
from engine.outputs.report import ReportConfig, make_report, office
from engine.synthetic import Change, SyntheticSpec, write_scene
from engine.types import LayerSpec

ZONE = "基本农田保护区甲"


def _zones_lonlat(path: Path) -> Path:
    """One farmland zone over the scene's middle, in EPSG:4326 (not the rasters' UTM)."""
    to_lonlat = Transformer.from_crs("EPSG:32648", "EPSG:4326", always_xy=True)
    x0, y0 = 501000.0, 3996000.0
    ring = [list(to_lonlat.transform(x, y)) for x, y in
            ((x0, y0), (x0 + 2500, y0), (x0 + 2500, y0 + 2500), (x0, y0 + 2500), (x0, y0))]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": ZONE, "kind": "farmland"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory):
    """A report of a synthetic two-date scene with planted change and a zone in another CRS."""
    folder = tmp_path_factory.mktemp("report")
    scene = write_scene(SyntheticSpec(width=512, height=512, seed=3,
                                      changes=(Change("cropland_grassland", "built_up", 0.12),
                                               Change("forest", "bare", 0.06))), folder / "scene")
    zones = _zones_lonlat(folder / "zones.geojson")
    analysis = analyse([LayerSpec(path=p) for p in scene.layers], zones=ZoneSpec(zones), keep_class_maps=True)
    files = make_report(analysis, folder / "out", ReportConfig(shapefile=True, max_chips=3, pdf=False))
    return analysis, files, scene.layers


def _tables(docx_path: Path) -> list[list[list[str]]]:
    from docx import Document

    return [[[c.text for c in row.cells] for row in t.rows] for t in Document(str(docx_path)).tables]


def _table_with(tables, first_header: str):
    return next(t for t in tables if t[0][0] == first_header)


def test_every_number_in_the_docx_tables_equals_the_facts(made) -> None:
    analysis, files, _ = made
    facts = analysis.facts.to_dict()
    labels = Labels.for_lang("zh")
    tables = _tables(files.files["docx"])
    landuse = _table_with(tables, labels["class"])
    assert landuse[0][1:] == [f"{d} ({u})" for d in facts["dates"] for u in ("亩", "公顷")]
    for row in landuse[1:]:
        key = next(k for k in facts["classes"][facts["dates"][0]] if labels.cls(k) == row[0])
        expected = [f(facts["classes"][d][key][k]) for d in facts["dates"]
                    for k, f in (("area_mu", fmt_mu), ("area_ha", fmt_ha))]
        assert row[1:] == expected, row[0]
    changes = _table_with(tables, labels["from_to"])
    assert [r[1:] for r in changes[1:]] == [[fmt_mu(t["area_mu"]), fmt_ha(t["area_ha"]), str(t["patches"])]
                                           for t in facts["transitions"]]
    sources = _table_with(tables, labels["date"])
    assert [r[3] for r in sources[1:]] == [f"{100 * d['valid_fraction']:.1f}%" for d in facts["per_date"]]
    register = patch_register(analysis)
    patches = _table_with(tables, labels.columns((("number", "编号", "No."),))[0][1])
    assert len(patches) - 1 == min(PATCH_TABLE_ROWS, len(register.rows)) > 0
    for cells, row in zip(patches[1:], register.rows, strict=False):
        assert cells[0] == str(row.number) and cells[2] == fmt_mu(row.area_mu) and cells[3] == fmt_ha(row.area_ha)
        assert float(cells[4]) == pytest.approx(row.lon, abs=1e-6) and float(cells[7]) == pytest.approx(
            row.gk_y_m, abs=0.01)
    violations = _table_with(tables, labels["zone"])
    measured = [v for z in facts["zones"] for v in z["violations"]]
    assert len(violations) - 1 == len(measured) > 0 and {r[0] for r in violations[1:]} == {ZONE}
    assert [r[3] for r in violations[1:]] == [fmt_mu(v["area_mu"]) for v in measured]


def test_the_summary_passes_the_audit_and_the_docx_uses_an_east_asian_font(made) -> None:
    from docx import Document
    from docx.oxml.ns import qn

    from engine.answer.audit import audit

    analysis, files, _ = made
    doc = Document(str(files.files["docx"]))
    paragraphs = [p.text for p in doc.paragraphs]
    written = files.summary.text.split("\n\n")
    assert len(written) == 3 and all(p in paragraphs for p in written)  # trend, new built-up, the zone
    assert files.summary.audit["verdict"] == "all_measured" and ZONE in written[2]
    assert audit(files.summary.text, analysis.facts.to_dict()).ok
    assert Labels.for_lang("zh")["audit_ok"] in paragraphs
    fonts = doc.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == "宋体"
    assert any("耕地和草地" in p for p in paragraphs)  # the honest class name, in the method


def test_a_summary_with_an_invented_figure_is_flagged_in_the_report(made, tmp_path: Path) -> None:
    from docx import Document

    from engine.answer.audit import audit

    analysis, _, _ = made
    text = "监测期内新增建设用地 999 亩。"
    checked = audit(text, analysis.facts.to_dict()).to_dict()
    assert checked["unsupported"] == ["999 亩"]
    files = make_report(analysis, tmp_path, ReportConfig(max_chips=0, pdf=False), Summary(text, checked, True))
    paragraphs = [p.text for p in Document(str(files.files["docx"])).paragraphs]
    flagged = [p for p in paragraphs if p.startswith(Labels.for_lang("zh")["audit_bad"])]
    assert flagged == [Labels.for_lang("zh")["audit_bad"] + " 999 亩"]


def test_the_map_outlines_every_numbered_patch_where_it_is(made) -> None:
    from PIL import Image

    analysis, files, _ = made
    register = patch_register(analysis)
    picture = overview_map(analysis, register.rows, Labels.for_lang("zh"))
    from docx import Document

    doc = Document(str(files.files["docx"]))
    embedded = [r.target_part.blob for r in doc.part.rels.values() if "image" in r.reltype]
    image = np.asarray(Image.open(io.BytesIO(embedded[0])).convert("RGB")).astype(int)  # the docx's first picture
    assert image.shape[:2] == (picture.size[1], picture.size[0])
    red = (np.abs(image - np.array(PATCH_RGB)).sum(axis=2) < 60)
    for row in register.rows:
        xmin, ymin, xmax, ymax = row.map_geometry.bounds
        (c0, r0), (c1, r1) = picture.to_pixel @ (xmin, ymax), picture.to_pixel @ (xmax, ymin)
        r0, r1, c0, c1 = int(r0), int(r1), int(c0), int(c1)
        ring = np.zeros_like(red)  # a band 5 pixels wide along the patch's box: its outline, not its number
        ring[max(0, r0 - 2):r1 + 3, max(0, c0 - 2):c1 + 3] = True
        ring[r0 + 3:r1 - 2, c0 + 3:c1 - 2] = False
        perimeter = 2 * ((r1 - r0) + (c1 - c0))
        assert (red & ring).sum() > perimeter / 2, f"patch {row.number}: no outline at rows {r0}-{r1}, cols {c0}-{c1}"
    if picture.font is not None:  # with a CJK font installed (CI installs one) the legend is Chinese
        assert Path(picture.font).is_file()


def test_the_register_lists_every_patch_and_adds_up_to_the_measured_change(made) -> None:
    from openpyxl import load_workbook

    analysis, files, _ = made
    facts = analysis.facts
    sheet = load_workbook(files.files["xlsx"]).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["编号", "变化类型", "面积（亩）"] and "前时相" in header and "数据来源" in header
    rows = [r for r in sheet.iter_rows(min_row=2, values_only=True) if isinstance(r[0], int)]
    assert len(rows) == facts.findings_count == sum(t.patches for t in facts.transitions) > 0
    mu = [r[header.index("面积（亩）")] for r in rows]
    measured_mu = sum(t.area_m2 for t in facts.transitions) / (10000 / 15)
    assert sum(mu) == pytest.approx(measured_mu, abs=1e-6)
    assert mu == sorted(mu, reverse=True) and [r[0] for r in rows] == list(range(1, len(rows) + 1))
    assert {r[header.index("前时相")] for r in rows} == {facts.dates[0]}
    zones = [r[header.index("所在保护区")] for r in rows]
    assert ZONE in zones  # the zone (given in lon/lat) named on the patches it holds


def test_the_geopackage_is_cgcs2000_and_its_areas_equal_the_register(made) -> None:
    import pyogrio
    import pyogrio.raw
    from shapely import from_wkb

    analysis, files, _ = made
    info = pyogrio.read_info(files.files["gpkg"])
    assert CRS.from_user_input(info["crs"]).to_epsg() == 4490 and info["features"] == analysis.facts.findings_count
    meta, _, geometry, columns = pyogrio.raw.read(files.files["gpkg"])
    fields = list(meta["fields"])
    geod = Geod(ellps="GRS80")  # CGCS2000's ellipsoid (it differs from GRS80 in the 11th digit of the flattening)
    for wkb, area_m2, mu in zip(geometry, columns[fields.index("area_m2")], columns[fields.index("area_mu")],
                                strict=True):
        polygon = from_wkb(wkb)
        assert abs(geod.geometry_area_perimeter(polygon)[0]) == pytest.approx(area_m2, rel=2e-3)
        assert mu == pytest.approx(area_m2 / (10000 / 15))
    assert files.files["qml"].read_text(encoding="utf-8").startswith("<!DOCTYPE qgis")


def test_plane_coordinates_are_in_the_areas_gauss_kruger_zone(made) -> None:
    analysis, _, _ = made
    register = patch_register(analysis)
    gk = register.gauss_kruger
    assert (gk.zone, gk.epsg, gk.central_meridian) == (35, 4523, 105.0)  # the scene sits at 105 E
    to_plane = Transformer.from_crs("EPSG:4490", f"EPSG:{gk.epsg}", always_xy=True)
    for row in register.rows:
        easting, northing = to_plane.transform(row.lon, row.lat)
        assert (row.gk_y_m, row.gk_x_m) == (pytest.approx(easting, abs=0.01), pytest.approx(northing, abs=0.01))
        assert int(row.gk_y_m // 1_000_000) == 35  # the zone number written in front of the easting


@pytest.mark.parametrize(("lon", "zone", "epsg"), [(105.0, 35, 4523), (75.1, 25, 4513), (76.49, 25, 4513),
                                                   (76.51, 26, 4514), (134.9, 45, 4533), (87.6, 29, 4517)])
def test_gauss_kruger_zone_table(lon: float, zone: int, epsg: int) -> None:
    gk = gauss_kruger_zone(lon)
    assert (gk.zone, gk.epsg) == (zone, epsg)
    assert CRS.from_epsg(epsg).name.endswith(f"zone {zone}")


@pytest.mark.parametrize("lon", [73.0, 137.0, 10.0])
def test_an_area_outside_chinas_zones_is_refused_with_the_reason(lon: float) -> None:
    with pytest.raises(ReportError, match="outside China's 3-degree Gauss-Kruger zones"):
        gauss_kruger_zone(lon)


def test_the_shapefile_keeps_chinese_names_in_utf8(made) -> None:
    import pyogrio
    import pyogrio.raw

    _, files, _ = made
    shp = files.files["shp"]
    assert shp.with_suffix(".cpg").read_text().strip().upper() in ("UTF-8", "UTF8")
    assert "CGCS2000" in shp.with_suffix(".prj").read_text() or "China" in shp.with_suffix(".prj").read_text()
    meta, _, _, columns = pyogrio.raw.read(shp)
    assert ZONE in list(columns[list(meta["fields"]).index("zone")])
    assert pyogrio.read_info(shp)["encoding"].upper().replace("-", "") == "UTF8"


def test_the_cli_writes_the_files_and_bad_options_are_one_line(made, tmp_path: Path) -> None:
    _, _, paths = made
    command = [sys.executable, "-m", "engine", "report", "--layer", str(paths[0]), "--layer", str(paths[1]), "--quiet",
               "--no-cache", "--max-chips", "1", "--lang", "en", "--json", "--no-pdf"]
    done = subprocess.run([*command, "--out", str(tmp_path / "en")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert set(record["files"]) >= {"docx", "xlsx", "gpkg", "qml", "facts"} and record["patches"] > 0
    assert record["audit"]["verdict"] == "all_measured" and not record["by_model"]
    tables = _tables(Path(record["files"]["docx"]))
    assert any(t[0][0] == "Class" for t in tables)  # English headers
    for bad, says in ((["--max-chips", "99"], "--max-chips 99: give 0 to 50"),
                      (["--out", "/proc/forbidden/x"], "error (bad_report): --out /proc/forbidden/x")):
        done = subprocess.run([*command[:-6], *bad, *(["--out", str(tmp_path / "x")] if "--out" not in bad else [])],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 2 and says in done.stderr and len(done.stderr.strip().splitlines()) == 1, \
            done.stderr


ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.mark.skipif(office() is None or shutil.which("pdftoppm") is None,
                    reason="needs LibreOffice and poppler-utils: scripts/setup.sh --office (scripts/test.sh does)")
def test_the_first_page_as_a_person_sees_it(made, tmp_path: Path) -> None:
    """report.pdf through LibreOffice, its first page written as a PNG under test-artifacts/ to look at."""
    from PIL import Image

    analysis, _, _ = made
    files = make_report(analysis, tmp_path, ReportConfig(max_chips=2))
    pdf = files.files["pdf"]
    assert pdf.read_bytes()[:5] == b"%PDF-" and not files.notes
    text = subprocess.run(["pdftotext", "-l", "2", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "土地利用变化监测报告" in text and "监测结论" in text
    assert fmt_mu(analysis.facts.to_dict()["transitions"][0]["area_mu"]) in subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(ARTIFACTS / "report_page1")], check=True, timeout=120)
    page = np.asarray(Image.open(ARTIFACTS / "report_page1.png").convert("L"))
    assert page.shape[0] > page.shape[1] > 500  # a portrait page
    assert (page < 128).mean() > 0.01  # text and tables drawn on it


def test_a_models_summary_keeps_its_audit_and_an_invented_figure_is_named(made, tmp_path: Path,
                                                                        openai_stub) -> None:
    """With a model configured (an OpenAI-compatible server), the summary is the model's, asked the report's
    question over the same layers, and its invented figure is named in the report."""
    from docx import Document

    url, queue, calls = openai_stub
    queue.append("监测期内新增建设用地 999 亩。")
    _, _, paths = made
    done = subprocess.run([sys.executable, "-m", "engine", "report", "--layer", str(paths[0]), "--layer", str(paths[1]),
                           "--quiet", "--no-pdf", "--max-chips", "0", "--json", "--out", str(tmp_path / "model"),
                           "--backend", "openai", "--openai-url", url, "--openai-model", "stub"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["by_model"] and record["summary"] == "监测期内新增建设用地 999 亩。"
    assert record["audit"]["unsupported"] == ["999 亩"]
    assert "监测期内土地利用结构有何变化？" in json.dumps(calls[0], ensure_ascii=False)  # the report's question
    paragraphs = [p.text for p in Document(record["files"]["docx"]).paragraphs]
    assert Labels.for_lang("zh")["audit_bad"] + " 999 亩" in paragraphs
