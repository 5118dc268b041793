"""Reference land-use layers: WorldCover rasters and GB/T 21010 vectors become class maps."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from shapely.geometry import box, mapping

from engine.analysis.reference import ReferenceSpec
from engine.analysis.run import analyse
from engine.errors import ReferenceLayerError
from engine.synthetic import CLASS_CODES, SyntheticSpec, write_scene
from engine.types import LayerSpec

WORLDCOVER_OF = {"water": 80, "built_up": 50, "bare": 60, "cropland_grassland": 40, "forest": 10}
SPEC = SyntheticSpec(width=256, height=192, patch_px=32, seed=31)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory):
    return write_scene(SPEC, tmp_path_factory.mktemp("ref"))


def _worldcover_from_truth(scene, out: Path, unknown: bool = False) -> Path:
    with rasterio.open(scene.truth[0]) as src:
        truth, profile = src.read(1), src.profile
    wc = np.zeros_like(truth)
    for name, code in CLASS_CODES.items():
        wc[truth == code] = WORLDCOVER_OF[name]
    if unknown:
        wc[:5, :5] = 33
    profile.update(nodata=0)
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(wc, 1)
    return out


def test_worldcover_reference_as_a_date_with_agreement(scene, tmp_path: Path) -> None:
    ref = _worldcover_from_truth(scene, tmp_path / "worldcover_2022.tif")
    result = analyse([LayerSpec(path=scene.layers[1])], reference=ReferenceSpec(ref))
    facts = result.facts
    assert facts.dates == ["2022-12-31", "2024-05-01"]  # year in the file name, sorted before the scene
    assert facts.per_date[0].sensor == "reference"
    assert facts.reference["compared_with"] == "2024-05-01"
    # the truth of 2023 vs the classification of 2024: agreement is high but the planted change shows
    assert 0.85 < facts.reference["agreement"]["overall"] < 1.0
    assert {(t.class_from, t.class_to) for t in facts.transitions} <= {("cropland_grassland", "built_up"),
                                                                       ("forest", "bare")}


def test_unknown_codes_are_listed_with_advice(scene, tmp_path: Path) -> None:
    ref = _worldcover_from_truth(scene, tmp_path / "wc.tif", unknown=True)
    with pytest.raises(ReferenceLayerError, match=r"33.*--reference-map"):
        analyse([LayerSpec(path=scene.layers[0])], reference=ReferenceSpec(ref, date=dt.date(2023, 1, 1)))
    table = tmp_path / "map.json"
    table.write_text(json.dumps({"worldcover": {"33": "cropland"}}))
    result = analyse([LayerSpec(path=scene.layers[0])],
                     reference=ReferenceSpec(ref, date=dt.date(2023, 1, 1), table=table))
    assert result.facts.reference["agreement"]["pixels"] > 0


def test_gbt21010_vector_reference(scene, tmp_path: Path) -> None:
    x0, y0 = SPEC.origin
    half = SPEC.width * SPEC.pixel_size_m / 2
    feats = [
        {"type": "Feature", "properties": {"DLBM": "0101", "DLMC": "水田"},
         "geometry": mapping(box(x0, y0 - 1920, x0 + half, y0))},
        {"type": "Feature", "properties": {"DLBM": "0702", "DLMC": "农村宅基地"},
         "geometry": mapping(box(x0 + half, y0 - 1920, x0 + 2 * half, y0))},
    ]
    path = tmp_path / "sandiao_2020.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats, "crs": {
        "type": "name", "properties": {"name": "EPSG:32648"}}}, ensure_ascii=False))
    result = analyse([LayerSpec(path=scene.layers[0])], reference=ReferenceSpec(path))
    ref_date = result.facts.per_date[0]
    assert ref_date.date == "2020-12-31" and ref_date.sensor == "reference"
    assert ref_date.classes["cropland_grassland"].area_m2 == pytest.approx(half * 1920, rel=0.01)
    assert ref_date.classes["built_up"].area_m2 == pytest.approx(half * 1920, rel=0.01)
    bad = tmp_path / "bad_2020.geojson"
    feats[0]["properties"]["DLBM"] = "9999"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    with pytest.raises(ReferenceLayerError, match="9999"):
        analyse([LayerSpec(path=scene.layers[0])], reference=ReferenceSpec(bad))


def test_a_survey_separates_cropland_from_grassland(scene, tmp_path: Path) -> None:
    """The imagery's class is 耕地和草地; a 三调 survey gives 耕地 (01) and 草地 (04) apart, and answers use it."""
    from engine.analysis.areas import AreaUnit, format_area
    from engine.answer.analytics import answer
    from engine.answer.audit import audit

    x0, y0 = SPEC.origin
    third = SPEC.width * SPEC.pixel_size_m / 3
    feats = [{"type": "Feature", "properties": {"DLBM": code},
              "geometry": mapping(box(x0 + i * third, y0 - 1920, x0 + (i + 1) * third, y0))}
             for i, code in enumerate(("0101", "0401", "0702"))]
    path = tmp_path / "sandiao_2020.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats, "crs": {
        "type": "name", "properties": {"name": "EPSG:32648"}}}))
    facts = analyse([LayerSpec(path=scene.layers[0])], reference=ReferenceSpec(path)).facts
    survey = facts.reference["survey_classes"]
    assert {k: v["name_zh"] for k, v in survey.items()} == {"01": "耕地", "04": "草地", "07": "住宅用地"}
    for code in ("01", "04"):
        assert survey[code]["area_m2"] == pytest.approx(third * 1920, rel=0.01)
    assert facts.per_date[0].classes["cropland_grassland"].area_m2 == pytest.approx(2 * third * 1920, rel=0.01)
    reply = answer("耕地面积是多少公顷？", facts)
    assert "按三调图层sandiao_2020.geojson" in reply.text and "无法区分" not in reply.text
    assert f"耕地{format_area(survey['01']['area_m2'], AreaUnit.HA)}，草地" in reply.text
    assert audit(reply.text, facts.to_dict(), "耕地面积是多少公顷？").ok
