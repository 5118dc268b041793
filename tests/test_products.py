"""Sentinel-2 products and multiband stacks resolve to the right roles, scaling, dates and masks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from conftest import write_tif
from rasterio.windows import Window

from engine.errors import BandRolesUnknownError
from engine.scene.layer import open_layer
from engine.scene.product import MaskKind
from engine.scene.reader import SceneReader
from engine.types import BandRole, LayerSpec, Sensor

T10 = Affine(10, 0, 600000, 0, -10, 4200000)
T20 = Affine(20, 0, 600000, 0, -20, 4200000)

MTD_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">
<n1:General_Info><Product_Info>
<PRODUCT_START_TIME>2024-05-01T03:35:41.024Z</PRODUCT_START_TIME>
<PROCESSING_LEVEL>Level-2A</PROCESSING_LEVEL>
<PROCESSING_BASELINE>05.10</PROCESSING_BASELINE>
<Datatake><SPACECRAFT_NAME>Sentinel-2A</SPACECRAFT_NAME></Datatake>
<Product_Organisation><Granule_List><Granule>
{files}
</Granule></Granule_List></Product_Organisation>
</Product_Info>
<Product_Image_Characteristics>
<QUANTIFICATION_VALUES_LIST><BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>
</QUANTIFICATION_VALUES_LIST>
<BOA_ADD_OFFSET_VALUES_LIST>{offsets}</BOA_ADD_OFFSET_VALUES_LIST>
</Product_Image_Characteristics>
</n1:General_Info>
</n1:Level-2A_User_Product>
"""


def make_safe(root: Path, dn10: int = 2000, dn20: int = 3000, scl_cloud_rows: int = 2) -> Path:
    """A minimal L2A SAFE: 10 m B02/B03/B04/B08, 20 m B11/B12/SCL, MTD with offsets -1000."""
    safe = root / "S2A_MSIL2A_20240501T033541_N0510_R061_T48SUB_20240501T080000.SAFE"
    granule = safe / "GRANULE" / "L2A_T48SUB_A000001_20240501T034000" / "IMG_DATA"
    entries = []
    prefix = "T48SUB_20240501T033541"
    for res, bands in (("10m", ("B02", "B03", "B04", "B08")), ("20m", ("B11", "B12", "SCL"))):
        folder = granule / f"R{res}"
        folder.mkdir(parents=True)
        size, transform = (20, T10) if res == "10m" else (10, T20)
        for band in bands:
            if band == "SCL":
                data = np.full((size, size), 4, np.uint8)
                data[:scl_cloud_rows] = 9
            else:
                data = np.full((size, size), dn10 if res == "10m" else dn20, np.uint16)
            write_tif(folder / f"{prefix}_{band}_{res}.jp2", data, crs="EPSG:32648", transform=transform,
                      driver="JP2OpenJPEG", QUALITY=100, REVERSIBLE="YES")
            rel = (folder / f"{prefix}_{band}_{res}").relative_to(safe)
            entries.append(f"<IMAGE_FILE>{rel.as_posix()}</IMAGE_FILE>")
    offsets = "".join(f'<BOA_ADD_OFFSET band_id="{i}">-1000</BOA_ADD_OFFSET>' for i in range(13))
    (safe / "MTD_MSIL2A.xml").write_text(MTD_TEMPLATE.format(files="\n".join(entries), offsets=offsets))
    return safe


def test_sentinel2_safe_offsets_grid_and_scl(tmp_path: Path) -> None:
    safe = make_safe(tmp_path)
    product = open_layer(LayerSpec(path=safe))
    assert product.sensor is Sensor.SENTINEL_2
    assert product.acquired == dt.date(2024, 5, 1)
    assert product.grid.pixel_size == (10.0, 10.0)
    assert product.mask is not None and product.mask.kind is MaskKind.S2_SCL
    with SceneReader(product) as reader:
        block = reader.read(Window(0, 0, 20, 20), (BandRole.RED, BandRole.SWIR1))
    # (DN + BOA_ADD_OFFSET) / 10000
    assert np.allclose(block.bands[BandRole.RED], (2000 - 1000) / 10000)
    assert block.bands[BandRole.SWIR1].shape == (20, 20)  # 20 m band read onto the 10 m grid
    assert np.allclose(block.bands[BandRole.SWIR1], (3000 - 1000) / 10000)
    assert not block.valid[:4].any()  # 2 cloudy SCL rows at 20 m = 4 rows at 10 m
    assert block.valid[4:].all()


@pytest.mark.parametrize("entry", ["MTD_MSIL2A.xml", "band"])
def test_sentinel2_from_mtd_or_band_file(tmp_path: Path, entry: str) -> None:
    safe = make_safe(tmp_path)
    path = safe / entry if entry != "band" else next(safe.rglob("*_B04_10m.jp2"))
    product = open_layer(LayerSpec(path=path))
    assert product.bands[BandRole.RED].calibration.offset == pytest.approx(-0.1)


def test_sentinel2_loose_band_files_assume_offset_from_date(tmp_path: Path) -> None:
    for band in ("B02", "B03", "B04", "B08"):
        write_tif(tmp_path / f"T48SUB_20240501T033541_{band}_10m.tif", np.full((5, 5), 1500, np.uint16),
                  transform=T10)
    product = open_layer(LayerSpec(path=tmp_path / "T48SUB_20240501T033541_B04_10m.tif"))
    assert product.acquired == dt.date(2024, 5, 1)
    assert product.bands[BandRole.RED].calibration.offset == pytest.approx(-0.1)
    assert any("assumed from the date" in n for n in product.notes)
    old = tmp_path / "old"
    old.mkdir()
    write_tif(old / "T48SUB_20210501T033541_B04_10m.tif", np.full((5, 5), 1500, np.uint16), transform=T10)
    assert open_layer(LayerSpec(path=old / "T48SUB_20210501T033541_B04_10m.tif")) \
        .bands[BandRole.RED].calibration.offset == 0.0


