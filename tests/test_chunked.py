"""An area measured in chunks of rows equals the same area measured at once (``analyse --aoi``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shapely.geometry import Polygon, box, mapping

from engine.analysis.aoi import AoiSpec
from engine.analysis.chunked import analyse_in_chunks
from engine.analysis.run import AnalysisConfig, ZoneSpec, analyse
from engine.synthetic import SyntheticSpec, write_scene
from engine.types import LayerSpec


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory):
    return write_scene(SyntheticSpec(width=256, height=256, patch_px=16, noise=0.01, cloud_fraction=0.05),
                       tmp_path_factory.mktemp("chunked"))


def _geojson(path: Path, features: list[tuple[dict, Polygon]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {
        "name": "EPSG:32648"}}, "features": [{"type": "Feature", "properties": p, "geometry": mapping(g)}
                                               for p, g in features]}, ensure_ascii=False), encoding="utf-8")
    return path


def _close(a: object, b: object, path: str = "") -> None:
    """Equal, floats to 1e-9 relative (sums taken in another order)."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-6), path
    else:
        assert a == b, path


@pytest.mark.parametrize("chunk_rows", [37, 64, 100])
def test_a_chunked_area_equals_the_area_at_once(scene, tmp_path: Path, chunk_rows: int) -> None:
    area = Polygon([(500103.3, 3997603.3), (502403.3, 3997903.3), (502303.3, 3999803.3), (500303.3, 3999503.3)])
    aoi = _geojson(tmp_path / "town.geojson", [({"name": "城关镇"}, area)])
    zones = _geojson(tmp_path / "zones.geojson", [({"name": "基本农田一号", "kind": "farmland"},
                                                   box(500800.0, 3997800.0, 501900.0, 3999200.0)),
                                                  ({"name": "生态红线", "kind": "ecological"},
                                                   box(501500.0, 3998500.0, 502500.0, 3999900.0))])
    specs = [LayerSpec(path=p) for p in scene.layers]
    config = AnalysisConfig(mmu_ha=0.2)
    whole = analyse(specs, config=config, zones=ZoneSpec(zones), aoi=AoiSpec(aoi))
    facts, findings = analyse_in_chunks(specs, AoiSpec(aoi), config, ZoneSpec(zones), chunk_rows=chunk_rows)
    expected = whole.facts.to_dict()
    assert expected["findings_count"] > 5 and any(z["violations"] for z in expected["zones"])
    _close(facts.to_dict(), expected)
    at_once = whole.findings(5000)
    assert len(findings["features"]) == len(at_once["features"])
    _close(sorted((f["properties"] for f in findings["features"]), key=lambda p: (-p["area_m2"], p["centroid_lon"])),
           sorted((f["properties"] for f in at_once["features"]), key=lambda p: (-p["area_m2"], p["centroid_lon"])))
    geometries = sorted(json.dumps(f["geometry"]) for f in findings["features"])
    assert geometries == sorted(json.dumps(f["geometry"]) for f in at_once["features"])


def test_a_sweep_measures_an_area_over_its_memory_budget_in_chunks(tmp_path: Path) -> None:
    """--max-memory-mb 1 cannot hold this 512 x 512 area at once: the sweep measures it in chunks, with the
    facts ``analyse --aoi`` gives with room to spare."""
    from engine.sweep.run import SweepConfig, sweep

    big = write_scene(SyntheticSpec(width=512, height=512, patch_px=16, noise=0.01), tmp_path / "scene")
    area = Polygon([(500103.3, 3995003.3), (505003.3, 3995203.3), (504903.3, 3999903.3), (500303.3, 3999503.3)])
    aoi = _geojson(tmp_path / "towns.geojson", [({"XZQMC": "大镇"}, area)])
    from engine.errors import AnalysisMemoryError

    with pytest.raises(AnalysisMemoryError):  # at once, it does not fit
        analyse([LayerSpec(path=p) for p in big.layers], config=AnalysisConfig(max_memory_mb=1),
                aoi=AoiSpec(aoi, "大镇", "XZQMC"))
    result = sweep(SweepConfig(areas=aoi, name_field="XZQMC", layers=tuple(str(p) for p in big.layers),
                               out_dir=tmp_path / "out", workers=1, use_cache=False, max_memory_mb=1))
    assert [o.status for o in result.outcomes] == ["ok"], result.outcomes
    at_once = analyse([LayerSpec(path=p) for p in big.layers], aoi=AoiSpec(aoi, "大镇", "XZQMC")).facts.to_dict()
    _close(json.loads((tmp_path / "out" / "facts" / "大镇.json").read_text(encoding="utf-8")), at_once)


def test_a_chunked_area_in_a_sweep_with_reports_says_why_it_has_none(tmp_path: Path) -> None:
    """Chunks keep no patch outlines to draw: the area's report folder says so, and the summary report has it."""
    from docx import Document

    from engine.outputs.report import sweep_report_settings
    from engine.sweep.run import SweepConfig, sweep

    big = write_scene(SyntheticSpec(width=512, height=512, patch_px=16, noise=0.01), tmp_path / "scene")
    area = Polygon([(500103.3, 3995003.3), (505003.3, 3995203.3), (504903.3, 3999903.3), (500303.3, 3999503.3)])
    aoi = _geojson(tmp_path / "towns.geojson", [({"XZQMC": "大镇"}, area)])
    result = sweep(SweepConfig(areas=aoi, name_field="XZQMC", layers=tuple(str(p) for p in big.layers),
                               out_dir=tmp_path / "out", workers=1, use_cache=False, max_memory_mb=1,
                               report=sweep_report_settings("zh")))
    assert [o.status for o in result.outcomes] == ["ok"], result.outcomes
    folder = tmp_path / "out" / "reports" / "大镇"
    assert [p.name for p in folder.iterdir()] == ["NO_REPORT.txt"]
    assert "measured in chunks" in (folder / "NO_REPORT.txt").read_text()
    rows = Document(str(tmp_path / "out" / "summary_report.docx")).tables[0].rows
    assert [row.cells[0].text for row in rows[1:]] == ["大镇", "合计"]
