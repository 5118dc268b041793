"""Landsat L1 reflectance equals the USGS formula on the real samples, pixel by pixel.

The expected values are computed here from the MTL text with a regular
expression and plain rasterio reads, independently of the engine's MTL parser
and reader: rho = (REFLECTANCE_MULT * DN + REFLECTANCE_ADD) / sin(SUN_ELEVATION).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import rasterio
from conftest import L5, L7, L8
from rasterio.windows import Window

from engine.scene.layer import open_layer
from engine.scene.reader import SceneReader
from engine.types import BandRole, LayerSpec, Sensor

# role -> band number, written out independently of engine.types
L7_BANDS = {"blue": 1, "green": 2, "red": 3, "nir": 4, "swir1": 5, "swir2": 7}
L8_BANDS = {"blue": 2, "green": 3, "red": 4, "nir": 5, "swir1": 6, "swir2": 7}


def _mtl_value(text: str, key: str) -> float:
    match = re.search(rf"^\s*{key}\s*=\s*([-+0-9.Ee]+)\s*$", text, re.MULTILINE)
    assert match, key
    return float(match.group(1))


def _expected_toa(folder: Path, number: int) -> tuple[np.ndarray, np.ndarray]:
    mtl = next(folder.glob("*_MTL.txt")).read_text()
    mult = _mtl_value(mtl, f"REFLECTANCE_MULT_BAND_{number}")
    add = _mtl_value(mtl, f"REFLECTANCE_ADD_BAND_{number}")
    sun = math.sin(math.radians(_mtl_value(mtl, "SUN_ELEVATION")))
    with rasterio.open(next(folder.glob(f"*_B{number}.TIF"))) as src:
        dn = src.read(1).astype(np.float64)
    return (mult * dn + add) / sun, dn


@pytest.mark.parametrize(("folder", "bands", "sensor"), [
    (L7, L7_BANDS, Sensor.LANDSAT_7),
    (L8, L8_BANDS, Sensor.LANDSAT_8),
])
def test_toa_reflectance_matches_usgs_formula(folder: Path, bands: dict[str, int], sensor: Sensor) -> None:
    product = open_layer(LayerSpec(path=folder))
    assert product.sensor is sensor
    assert product.level.startswith("L1")
    window = Window(0, 0, product.grid.width, product.grid.height)
    with SceneReader(product) as reader:
        block = reader.read(window, tuple(BandRole.parse(r) for r in bands))
    for role, number in bands.items():
        expected, dn = _expected_toa(folder, number)
        got = block.bands[BandRole.parse(role)].astype(np.float64)
        fill = dn == 0
        assert np.abs(got[~fill] - expected[~fill]).max() <= 1e-6, role
        assert not block.valid[fill].any()


def test_products_open_from_folder_mtl_or_band_file() -> None:
    mtl = next(L8.glob("*_MTL.txt"))
    band = next(L8.glob("*_B4.TIF"))
    names = {open_layer(LayerSpec(path=p)).name for p in (L8, mtl, band)}
    assert names == {"LC08_L1TP_195025_20130707_20170503_01_T1"}


@pytest.mark.parametrize(("folder", "date", "sensor", "crs"), [
    (L7, "2001-07-30", Sensor.LANDSAT_7, "EPSG:32632"),
    (L8, "2013-07-07", Sensor.LANDSAT_8, "EPSG:32632"),
    (L5, "2000-03-09", Sensor.LANDSAT_5, "EPSG:32637"),
])
def test_landsat_metadata(folder: Path, date: str, sensor: Sensor, crs: str) -> None:
    product = open_layer(LayerSpec(path=folder))
    assert product.acquired.isoformat() == date
    assert product.sensor is sensor
    assert product.grid.crs.to_string() == crs
    assert product.grid.pixel_size == (30.0, 30.0)
    assert set(product.roles) == set(BandRole)
    assert product.mask is not None


def test_bqa_cloud_bits_mark_pixels_invalid(tmp_path: Path) -> None:
    """A copy of the L8 sample whose BQA flags a cloud block: those pixels become invalid."""
    import shutil

    copy = tmp_path / L8.name
    shutil.copytree(L8, copy)
    bqa = next(copy.glob("*_BQA.TIF"))
    with rasterio.open(bqa, "r+") as dst:
        qa = dst.read(1)
        qa[:10, :10] = 2800 | (1 << 4)  # cloud bit set
        dst.write(qa, 1)
    product = open_layer(LayerSpec(path=copy))
    with SceneReader(product) as reader:
        block = reader.read(Window(0, 0, product.grid.width, product.grid.height), (BandRole.RED,))
    assert not block.valid[:10, :10].any()
    assert block.valid[10:, 10:].all()


C2_L2_MTL = """GROUP = LANDSAT_METADATA_FILE
  GROUP = PRODUCT_CONTENTS
    LANDSAT_PRODUCT_ID = "LC09_L2SP_130034_20240601_20240602_02_T1"
    PROCESSING_LEVEL = "L2SP"
{files}
    FILE_NAME_QUALITY_L1_PIXEL = "LC09_L2SP_130034_20240601_20240602_02_T1_QA_PIXEL.TIF"
  END_GROUP = PRODUCT_CONTENTS
  GROUP = IMAGE_ATTRIBUTES
    SPACECRAFT_ID = "LANDSAT_9"
    DATE_ACQUIRED = 2024-06-01
    SUN_ELEVATION = 65.0
  END_GROUP = IMAGE_ATTRIBUTES
  GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS
{sr}
  END_GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS
  GROUP = LEVEL1_RADIOMETRIC_RESCALING
{toa}
  END_GROUP = LEVEL1_RADIOMETRIC_RESCALING
