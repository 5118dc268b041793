"""Overviews for fast display-size reads, built once in a cache, never beside the user's file.

GDAL reads a decimated window from overviews when they exist. Files without
internal or external overviews get a small VRT in the engine's cache folder that
points at the original file, and GDAL builds ``<key>.vrt.ovr`` next to that VRT.
The user's folder is never written to. The cache key is the file's absolute
path, size and modification time, so an edited file gets fresh overviews.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import rasterio
from filelock import FileLock
from rasterio.enums import Resampling

from engine.cachefs import LOCK_TIMEOUT_S, fault
from engine.errors import CacheWarning
from engine.scene.rasterio_io import gdal_env, open_raster

log = logging.getLogger(__name__)

#: Files whose largest side is below this are read directly; overviews would not pay off.
MIN_SIDE_FOR_OVERVIEWS = 4096
#: Overview levels stop when the smallest is below this many pixels on its longest side.
SMALLEST_OVERVIEW_SIDE = 256

_GDAL_TYPES = {
    "uint8": "Byte", "int8": "Int8", "uint16": "UInt16", "int16": "Int16", "uint32": "UInt32",
    "int32": "Int32", "float32": "Float32", "float64": "Float64",
}

BuildProgress = Callable[[float, int], None]  # (elapsed seconds, bytes written)


def cache_dir() -> Path:
    """The engine's cache folder: ``$LANDUSE_CACHE_DIR`` or ``~/.cache/county-landuse``."""
    root = os.environ.get("LANDUSE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "county-landuse"
    )
    return Path(root)


def _key(path: Path) -> str:
    stat = path.stat()
    ident = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha1(ident.encode()).hexdigest()[:20]


def has_overviews(src: rasterio.io.DatasetReader) -> bool:
    return bool(src.overviews(1))


def needs_overviews(path: str) -> bool:
    with open_raster(path) as src:
        return max(src.width, src.height) >= MIN_SIDE_FOR_OVERVIEWS and not has_overviews(src)


SMALLEST_LEVEL = 4  # a level-2 overview would cost a quarter of the file for little gain


def overview_levels(width: int, height: int) -> list[int]:
    """Levels from ``SMALLEST_LEVEL`` up, doubling."""
    levels, factor = [], SMALLEST_LEVEL
    while max(width, height) / factor >= SMALLEST_OVERVIEW_SIDE:
        levels.append(factor)
        factor *= 2
    return levels or [SMALLEST_LEVEL]


def _vrt_xml(src: rasterio.io.DatasetReader, path: Path) -> str:
    gt = ",".join(repr(v) for v in src.transform.to_gdal())
    srs = f"<SRS>{escape(src.crs.to_wkt())}</SRS>" if src.crs else ""
    bands = []
    for i in src.indexes:
        nodata = src.nodatavals[i - 1]
        nd = f"<NoDataValue>{nodata!r}</NoDataValue>" if nodata is not None else ""
        bands.append(
            f'<VRTRasterBand dataType="{_GDAL_TYPES[src.dtypes[i - 1]]}" band="{i}">{nd}'
            f'<SimpleSource><SourceFilename relativeToVRT="0">{escape(str(path))}</SourceFilename>'
            f"<SourceBand>{i}</SourceBand></SimpleSource></VRTRasterBand>"
        )
    return (f'<VRTDataset rasterXSize="{src.width}" rasterYSize="{src.height}">{srs}'
            f"<GeoTransform>{gt}</GeoTransform>{''.join(bands)}</VRTDataset>")


def cached_overview_path(path: str, progress: BuildProgress | None = None) -> str:
    """A path to read ``path`` through, with overviews; builds them once if missing.

    Safe across processes and crashes: a file lock makes a second process wait for the first build; the build
    goes to unique temporary names, is checked (every level opens and reads), and only then is renamed into
    place, overviews first and the VRT last. A VRT whose overviews are missing or unreadable is rebuilt.
    """
    source = Path(path).resolve()
    folder = cache_dir() / "overviews"
    folder.mkdir(parents=True, exist_ok=True)
    key = _key(source)
    vrt = folder / f"{key}.vrt"
    ovr = folder / f"{key}.vrt.ovr"
    with FileLock(str(folder / f"{key}.lock"), timeout=LOCK_TIMEOUT_S):
        if vrt.exists() and ovr.exists():
            if _readable(vrt):
                return str(vrt)
            _report_damage(key, folder)
        vrt.unlink(missing_ok=True)  # the VRT goes first: without it the overviews are never used
        ovr.unlink(missing_ok=True)
        stem = f".{key}.{uuid.uuid4().hex}.tmp"
        vrt_tmp, ovr_tmp = folder / f"{stem}.vrt", folder / f"{stem}.vrt.ovr"
        try:
            with open_raster(source) as src:
                levels = overview_levels(src.width, src.height)
                vrt_tmp.write_text(_vrt_xml(src, source))
            log.info("building overviews %s for %s in %s", levels, source.name, folder)
            _build(vrt_tmp, levels, progress)
            if not _readable(vrt_tmp):
                raise OSError(f"the overviews built for {source.name} cannot be read back")
            fault("overview:before-commit")
            os.replace(ovr_tmp, ovr)
            os.replace(vrt_tmp, vrt)
        finally:
            vrt_tmp.unlink(missing_ok=True)
            ovr_tmp.unlink(missing_ok=True)
    return str(vrt)


def _readable(vrt: Path) -> bool:
    """Every overview level of ``vrt`` opens, and its smallest level reads whole."""
    try:
        with gdal_env(), rasterio.open(vrt) as src:
            levels = src.overviews(1)
            if not levels:
                return False
            with rasterio.open(vrt, overview_level=len(levels) - 1) as small:
                small.read()
        return True
    except (OSError, rasterio.errors.RasterioError, ValueError) as exc:
        log.info("overviews of %s unreadable: %s", vrt.name, exc)
        return False


def _report_damage(key: str, folder: Path) -> None:
    message = f"cached overviews {key} in {folder} are damaged; rebuilding them"
    warnings.warn(message, CacheWarning, stacklevel=3)
    log.warning(message)


def _build(vrt: Path, levels: list[int], progress: BuildProgress | None) -> None:
    """Build external overviews for ``vrt``; report elapsed time and bytes while GDAL works."""
    error: list[BaseException] = []

    def work() -> None:
        try:
            with gdal_env(COMPRESS_OVERVIEW="DEFLATE", BIGTIFF_OVERVIEW="IF_SAFER",
                          INTERLEAVE_OVERVIEW="PIXEL"), rasterio.open(vrt, "r+") as ds:
                ds.build_overviews(levels, Resampling.average)
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=work, name="build-overviews")
    start = time.monotonic()
    thread.start()
    ovr = vrt.with_name(vrt.name + ".ovr")
    while thread.is_alive():
        thread.join(0.2)
        if ovr.exists():
            fault("overview:building")  # (crash tests: dies once GDAL has started writing)
        if progress is not None:
            progress(time.monotonic() - start, ovr.stat().st_size if ovr.exists() else 0)
    if error:
        raise error[0]
