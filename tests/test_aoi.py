"""Areas of interest: measurement clipped to a township polygon, read from any vector file in any CRS.

The attacks: a polygon in CGCS2000 lon/lat over a UTM scene (not its bounding box), a GBK shapefile
with no .cpg, a name that is not in the file, an area outside the layers, zones that cross the
boundary.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pyproj import Geod, Transformer
from rasterio import features
from rasterio.windows import transform as window_transform
from shapely import to_wkb
from shapely.geometry import Polygon, box, mapping, shape

from engine.analysis.aoi import AoiSpec, read_aoi
from engine.analysis.classes import LandCover
from engine.analysis.geo import reproject
from engine.analysis.run import AnalysisConfig, ZoneSpec, analyse
from engine.errors import AoiError
from engine.synthetic import SyntheticSpec, write_scene
from engine.types import Extent, LayerSpec

REPO = Path(__file__).resolve().parents[1]
TO_CGCS2000 = Transformer.from_crs("EPSG:32648", "EPSG:4490", always_xy=True)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory):
    return write_scene(SyntheticSpec(width=256, height=256, patch_px=16, noise=0.01), tmp_path_factory.mktemp("aoi"))


def _diamond_utm(cx: float = 501283.7, cy: float = 3998716.3, r: float = 903.1) -> Polygon:
    """A diamond (not its bounding box) in the scene's UTM 48N near its centre (no pixel centre on an edge)."""
    return Polygon([(cx, cy + r), (cx + r, cy), (cx, cy - r), (cx - r, cy)])


def _in_cgcs2000(polygon: Polygon) -> Polygon:
    return Polygon([TO_CGCS2000.transform(x, y) for x, y in polygon.exterior.coords])


def _write_geojson(path: Path, features_: list[tuple[dict, Polygon]], crs: str = "EPSG:4490") -> Path:
    path.write_text(json.dumps({
        "type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": crs}},
        "features": [{"type": "Feature", "properties": p, "geometry": mapping(g)} for p, g in features_]},
        ensure_ascii=False), encoding="utf-8")
    return path


def _write_gbk_shapefile(folder: Path, features_: list[tuple[str, Polygon]]) -> Path:
    """A shapefile as Chinese desktop GIS writes it: names in GBK, no .cpg."""
    import pyogrio.raw

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "乡镇界.shp"
    pyogrio.raw.write(path, geometry=np.array([to_wkb(g) for _, g in features_], dtype=object),
                      field_data=[np.array([n for n, _ in features_], dtype=object)], fields=["XZQMC"],
                      crs="EPSG:4490", geometry_type="Polygon", encoding="GBK")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


def test_measurement_is_clipped_to_the_polygon_not_its_bounding_box(scene, tmp_path: Path) -> None:
    diamond = _diamond_utm()
    aoi_file = _write_geojson(tmp_path / "town.geojson", [({"name": "城关镇"}, _in_cgcs2000(diamond))])
    specs = [LayerSpec(path=p) for p in scene.layers]
    config = AnalysisConfig(mmu_ha=0.0)
    clipped = analyse(specs, config=config, aoi=AoiSpec(aoi_file), keep_class_maps=True)
    facts = clipped.facts
    assert facts.aoi["name"] == "城关镇" and facts.aoi["crs"] == "EPSG:4490"
    # the analysed area is the diamond's (half its bounding box), to within the pixels its edge cuts
    geod_area = abs(Geod(ellps="GRS80").geometry_area_perimeter(_in_cgcs2000(diamond))[0])
    assert facts.area_m2 == pytest.approx(geod_area, rel=0.03)
    e = facts.extent  # the polygon's bounding box, as read: the same pixels, classified alike
    whole = analyse(specs, Extent(e["xmin"], e["ymin"], e["xmax"], e["ymax"], e["crs"]), config,
                    keep_class_maps=True)
    assert facts.area_m2 < 0.6 * whole.facts.area_m2
    # every class area equals the unclipped class map's pixels whose centres are inside the diamond
    window = whole.class_maps[0].window
    inside = features.geometry_mask([diamond], (int(window.height), int(window.width)),
                                    window_transform(window, whole.grid.transform), invert=True)
    pixel_m2 = facts.area_m2 / inside.sum()
    for day, cmap in zip(facts.per_date, whole.class_maps, strict=True):
        for key, area in day.classes.items():
            expected = ((cmap.classes == LandCover.from_key(key)) & inside).sum() * pixel_m2
            assert area.area_m2 == pytest.approx(expected, rel=1e-3, abs=1.0), (day.date, key)
        assert day.valid_fraction == pytest.approx(1.0)  # outside the diamond is not "invalid"
    # change patches stop at the boundary
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
    patches = clipped.findings(1000)["features"]
    assert patches
    for feature in patches:
        utm = reproject(shape(feature["geometry"]), to_utm)
        assert utm.difference(diamond.buffer(10)).area < 1.0