END_GROUP = LANDSAT_METADATA_FILE
END
"""


def test_collection2_level2_surface_reflectance_and_qa_pixel(tmp_path: Path) -> None:
    """C2 L2: SR = DN * 2.75e-5 - 0.2 from the L2 group (not the L1 TOA group), no sun correction."""
    from conftest import write_tif

    name = "LC09_L2SP_130034_20240601_20240602_02_T1"
    files, sr, toa = [], [], []
    for n in range(1, 8):
        files.append(f'    FILE_NAME_BAND_{n} = "{name}_SR_B{n}.TIF"')
        sr.append(f"    REFLECTANCE_MULT_BAND_{n} = 2.75E-05\n    REFLECTANCE_ADD_BAND_{n} = -0.200000")
        toa.append(f"    REFLECTANCE_MULT_BAND_{n} = 2.0000E-05\n    REFLECTANCE_ADD_BAND_{n} = -0.100000")
        write_tif(tmp_path / f"{name}_SR_B{n}.TIF", np.full((6, 6), 10000 + 1000 * n, np.uint16), nodata=0)
    qa = np.full((6, 6), 21824, np.uint16)  # clear land
    qa[0, :] = 1 << 3  # cloud
    qa[1, :] = 1 << 4  # cloud shadow
    write_tif(tmp_path / f"{name}_QA_PIXEL.TIF", qa)
    (tmp_path / f"{name}_MTL.txt").write_text(
        C2_L2_MTL.format(files="\n".join(files), sr="\n".join(sr), toa="\n".join(toa)))
    product = open_layer(LayerSpec(path=tmp_path))
    assert product.sensor is Sensor.LANDSAT_9 and product.level.startswith("L2")
    with SceneReader(product) as reader:
        block = reader.read(Window(0, 0, 6, 6), (BandRole.RED, BandRole.NIR))
    assert np.allclose(block.bands[BandRole.RED], (10000 + 4000) * 2.75e-5 - 0.2, atol=1e-6)  # B4 = red
    assert np.allclose(block.bands[BandRole.NIR], (10000 + 5000) * 2.75e-5 - 0.2, atol=1e-6)  # B5 = nir
    assert not block.valid[:2].any() and block.valid[2:].all()
