"""Which files a layer reads, all of them: band files, masks, and what VRTs point at (for root confinement).

A service confined to ``--root`` folders must refuse a layer that would read a
file elsewhere, however it gets there: a Landsat MTL's ``FILE_NAME_BAND_*`` or
a Sentinel-2 ``IMAGE_FILE`` pointing out of the folder, a VRT whose sources
(raw ones included: a VRT can expose any file's bytes) lie outside, or a GDAL
virtual file system path (``/vsicurl/``, ``/vsizip/``...) whose target cannot
be checked. Side-car files (``.aux.xml``, ``.ovr``, ``.msk``) sit beside the
files checked, so they are inside when those are.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.errors import PathNotAllowedError
from engine.scene.product import Product

MAX_VRT_DEPTH = 8  # VRTs of VRTs: deeper than this is refused rather than followed


def referenced_files(product: Product) -> Iterator[str]:
    """Every file ``product`` reads, as GDAL will open it (VRT sources followed)."""
    files = {b.path for b in product.bands.values()} | ({product.mask.path} if product.mask else set())
    for path in sorted(files):
        yield from _with_sources(str(path), 0)


def _with_sources(path: str, depth: int) -> Iterator[str]:
    yield path
    if path.startswith("/vsi") or not path.lower().endswith(".vrt"):
        return
    if depth >= MAX_VRT_DEPTH:
        raise PathNotAllowedError(f"{path}: VRTs nested more than {MAX_VRT_DEPTH} deep")
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise PathNotAllowedError(f"{path}: a VRT that cannot be read to check its sources ({exc})") from None
    for element in root.iter():
        if element.tag in ("SourceFilename", "SourceDataset") and element.text:
            source = element.text.strip()
            relative = element.get("relativeToVRT", "0") == "1" or element.tag == "SourceDataset"
            if relative and not source.startswith("/"):
                source = str(Path(path).parent / source)
            yield from _with_sources(source, depth + 1)


def check_paths(paths: Iterator[str] | list[str], allows: Callable[[Path], bool], what: str) -> None:
    """Raise ``PathNotAllowedError`` unless every path is allowed (VRT sources followed)."""
    for start in paths:
        for path in _with_sources(str(start), 0):
            if path.startswith("/vsi"):
                raise PathNotAllowedError(f"{what} reads {path.split('/', 2)[1] if '/' in path else path} "
                                          "(a GDAL virtual file system), which a confined service cannot check")
            if not allows(Path(path)):
                raise PathNotAllowedError(f"{what} reads {path}, outside the folders this service may read")


def check_confined(product: Product, allows: Callable[[Path], bool]) -> None:
    """Raise ``PathNotAllowedError`` unless every file ``product`` reads is allowed."""
    check_paths(list(referenced_files(product)), allows, product.name)
