"""Zones (violations where planted, nowhere else) and findings as valid RFC 7946 GeoJSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rasterio.warp import transform_bounds
from shapely.geometry import box, mapping, shape

from engine.analysis.classes import LandCover
from engine.analysis.run import ZoneSpec, analyse
from engine.analysis.zones import ZoneKind
from engine.errors import ZonesError
from engine.synthetic import CLASS_CODES, SyntheticSpec, write_scene
from engine.types import LayerSpec

SPEC = SyntheticSpec(width=320, height=256, patch_px=32, seed=11)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory):
    return write_scene(SPEC, tmp_path_factory.mktemp("zones"))


def _patch_box(row: int, col: int) -> tuple[float, float, float, float]:
    """Map box (EPSG:32648) of synthetic patch (row, col)."""
    x0, y0 = SPEC.origin
    p = SPEC.patch_px * SPEC.pixel_size_m
    return (x0 + col * p, y0 - (row + 1) * p, x0 + (col + 1) * p, y0 - row * p)


def _write_zones(path: Path, zones: list[tuple[str, object]], crs: str | None = None) -> Path:
    feats = [{"type": "Feature", "properties": {"name": n}, "geometry": mapping(g)} for n, g in zones]
    data: dict[str, object] = {"type": "FeatureCollection", "features": feats}
    if crs:
        data["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(data, ensure_ascii=False))
    return path


def test_violations_where_planted_and_nowhere_else(scene, tmp_path: Path) -> None:
    before, after = scene.patches
    changed = np.argwhere(before != after)
    unchanged = np.argwhere((before == after) & (before == CLASS_CODES["cropland_grassland"]))
    assert len(changed) >= 2 and len(unchanged) >= 1
    r, c = changed[0]
    ur, uc = unchanged[0]
    zones = [("基本农田-planted", box(*_patch_box(r, c)).buffer(-5)),
             ("基本农田-quiet", box(*_patch_box(ur, uc)).buffer(-5))]
    path = _write_zones(tmp_path / "z.geojson", zones, crs="urn:ogc:def:crs:EPSG::32648")
    result = analyse([LayerSpec(path=p) for p in scene.layers], zones=ZoneSpec(path))
    planted, quiet = result.facts.zones
    assert planted["kind"] == ZoneKind.FARMLAND == quiet["kind"]
    expected_to = LandCover(int(after[r, c])).key
    assert [v["class_to"] for v in planted["violations"]] == [expected_to]
    v = planted["violations"][0]
    assert v["area_m2"] == pytest.approx((320 - 1) ** 2 / 100 * 100, rel=0.1)  # the patch minus the 5 m buffer
    assert quiet["violations"] == []
    lon0, lat0, lon1, lat1 = transform_bounds("EPSG:32648", "EPSG:4326", *_patch_box(r, c))
    assert lon0 <= v["centroid_lon"] <= lon1 and lat0 <= v["centroid_lat"] <= lat1


def test_zone_problems_are_reported(scene, tmp_path: Path) -> None:
    bowtie = shape({"type": "Polygon", "coordinates": [[(500100, 3999900), (500600, 3999400), (500600, 3999900),
                                                       (500100, 3999400), (500100, 3999900)]]})
    far = box(900000, 1000000, 900100, 1000100)
    path = _write_zones(tmp_path / "z.geojson", [("生态红线 bowtie", bowtie), ("far away", far)], crs="EPSG:32648")
    result = analyse([LayerSpec(path=scene.layers[0])], zones=ZoneSpec(path))
    bow, away = result.facts.zones
    assert bow["repaired"] and bow["kind"] == "ecological"
    assert away["outside"] and away["violations"] == []
    assert any("repaired" in n for n in result.facts.notes)
    assert any("far away" in n for n in result.facts.notes)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_shapefile_without_crs_is_refused_with_advice(scene, tmp_path: Path) -> None:
    import pyogrio.raw
    from shapely import to_wkb

    shp = tmp_path / "zones.shp"
    pyogrio.raw.write(shp, geometry=np.array([to_wkb(box(*_patch_box(0, 0)))], dtype=object),
                      field_data=[np.array(["A"], dtype=object)], fields=["name"], geometry_type="Polygon",
                      crs=None, driver="ESRI Shapefile")
    assert not shp.with_suffix(".prj").exists()
    with pytest.raises(ZonesError, match="--zones-crs"):
        analyse([LayerSpec(path=scene.layers[0])], zones=ZoneSpec(shp))
    result = analyse([LayerSpec(path=scene.layers[0])], zones=ZoneSpec(shp, crs="EPSG:32648"))
    assert result.facts.zones[0]["name"] == "A" and not result.facts.zones[0]["outside"]


def test_findings_geojson_is_rfc7946(scene) -> None:
    result = analyse([LayerSpec(path=p) for p in scene.layers])
    collection = result.findings()
    feats = collection["features"]
    assert len(feats) == result.facts.findings_count > 0
    lon0, lat0, lon1, lat1 = transform_bounds("EPSG:32648", "EPSG:4326", 500000, 4000000 - 2560, 503200, 4000000)
    areas = [f["properties"]["area_m2"] for f in feats]
    assert areas == sorted(areas, reverse=True)
    for f in feats:
        geom = shape(f["geometry"])
        assert geom.is_valid and not geom.is_empty
        polygons = getattr(geom, "geoms", [geom])
        assert all(p.exterior.is_ccw for p in polygons)  # right-hand rule
        gx0, gy0, gx1, gy1 = geom.bounds
        assert lon0 - 1e-6 <= gx0 and gx1 <= lon1 + 1e-6 and lat0 - 1e-6 <= gy0 and gy1 <= lat1 + 1e-6
        props = f["properties"]
        for key in ("class_from", "class_to", "area_m2", "area_ha", "area_mu", "zone", "date_from", "date_to",
                    "centroid_lon", "centroid_lat", "source"):
            assert key in props
        assert props["source"] == "measured" and props["area_m2"] >= 5000
    capped = result.findings(cap=1)
    assert len(capped["features"]) == 1 and capped["properties"]["left_out"] == len(feats) - 1
