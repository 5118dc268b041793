"""Analytics: areas and units, the classifier's rules, and accuracy against synthetic truth."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from conftest import L7, L8
from pyproj import Geod
from rasterio.crs import CRS
from rasterio.windows import Window

from engine.analysis.areas import AreaUnit, all_units, format_area, pixel_areas
from engine.analysis.classes import LandCover
from engine.analysis.classify import Thresholds, classify, otsu
from engine.analysis.run import AnalysisConfig, analyse
from engine.scene.product import Grid
from engine.synthetic import CLASS_CODES, INVALID_CODE, REFLECTANCE, SyntheticSpec, write_scene
from engine.types import BandRole, LayerSpec

REPO = Path(__file__).resolve().parents[1]


# -- areas -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("area_m2", "unit", "value"), [
    (120_000, AreaUnit.HA, 12.0),
    (120_000, AreaUnit.MU, 180.0),
    (120_000, AreaUnit.KM2, 0.12),
    (666.67, AreaUnit.MU, 1.0),
    (1_000_000, AreaUnit.KM2, 1.0),
])
def test_area_units(area_m2: float, unit: AreaUnit, value: float) -> None:
    assert unit.from_m2(area_m2) == pytest.approx(value, rel=1e-5)


def test_all_units_and_format() -> None:
    assert all_units(120_000) == pytest.approx({"area_m2": 120_000, "area_ha": 12, "area_km2": 0.12, "area_mu": 180})
    assert format_area(120_000, AreaUnit.MU) == "180.0 亩"
    assert format_area(120_000, AreaUnit.HA, "en") == "12.00 ha"


def test_projected_pixel_area() -> None:
    grid = Grid(CRS.from_epsg(32648), Affine(30, 0, 500_000, 0, -30, 4_000_000), 10, 5)
    areas = pixel_areas(grid, Window(0, 0, 10, 5))
    # on UTM's central meridian the scale is 0.9996: a nominal 30 m pixel covers 900 / 0.9996² m² of ground
    assert np.allclose(np.outer(areas.rows_m2, areas.cols), 900.0 / 0.9996**2, rtol=1e-5)


def test_geographic_pixel_areas_are_geodesic_per_row() -> None:
    """Rows of a 0.01° grid sum to the geodesic area of the whole box and shrink with latitude."""
    grid = Grid(CRS.from_epsg(4326), Affine(0.01, 0, 100.0, 0, -0.01, 40.0), 100, 100)
    rows = pixel_areas(grid, Window(0, 0, 100, 100)).rows_m2
    box, _ = Geod(ellps="WGS84").polygon_area_perimeter([100, 101, 101, 100], [40, 40, 39, 39])
    # geodesic edges of the big box bow away from the parallels a little: 1e-4 relative
    assert rows.sum() * 100 == pytest.approx(abs(box), rel=1e-4)
    assert rows[0] < rows[-1]  # the northern row (40°N) is smaller than the southern (39°N)
    assert rows[0] == pytest.approx(0.01 * 111_320 * np.cos(np.radians(39.995)) * 0.01 * 111_000, rel=0.01)


# -- classifier --------------------------------------------------------------------------------------

def test_otsu_splits_two_modes_in_the_middle_of_the_gap() -> None:
    values = np.concatenate([np.full(1000, -0.4), np.full(300, 0.6)]).astype(np.float32)
    assert 0.0 < otsu(values) < 0.2
    assert otsu(np.array([0.5], np.float32)) is None


@pytest.mark.parametrize("name", sorted(REFLECTANCE))
def test_rules_on_reference_spectra(name: str) -> None:
    bands = {role: np.full((2, 2), value, np.float32)
             for role, value in zip(tuple(BandRole), REFLECTANCE[name], strict=True)}
    out = classify(bands, np.ones((2, 2), bool), Thresholds(water_mndwi=0.0))
    assert (out == CLASS_CODES[name]).all()


def test_invalid_pixels_and_threshold_overrides() -> None:
    bands = {role: np.full((1, 2), v, np.float32) for role, v in zip(tuple(BandRole), REFLECTANCE["cropland_grassland"],
                                                                      strict=True)}
    out = classify(bands, np.array([[True, False]]), Thresholds(water_mndwi=0.0))
    assert out.tolist() == [[LandCover.CROPLAND_GRASSLAND, LandCover.INVALID]]
    t = Thresholds.parse_overrides("vegetation_ndvi=0.9, water_mndwi=0.1")
    assert t.vegetation_ndvi == 0.9 and t.water_mndwi == 0.1
    assert classify(bands, np.ones((1, 2), bool), t).tolist() == [[LandCover.BUILT_UP] * 2]
    with pytest.raises(ValueError, match="unknown threshold"):
        Thresholds.parse_overrides("ndvi=0.3")


# -- accuracy on synthetic truth --------------------------------------------------------------------

SIZES = [(256, 256, 1), (640, 480, 2), (1000, 700, 3)]


def _truth(scene) -> tuple[list[np.ndarray], float]:
    maps = []
    for path in scene.truth:
        with rasterio.open(path) as src:
            t = src.read(1)
        maps.append(np.where(t == INVALID_CODE, LandCover.INVALID, t).astype(np.uint8))
    return maps, scene.spec.pixel_size_m ** 2


def test_accuracy_table(tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    rows = []
    for width, height, seed in SIZES:
        spec = SyntheticSpec(width=width, height=height, noise=0.03, cloud_fraction=0.1, nodata_border_px=4,
                             seed=seed)
        scene = write_scene(spec, tmp_path_factory.mktemp(f"acc{width}"))
        result = analyse([LayerSpec(path=p) for p in scene.layers], config=AnalysisConfig(mmu_ha=0.5),
                         keep_class_maps=True)
        truth, pixel_m2 = _truth(scene)
        both = [(t != LandCover.INVALID) & (c.classes != LandCover.INVALID) for t, c in zip(truth, result.class_maps,
                                                                                             strict=True)]
        oa = np.mean([(c.classes[m] == t[m]).mean() for t, c, m in zip(truth, result.class_maps, both, strict=True)])
        water_true = (truth[0] == LandCover.WATER).sum() * pixel_m2
        water_got = result.facts.per_date[0].classes["water"].area_m2
        planted = {}
        for a, b in ((LandCover.CROPLAND_GRASSLAND, LandCover.BUILT_UP), (LandCover.FOREST, LandCover.BARE)):
            true_area = ((truth[0] == a) & (truth[1] == b)).sum() * pixel_m2
            got = next((t.area_m2 for t in result.facts.transitions if (t.class_from, t.class_to) == (a.key, b.key)),
                       0.0)
            planted[f"{a.key}->{b.key}"] = (true_area, got)
        rows.append((f"{width}x{height}", oa, water_true, water_got, planted, result.facts))
    with capsys.disabled():
        print("\nsynthetic accuracy (3 % noise, 10 % cloudy patches in date 2, nodata border)")
        print(f"{'scene':<10}{'OA':>8}{'water true ha':>15}{'water got ha':>14}{'change':>22}{'true ha':>10}"
              f"{'got ha':>9}")
        for name, oa, wt, wg, planted, _ in rows:
            for i, (key, (true_area, got)) in enumerate(planted.items()):
                lead = f"{name:<10}{oa:>8.3f}{wt / 1e4:>15.2f}{wg / 1e4:>14.2f}" if i == 0 else " " * 47
                print(f"{lead}{key:>22}{true_area / 1e4:>10.2f}{got / 1e4:>9.2f}")
    for name, oa, water_true, water_got, planted, facts in rows:
        assert oa >= 0.90, name
        assert water_got == pytest.approx(water_true, rel=0.05), name
        for key, (true_area, got) in planted.items():
            assert got == pytest.approx(true_area, rel=0.10), (name, key)
        # only the planted transitions survive the minimum mapping unit
        assert {f"{t.class_from}->{t.class_to}" for t in facts.transitions} <= set(planted), name


def test_analyse_cli_json_keys(tmp_path: Path) -> None:
    scene = write_scene(SyntheticSpec(width=200, height=160, seed=5), tmp_path)
    # given out of date order: sorted, and said so
    proc = subprocess.run([sys.executable, "-m", "engine", "analyse", "--layer", str(scene.layers[1]),
                           "--layer", str(scene.layers[0]), "--json", "--quiet"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    facts = json.loads(proc.stdout)
    assert facts["dates"] == ["2023-05-01", "2024-05-01"]
    assert set(facts["classes"]) == set(facts["dates"])
    assert set(facts["classes"]["2023-05-01"]) == {"water", "built_up", "bare", "cropland_grassland", "forest"}
    assert {"area_m2", "area_ha", "area_km2", "area_mu"} <= set(facts["classes"]["2024-05-01"]["water"])
    for t in facts["transitions"]:
        assert {"from", "to", "area_m2"} <= set(t)
    assert isinstance(facts["zones"], list) and isinstance(facts["findings_count"], int)
    assert any("sorted by acquisition date" in n for n in facts["notes"])


def test_analyse_real_landsat_2001_2013() -> None:
    proc = subprocess.run([sys.executable, "-m", "engine", "analyse", "--layer", str(L7), "--layer", str(L8),
                           "--unit", "ha", "--quiet"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "transitions 2001-07-30 -> 2013-07-07" in proc.stdout
    assert "公顷" in proc.stdout
