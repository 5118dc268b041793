"""Bad input gives one actionable line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import L8, write_tif

REPO = Path(__file__).resolve().parents[1]


def run_engine(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def _assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error")]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def rasters(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "no_crs": write_tif(tmp_path / "nocrs.tif", np.ones((2, 8, 8), np.float32), crs=None,
                            descriptions=["red", "nir"]),
        "all_nodata": write_tif(tmp_path / "empty.tif", np.zeros((2, 8, 8), np.uint16), nodata=0,
                                descriptions=["red", "nir"]),
        "unknown_roles": write_tif(tmp_path / "mystery.tif", np.ones((5, 8, 8), np.uint16)),
        "rgb": write_tif(tmp_path / "ortho.tif", np.full((3, 8, 8), 100, np.uint8)),
        "red_nir": write_tif(tmp_path / "rn.tif", np.full((2, 8, 8), 0.2, np.float32), descriptions=["red", "nir"]),
    }
    text = tmp_path / "notes.tif"
    text.write_text("this is not a raster")
    paths["not_raster"] = text
    good = write_tif(tmp_path / "good.tif", np.ones((2, 256, 256), np.uint16) * 500, descriptions=["red", "nir"],
                     tiled=True, blockxsize=64, blockysize=64, compress="deflate")
    corrupt = tmp_path / "corrupt.tif"
    data = good.read_bytes()
    corrupt.write_bytes(data[: len(data) // 2])
    paths["corrupt"] = corrupt
    return paths


def test_missing_file() -> None:
    _assert_one_line_error(run_engine("inspect", "/no/such/scene.tif"), "not found", "/no/such/scene.tif")


def test_not_a_raster(rasters: dict[str, Path]) -> None:
    _assert_one_line_error(run_engine("inspect", str(rasters["not_raster"])), "not a raster")


def test_corrupted_file(rasters: dict[str, Path]) -> None:
    proc = run_engine("inspect", str(rasters["corrupt"]))
    line = _assert_one_line_error(proc)
    assert "corrupt" in line or "not a raster" in line


def test_raster_without_crs_suggests_assume_crs(rasters: dict[str, Path]) -> None:
    _assert_one_line_error(run_engine("inspect", str(rasters["no_crs"])), "--assume-crs")
    proc = run_engine("inspect", str(rasters["no_crs"]), "--assume-crs", "EPSG:32648", "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr


def test_extent_outside_prints_both_extents(rasters: dict[str, Path]) -> None:
    proc = run_engine("inspect", str(rasters["red_nir"]), "--bbox", "100", "30", "100.1", "30.1",
                      "--bbox-crs", "EPSG:4326")
    _assert_one_line_error(proc, "does not overlap", "EPSG:32648", "raster (500000.00")


def test_extent_without_valid_pixels(rasters: dict[str, Path]) -> None:
    _assert_one_line_error(run_engine("inspect", str(rasters["all_nodata"])), "no valid pixels")


def test_unknown_band_roles_list_bands_and_mapping(rasters: dict[str, Path]) -> None:
    _assert_one_line_error(run_engine("inspect", str(rasters["unknown_roles"])), "--band-map", "5:(no description)")


def test_missing_band_for_false_colour(rasters: dict[str, Path], tmp_path: Path) -> None:
    proc = run_engine("render", str(rasters["rgb"]), "--false-color", "-o", str(tmp_path / "x.png"))
    _assert_one_line_error(proc, "no nir band", "false color")


def test_bad_band_map_syntax(rasters: dict[str, Path]) -> None:
    proc = run_engine("inspect", str(rasters["unknown_roles"]), "--band-map", "infrared=4")
    assert proc.returncode == 2 and "unknown band role" in proc.stderr


def test_debug_shows_traceback() -> None:
    proc = run_engine("inspect", "/no/such/scene.tif", "--debug")
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_help_explains_every_option() -> None:
    for command in ("inspect", "render"):
        proc = run_engine(command, "--help")
        assert proc.returncode == 0
        for option in ("--bbox", "--bbox-crs", "--band-map", "--sensor", "--assume-crs", "--scale", "--date"):
            assert option in proc.stdout
    assert "--false-color" in run_engine("render", "--help").stdout


def test_inspect_json_keys_on_real_sample() -> None:
    import json

    proc = run_engine("inspect", str(L8), "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    for key in ("sensor", "acquired", "crs", "pixel_size", "bounds", "bands", "indices", "valid_fraction"):
        assert key in data
    assert data["sensor"] == "landsat8" and data["acquired"] == "2013-07-07" and data["crs"] == "EPSG:32632"
    assert 0.05 < data["bands"]["red"]["mean"] < 0.15
    assert 0.2 < data["indices"]["ndvi"]["mean"] < 0.8
    assert data["valid_fraction"] == 1.0