@pytest.mark.parametrize(("descriptions", "tags", "expected"), [
    (["B02", "B03", "B04", "B08"], {}, {"blue": 1, "green": 2, "red": 3, "nir": 4}),
    (["SR_B2", "SR_B3", "SR_B4", "SR_B5"], {"SPACECRAFT_ID": "LANDSAT_8"}, {"blue": 1, "green": 2, "red": 3, "nir": 4}),
    (["SR_B1", "SR_B2", "SR_B3", "SR_B4"], {"SPACECRAFT_ID": "LANDSAT_7"}, {"blue": 1, "green": 2, "red": 3, "nir": 4}),
    (["nir", "red", "green", "blue"], {}, {"nir": 1, "red": 2, "green": 3, "blue": 4}),
    (["Red", "Near Infrared", "SWIR 1", "swir2"], {}, {"red": 1, "nir": 2, "swir1": 3, "swir2": 4}),
])
def test_stack_roles_from_descriptions(tmp_path: Path, descriptions: list[str], tags: dict[str, str],
                                       expected: dict[str, int]) -> None:
    path = write_tif(tmp_path / "stack.tif", np.ones((4, 3, 3), np.float32), descriptions=descriptions, tags=tags)
    product = open_layer(LayerSpec(path=path))
    assert {r.value: b.band for r, b in product.bands.items()} == expected


def test_stack_ambiguous_numbers_need_sensor(tmp_path: Path) -> None:
    path = write_tif(tmp_path / "stack.tif", np.ones((4, 3, 3), np.uint16), descriptions=["B1", "B2", "B3", "B4"])
    with pytest.raises(BandRolesUnknownError, match="--band-map") as info:
        open_layer(LayerSpec(path=path))
    assert "1:B1" in str(info.value)
    product = open_layer(LayerSpec(path=path, sensor="landsat7"))
    assert product.bands[BandRole.NIR].band == 4
    product = open_layer(LayerSpec(path=path, band_map={"red": 3, "nir": 4}))
    assert product.bands[BandRole.RED].band == 3


def test_stack_gdal_scale_offset_and_date_tag(tmp_path: Path) -> None:
    path = write_tif(tmp_path / "scene.tif", np.full((2, 4, 4), 20000, np.uint16), descriptions=["red", "nir"],
                     tags={"ACQUISITION_DATE": "2023-08-15"}, scales=[2.75e-5, 2.75e-5], offsets=[-0.2, -0.2])
    product = open_layer(LayerSpec(path=path))
    assert product.acquired == dt.date(2023, 8, 15)
    with SceneReader(product) as reader:
        block = reader.read(Window(0, 0, 4, 4), (BandRole.RED,))
    assert np.allclose(block.bands[BandRole.RED], 20000 * 2.75e-5 - 0.2, atol=1e-6)


def test_stack_date_from_file_name_and_user_overrides(tmp_path: Path) -> None:
    path = write_tif(tmp_path / "county_2022-06-30_mosaic.tif", np.full((2, 4, 4), 100, np.uint16),
                     descriptions=["red", "nir"])
    product = open_layer(LayerSpec(path=path))
    assert product.acquired == dt.date(2022, 6, 30)
    assert any("no reflectance scaling known" in n for n in product.notes)
    product = open_layer(LayerSpec(path=path, date="2022-07-01", scale=1e-4, offset=0.0))
    assert product.acquired == dt.date(2022, 7, 1)
    assert product.bands[BandRole.NIR].calibration.scale == 1e-4


def test_plain_rgb_image_is_true_colour_only(tmp_path: Path) -> None:
    path = write_tif(tmp_path / "ortho.tif", np.zeros((3, 8, 8), np.uint8))
    product = open_layer(LayerSpec(path=path))
    assert product.sensor is Sensor.RGB
    assert product.roles == (BandRole.BLUE, BandRole.GREEN, BandRole.RED)
    assert any("true colour only" in n for n in product.notes)


def test_second_date_is_aligned_to_first_grid(tmp_path: Path) -> None:
    """A date in another CRS and resolution is read on the first date's grid."""
    first = write_tif(tmp_path / "a.tif", np.full((2, 30, 40), 0.2, np.float32), descriptions=["red", "nir"],
                      crs="EPSG:32648", transform=Affine(10, 0, 500000, 0, -10, 4000000))
    # the same area in EPSG:4326 at a coarser, unaligned resolution
    from rasterio.warp import transform_bounds

    west, south, east, north = transform_bounds("EPSG:32648", "EPSG:4326", 499900, 3999600, 500500, 4000100)
    res = (east - west) / 25
    second = write_tif(tmp_path / "b.tif", np.full((2, round((north - south) / res), 25), 0.3, np.float32),
                       descriptions=["red", "nir"], crs="EPSG:4326", transform=Affine(res, 0, west, 0, -res, north))
    a = open_layer(LayerSpec(path=first))
    b = open_layer(LayerSpec(path=second))
    with SceneReader(b, grid=a.grid) as reader:
        block = reader.read(Window(0, 0, 40, 30), (BandRole.RED, BandRole.NIR))
    assert block.bands[BandRole.RED].shape == (30, 40)
    assert block.valid.all()
    assert np.allclose(block.bands[BandRole.NIR], 0.3)
