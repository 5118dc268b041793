"""A service confined to --root reads no file elsewhere: not through a VRT, an MTL, a SAFE or a GDAL /vsi path."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import L7, write_tif
from test_products import make_safe
from test_service import Engine

TOKEN = "root-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root, outside = tmp_path_factory.mktemp("root"), tmp_path_factory.mktemp("outside")
    data = np.full((5, 16, 16), 1500, np.uint16)
    write_tif(outside / "secret_2024-05-01.tif", data, descriptions=["blue", "green", "red", "nir", "swir1"])
    write_tif(root / "inside_2024-05-01.tif", data, descriptions=["blue", "green", "red", "nir", "swir1"])
    (outside / "passwords.txt").write_text("root:hunter2\n" * 100)
    return root, outside


def _vrt(target: Path, bands: int = 5, raw: bool = False) -> str:
    if raw:  # a raw VRT exposes any file's bytes as pixels
        return (f'<VRTDataset rasterXSize="16" rasterYSize="16"><VRTRasterBand dataType="Byte" band="1" '
                f'subClass="VRTRawRasterBand"><SourceFilename relativeToVRT="0">{target}</SourceFilename>'
                f"<ImageOffset>0</ImageOffset><PixelOffset>1</PixelOffset><LineOffset>16</LineOffset>"
                f"</VRTRasterBand></VRTDataset>")
    parts = "".join(f'<VRTRasterBand dataType="UInt16" band="{i}"><Description>{d}</Description><SimpleSource>'
                    f'<SourceFilename relativeToVRT="0">{target}</SourceFilename><SourceBand>{i}</SourceBand>'
                    f"</SimpleSource></VRTRasterBand>"
                    for i, d in enumerate(["blue", "green", "red", "nir", "swir1"][:bands], start=1))
    return (f'<VRTDataset rasterXSize="16" rasterYSize="16"><SRS>EPSG:32648</SRS>'
            f"<GeoTransform>500000, 10, 0, 4000000, 0, -10</GeoTransform>{parts}</VRTDataset>")


@pytest.fixture(scope="module")
def confined(folders: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory):
    root, _ = folders
    server = Engine("--backend", "none", "--token", TOKEN, "--root", str(root),
                    env={"LANDUSE_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))})
    yield server
    server.stop()


def _inspect(engine: Engine, path: Path | str) -> httpx.Response:
    return httpx.post(engine.url + "/v1/inspect", json={"layers": [{"path": str(path)}]}, headers=AUTH, timeout=60)


def _analyse(engine: Engine, path: Path | str) -> httpx.Response:
    return httpx.post(engine.url + "/v1/analyse", json={"layers": [{"path": str(path)}]}, headers=AUTH, timeout=60)


def test_a_vrt_inside_the_root_pointing_outside_is_refused(confined: Engine, folders: tuple[Path, Path]) -> None:
    root, outside = folders
    escape = root / "escape_2024-05-01.vrt"
    escape.write_text(_vrt(outside / "secret_2024-05-01.tif"))
    for call in (_inspect, _analyse):
        reply = call(confined, escape)
        assert reply.status_code == 403 and reply.json()["error"]["code"] == "path_not_allowed", reply.text


def test_a_raw_vrt_exposing_any_file_is_refused(confined: Engine, folders: tuple[Path, Path]) -> None:
    root, outside = folders
    raw = root / "raw_2024-05-01.vrt"
    raw.write_text(_vrt(outside / "passwords.txt", raw=True))
    assert _analyse(confined, raw).status_code == 403


def test_a_vrt_whose_sources_are_inside_is_served(confined: Engine, folders: tuple[Path, Path]) -> None:
    root, _ = folders
    fine = root / "fine_2024-05-01.vrt"
    fine.write_text(_vrt(root / "inside_2024-05-01.tif"))
    reply = _analyse(confined, fine)
    assert reply.status_code == 200, reply.text


def test_an_mtl_pointing_out_of_the_root_is_refused(confined: Engine, folders: tuple[Path, Path]) -> None:
    root, outside = folders
    product = root / L7.name
    shutil.copytree(L7, product)
    mtl = next(product.glob("*_MTL.txt"))
    stolen = outside / "stolen_B4.TIF"
    shutil.copy(next(product.glob("*_B4.TIF")), stolen)
    text = mtl.read_text()
    name = next(line.split("=")[1].strip().strip('"') for line in text.splitlines() if "FILE_NAME_BAND_4 " in line)
    mtl.write_text(text.replace(f'"{name}"', f'"../../{outside.name}/stolen_B4.TIF"'))
    reply = _analyse(confined, product)
    assert reply.status_code == 403, reply.text


def test_a_safe_pointing_out_of_the_root_is_refused(confined: Engine, folders: tuple[Path, Path]) -> None:
    root, outside = folders
    safe = make_safe(root / "s2")
    mtd = safe / "MTD_MSIL2A.xml"
    image = next(safe.rglob("*_B04_10m.jp2"))
    moved = outside / image.name
    shutil.move(image, moved)
    rel = image.relative_to(safe).as_posix()[:-4]
    mtd.write_text(mtd.read_text().replace(rel, str(moved)[:-4]))
    reply = _analyse(confined, safe)
    assert reply.status_code == 403, reply.text


@pytest.mark.parametrize("path", ["/vsicurl/http://example.com/a.tif", "/vsizip//etc/x.zip/a.tif"])
def test_gdal_virtual_paths_are_refused(confined: Engine, path: str) -> None:
    assert _analyse(confined, path).status_code == 403


def test_a_disguised_vrt_is_recognised_by_its_content(confined: Engine, folders: tuple[Path, Path]) -> None:
    """A VRT named .tif, its source relative in a spelling GDAL accepts (relativetovrt="01")."""
    root, outside = folders
    disguised = root / "innocent_2024-05-01.tif"
    relative = Path("..") / outside.name / "secret_2024-05-01.tif"
    disguised.write_text(_vrt(relative).replace('relativeToVRT="0"', 'relativetovrt="01"'))
    reply = _analyse(confined, disguised)
    assert reply.status_code == 403 and reply.json()["error"]["code"] == "path_not_allowed", reply.text


def test_a_vrt_with_a_network_source_is_refused(confined: Engine, folders: tuple[Path, Path]) -> None:
    root, _ = folders
    remote = root / "remote_2024-05-01.vrt"
    remote.write_text(_vrt(Path("/vsicurl/http://example.com/a.tif")))
    assert _analyse(confined, remote).status_code == 403


def test_an_mtl_band_that_is_a_fifo_is_refused_without_blocking(confined: Engine, folders: tuple[Path, Path],
                                                                tmp_path: Path) -> None:
    import os

    root, _ = folders
    product = root / ("fifo_" + L7.name)
    shutil.copytree(L7, product)
    band = next(product.glob("*_B4.TIF"))
    band.unlink()
    os.mkfifo(band)  # opening it would block a worker for ever
    reply = _analyse(confined, product)
    assert reply.status_code == 403 and "regular file" in reply.json()["error"]["message"], reply.text