def test_a_gbk_shapefile_without_cpg_and_a_named_township(scene, tmp_path: Path) -> None:
    east, west = _diamond_utm(cx=501900.0, r=500.0), _diamond_utm(cx=500700.0, r=500.0)
    shp = _write_gbk_shapefile(tmp_path / "shp", [("城关镇", _in_cgcs2000(east)), ("新华乡", _in_cgcs2000(west))])
    aoi = read_aoi(AoiSpec(shp, name="新华乡", name_field="XZQMC"))
    assert aoi.name == "新华乡" and aoi.features == 1 and any("GBK" in n for n in aoi.notes)
    out = subprocess.run([sys.executable, "-m", "engine", "analyse", "--quiet", "--no-cache", "--json",
                          *(a for p in scene.layers for a in ("--layer", str(p))), "--aoi", str(shp),
                          "--aoi-name", "新华乡", "--aoi-name-field", "XZQMC"],
                         capture_output=True, text=True, cwd=REPO, check=False)
    assert out.returncode == 0, out.stderr
    facts = json.loads(out.stdout)
    assert facts["aoi"]["name"] == "新华乡"
    assert facts["analysed_area_m2"] == pytest.approx(2 * 500.0 ** 2, rel=0.05)


@pytest.mark.parametrize(("args", "message"), [
    (["--aoi-name", "不存在镇", "--aoi-name-field", "XZQMC"], "no feature of 乡镇界.shp has XZQMC = '不存在镇'"),
    (["--aoi-name-field", "DLMC"], "has no field 'DLMC'"),
])
def test_bad_areas_are_one_line_with_exit_2(scene, tmp_path: Path, args: list[str], message: str) -> None:
    shp = _write_gbk_shapefile(tmp_path / "shp", [("城关镇", _in_cgcs2000(_diamond_utm()))])
    out = subprocess.run([sys.executable, "-m", "engine", "analyse", "--quiet", "--no-cache",
                          *(a for p in scene.layers for a in ("--layer", str(p))), "--aoi", str(shp), *args],
                         capture_output=True, text=True, cwd=REPO, check=False)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and message in lines[0], out.stderr
    assert "城关镇" in lines[0] or "field" in lines[0]  # the names it has, readable (not GBK mojibake)


def test_an_area_outside_the_layers_is_refused(scene, tmp_path: Path) -> None:
    far = _write_geojson(tmp_path / "far.geojson", [({"name": "远方"}, _in_cgcs2000(_diamond_utm(cx=700000.0)))])
    with pytest.raises(Exception, match="outside"):
        analyse([LayerSpec(path=p) for p in scene.layers], aoi=AoiSpec(far))
    with pytest.raises(AoiError, match="not found"):
        analyse([LayerSpec(path=p) for p in scene.layers], aoi=AoiSpec(tmp_path / "missing.gpkg"))


def test_zones_stop_at_the_area_boundary(scene, tmp_path: Path) -> None:
    diamond = _diamond_utm()
    aoi_file = _write_geojson(tmp_path / "town.geojson", [({"name": "城关镇"}, _in_cgcs2000(diamond))])
    # a farmland zone: the eastern half of the scene, half of it outside the diamond
    zone = box(501280.0, 3997440.0, 502560.0, 4000000.0)
    zones = _write_geojson(tmp_path / "zones.geojson", [({"name": "基本农田一号", "kind": "farmland"},
                                                          _in_cgcs2000(zone))])
    facts = analyse([LayerSpec(path=p) for p in scene.layers], aoi=AoiSpec(aoi_file),
                    zones=ZoneSpec(zones)).facts
    (record,) = facts.zones
    assert record["area_in_extent_m2"] == pytest.approx(diamond.intersection(zone).area, rel=0.05)
    assert record["area_in_extent_m2"] < 0.3 * zone.area


def test_a_zone_that_only_touches_the_area_is_outside_it(scene, tmp_path: Path) -> None:
    """Their intersection is a line (the shared edge): no pixel of the zone is in the area."""
    corners = (500643.3, 3998083.3), (501283.3, 3998083.3), (500643.3, 3999363.3), (501283.3, 3999363.3)
    area = Polygon([corners[0], corners[1], corners[2]])  # a triangle, and the zone the other half of its box:
    touching = Polygon([corners[1], corners[3], corners[2]])  # they share the diagonal, inside the window read
    aoi_file = _write_geojson(tmp_path / "a.geojson", [({"name": "城关镇"}, area)], crs="EPSG:32648")
    zones = _write_geojson(tmp_path / "z.geojson", [({"name": "邻镇基本农田", "kind": "farmland"}, touching)],
                           crs="EPSG:32648")
    (record,) = analyse([LayerSpec(path=p) for p in scene.layers], aoi=AoiSpec(aoi_file), zones=ZoneSpec(zones)
                        ).facts.zones
    assert record["outside"] and not record.get("violations")
