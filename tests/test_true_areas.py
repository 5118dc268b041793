"""True areas in every CRS: one scene reprojected six ways measures the same class areas.

County data arrives as UTM, Web Mercator exports, geographic WGS84 or CGCS2000,
CGCS2000 Gauss-Krüger zones and Albers equal-area. A projection's nominal
pixel size is not the ground area (Web Mercator inflates it by 1/cos²φ), so
pixel areas must come from the ellipsoid. The scene sits in western China
(about 102.3°E, 36°N), inside UTM zone 48N and the 3° Gauss-Krüger zone of
102°E (EPSG:4543); EPSG:4547 (114°E) is 12° away, as data exported in the wrong
zone would be.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import CRS, Geod
from rasterio.warp import Resampling, calculate_default_transform, reproject
from rasterio.windows import Window

from engine.analysis.areas import pixel_areas
from engine.analysis.classes import MEASURED
from engine.analysis.run import analyse
from engine.scene.product import Grid
from engine.synthetic import SyntheticSpec, write_scene
from engine.types import LayerSpec

ALBERS_CHINA = "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs"
TARGETS = {
    "utm48n": "EPSG:32648",
    "web_mercator": "EPSG:3857",
    "wgs84": "EPSG:4326",
    "cgcs2000": "EPSG:4490",
    "cgcs2000_gk_114e": "EPSG:4547",
    "albers": ALBERS_CHINA,
}


def _reproject(src_path: Path, dst_path: Path, crs: str, oversample: float) -> None:
    """Nearest-neighbour reprojection onto a grid ``oversample`` times finer than the default."""
    with rasterio.open(src_path) as src:
        transform, width, height = calculate_default_transform(src.crs, crs, src.width, src.height, *src.bounds)
        transform = transform @ Affine.scale(1 / oversample)
        width, height = int(width * oversample) + 1, int(height * oversample) + 1
        profile = {**src.profile, "crs": crs, "transform": transform, "width": width, "height": height,
                   "blockxsize": 256, "blockysize": 256}
        with rasterio.open(dst_path, "w", **profile) as dst:
            dst.update_tags(**src.tags())
            for i in range(1, src.count + 1):
                dst.set_band_description(i, src.descriptions[i - 1])
                out = np.zeros((height, width), src.dtypes[i - 1])
                reproject(rasterio.band(src, i), out, dst_transform=transform, dst_crs=crs,
                          resampling=Resampling.nearest, src_nodata=0, dst_nodata=0)
                dst.write(out, i)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    # 102.3°E 36°N in UTM 48N: easting about 257 km, northing about 3987 km; 5.12 km square at 10 m
    spec = SyntheticSpec(width=512, height=512, pixel_size_m=10.0, origin=(257000.0, 3987000.0), patch_px=64,
                         noise=0.0, dates=("2023-05-01",), changes=(), seed=3)
    return write_scene(spec, tmp_path_factory.mktemp("utm")).layers


@pytest.fixture(scope="module")
def measured(scene: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    out: dict[str, dict] = {}
    base = analyse([LayerSpec(path=scene[0])]).facts.to_dict()
    out["source"] = base
    folder = tmp_path_factory.mktemp("reprojected")
    for name, crs in TARGETS.items():
        path = folder / f"S2_{name}_20230501.tif"
        _reproject(scene[0], path, crs, oversample=3.0)
        out[name] = analyse([LayerSpec(path=path)]).facts.to_dict()
    return out


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_class_areas_agree_within_half_a_percent(measured: dict[str, dict], name: str) -> None:
    source = measured["source"]["classes"]["2023-05-01"]
    other = measured[name]["classes"]["2023-05-01"]
    for cls in MEASURED:
        want, got = source[cls.key]["area_m2"], other[cls.key]["area_m2"]
        if want > 0.05 * sum(source[c.key]["area_m2"] for c in MEASURED):
            assert got == pytest.approx(want, rel=0.005), (name, cls.key, got / want)
    valid = measured["source"]["per_date"][0]["valid_area_m2"]
    assert measured[name]["per_date"][0]["valid_area_m2"] == pytest.approx(valid, rel=0.005)


def test_facts_record_the_area_method(measured: dict[str, dict]) -> None:
    for name in ("source", *TARGETS):
        method = measured[name]["area_method"]
        assert "ellipsoid" in method, (name, method)
    assert "CGCS2000" in measured["cgcs2000_gk_114e"]["area_method"]
    # Web Mercator's nominal pixel is 1/cos²(36°) ≈ 1.53 times its true area; the facts say so
    assert "1.53" in measured["web_mercator"]["area_method"]


def test_web_mercator_pixel_areas_follow_latitude() -> None:
    """Rows of a Web Mercator grid shrink towards the pole by cos²φ; a column scale of 1 throughout."""
    grid = Grid(CRS.from_epsg(3857), Affine(100, 0, 11_387_000, 0, -100, 4_300_000), 200, 2000)
    areas = pixel_areas(grid, Window(0, 0, 200, 2000))
    geod = Geod(ellps="WGS84")
    from pyproj import Transformer
    to_ll = Transformer.from_crs(3857, 4326, always_xy=True)
    for row in (0, 999, 1999):
        xs = [11_387_000 + 50 * 100 + dx for dx in (0, 100, 100, 0)]
        ys = [4_300_000 - row * 100 - dy for dy in (0, 0, 100, 100)]
        lon, lat = to_ll.transform(xs, ys)
        truth = abs(geod.polygon_area_perimeter(lon, lat)[0])
        assert areas.rows_m2[row] * areas.cols[50] == pytest.approx(truth, rel=1e-5)
    assert np.allclose(areas.cols, 1.0, atol=1e-6)


def test_gauss_kruger_far_from_its_meridian_is_corrected_across_columns() -> None:
    """102°E data in the 114°E zone: the scale grows away from the central meridian, column by column."""
    crs = CRS.from_epsg(4547)
    # x ≈ 500 km - 1080 km west of 114°E at 36°N: about -580 km false-easted
    grid = Grid(crs, Affine(30, 0, -580_000, 0, -30, 4_000_000), 3000, 300)
    areas = pixel_areas(grid, Window(0, 0, 3000, 300))
    geod = crs.get_geod()
    from pyproj import Transformer
    to_ll = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    for col in (0, 1500, 2999):
        xs = [-580_000 + col * 30 + dx for dx in (0, 30, 30, 0)]
        ys = [4_000_000 - 150 * 30 - dy for dy in (0, 0, 30, 30)]
        lon, lat = to_ll.transform(xs, ys)
        truth = abs(geod.polygon_area_perimeter(lon, lat)[0])
        assert areas.rows_m2[150] * areas.cols[col] == pytest.approx(truth, rel=1e-4)
    # the west edge is farther from 114°E: its scale is larger, so a pixel there covers less ground
    assert areas.cols[0] * 1.001 < areas.cols[-1]
