"""Which files a layer reads, all of them, checked before any is opened (root confinement of the service).

A service confined to ``--root`` folders must refuse a layer that would read a
file elsewhere, however it gets there: a Landsat MTL's ``FILE_NAME_*`` or a
Sentinel-2 ``IMAGE_FILE`` pointing out of the folder, a VRT (recognised by its
content, whatever its name) whose sources lie outside (raw ones too: a VRT can
expose any file's bytes), or a GDAL virtual file system path (``/vsicurl/``,
``/vsizip/``...) whose target cannot be checked. Metadata references are read
from the text and VRT sources from the XML before GDAL opens anything; then
each file GDAL would open is opened with the network drivers skipped and
every file GDAL lists for it (sources, side-cars) is checked too. Anything that
is not a regular file (a FIFO, a device) is refused: opening it could block.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import rasterio

from engine.errors import PathNotAllowedError
from engine.scene.product import Product

MAX_VRT_DEPTH = 8  # VRTs of VRTs: deeper than this is refused rather than followed
# drivers that reach the network or other files from a small local file: skipped when a file is checked, so such a
# file does not open here and is refused before the analysis could open it
REMOTE_DRIVERS = "WMS WMTS WCS HTTP DAAS EEDAI OGCAPI PLMOSAIC STACIT STACTA NGW RASTERLITE GPKG PostGISRaster"
_MTL_FILE = re.compile(r'^\s*FILE_NAME_\w+\s*=\s*"?([^"\r\n]+?)"?\s*$', re.MULTILINE)
_SAFE_FILE = re.compile(r"<IMAGE_FILE>\s*([^<\s]+)\s*</IMAGE_FILE>")


def _is_vrt(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return b"<vrtdataset" in f.read(4096).lower()
    except OSError:
        return False


def _relative(element: ET.Element) -> bool:
    """GDAL reads ``relativeToVRT`` case-insensitively and its value as an integer."""
    for name, value in element.attrib.items():
        if name.lower() == "relativetovrt":
            digits = re.match(r"\s*[-+]?\d+", value)
            return bool(digits) and int(digits.group(0)) != 0
    return False


def _with_sources(path: str, depth: int) -> Iterator[str]:
    yield path
    if path.startswith("/vsi") or not _is_vrt(path):
        return
    if depth >= MAX_VRT_DEPTH:
        raise PathNotAllowedError(f"{path}: VRTs nested more than {MAX_VRT_DEPTH} deep")
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise PathNotAllowedError(f"{path}: a VRT that cannot be read to check its sources ({exc})") from None
    for element in root.iter():
        if element.tag.lower() in ("sourcefilename", "sourcedataset") and element.text:
            source = element.text.strip()
            if (_relative(element) or element.tag.lower() == "sourcedataset") and not source.startswith("/"):
                source = os.path.join(os.path.dirname(path), source)
            yield from _with_sources(source, depth + 1)


def metadata_references(path: Path) -> list[str]:
    """Files a product's metadata names (an MTL's ``FILE_NAME_*``, a SAFE's ``IMAGE_FILE``), as paths."""
    candidates = [path] if path.is_file() else [*path.glob("*_MTL.txt"), *path.glob("MTD_MSI*.xml")]
    out = []
    for meta in candidates:
        name = meta.name.upper()
        if not (name.endswith("_MTL.TXT") or name.startswith("MTD_MSI")):
            continue
        try:
            text = meta.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if name.endswith("_MTL.TXT"):
            out += [os.path.join(meta.parent, f) for f in _MTL_FILE.findall(text)]
        else:
            out += [os.path.join(meta.parent, f) + ext for f in _SAFE_FILE.findall(text) for ext in (".jp2", ".tif")]
    return out


def check_paths(paths: Iterable[str], allows: Callable[[Path], bool], what: str) -> None:
    """Raise ``PathNotAllowedError`` unless every path (VRT sources followed) is allowed and a plain file."""
    for start in paths:
        for path in _with_sources(str(start), 0):
            if path.startswith("/vsi"):
                raise PathNotAllowedError(f"{what} reads {path.split('/', 2)[1] if '/' in path else path} "
                                          "(a GDAL virtual file system), which a confined service cannot check")
            if not allows(Path(path)):
                raise PathNotAllowedError(f"{what} reads {path}, outside the folders this service may read")
            if os.path.exists(path) and not (os.path.isfile(path) or os.path.isdir(path)):
                raise PathNotAllowedError(f"{what} reads {path}, which is not a regular file")


def check_request(path: Path, allows: Callable[[Path], bool]) -> None:
    """Before anything is opened: the path, what its metadata names, and VRT sources."""
    # every reference, existing or not: a missing file outside the roots is refused alike (no existence oracle)
    check_paths([str(path), *metadata_references(path)], allows, path.name)


def check_confined(product: Product, allows: Callable[[Path], bool]) -> None:
    """Every file ``product`` reads, as GDAL lists them (network drivers skipped), is allowed."""
    files = sorted({str(b.path) for b in product.bands.values()}
                   | ({str(product.mask.path)} if product.mask else set()))
    check_paths(files, allows, product.name)
    for path in files:
        try:
            with rasterio.Env(GDAL_SKIP=REMOTE_DRIVERS), rasterio.open(path) as src:
                listed = list(src.files)
        except rasterio.errors.RasterioError as exc:
            raise PathNotAllowedError(f"{product.name}: {path} is not a raster this service reads ({exc})") from None
        check_paths(listed, allows, product.name)
