"""Opening rasters with the engine's errors instead of GDAL's.

Every file the scene stage touches is opened here, so a missing file, a
non-raster and a file without CRS each become one actionable ``EngineError``.
GDAL's block cache is bounded so that memory stays flat whatever the scene size.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import rasterio
from rasterio.errors import RasterioIOError

from engine.errors import LayerNotFoundError, MissingCRSError, NotARasterError
from engine.scene.product import Grid


def gdal_env(**options: object) -> rasterio.Env:
    """A rasterio environment with the engine's thread settings.

    The block cache is bounded by ``GDAL_CACHEMAX`` in the process environment
    (set in ``engine/__init__.py``): passed through ``rasterio.Env`` as a number
    it would be taken as bytes, which disables the cache.
    """
    settings: dict[str, object] = {
        "GDAL_NUM_THREADS": "ALL_CPUS",
        "CPL_LOG": os.devnull,
    }
    settings.update(options)
    return rasterio.Env(**settings)


@contextlib.contextmanager
def open_raster(path: str | Path) -> Iterator[rasterio.io.DatasetReader]:
    """Open ``path`` read-only, turning GDAL failures into engine errors."""
    text = str(path)
    is_local = not text.startswith("/vsi") and not text.lstrip().startswith("<")
    if is_local and not Path(text).exists():
        raise LayerNotFoundError(f"file not found: {text}")
    if is_local and Path(text).is_dir():
        raise NotARasterError(
            f"{text} is a folder that is not a recognised Landsat or Sentinel-2 product; "
            "point at its MTL.txt / MTD_MSI*.xml or at a raster file"
        )
    if is_local and not Path(text).is_file():  # a FIFO or a device: opening it could block for ever
        raise NotARasterError(f"{text} is not a regular file")
    try:
        src = rasterio.open(text)
    except RasterioIOError as exc:
        raise NotARasterError(
            f"{text} is not a raster GDAL can read ({_first_line(exc)}); "
            "give a GeoTIFF, COG, VRT, JP2 or a Landsat/Sentinel-2 product"
        ) from None
    try:
        yield src
    finally:
        src.close()


def grid_of(src: rasterio.io.DatasetReader, assume_crs: str | None = None) -> Grid:
    """The dataset's grid, requiring a CRS (or the user's ``--assume-crs``)."""
    crs = src.crs
    if crs is None or not crs.to_wkt():
        if assume_crs is None:
            raise MissingCRSError(
                f"{src.name} has no coordinate reference system; "
                "tell the engine which one it uses with --assume-crs EPSG:NNNN"
            )
        crs = rasterio.crs.CRS.from_user_input(assume_crs)
    return Grid(crs=crs, transform=src.transform, width=src.width, height=src.height)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
