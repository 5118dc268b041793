"""Extents: any CRS in, a pixel window of the product grid out.

The box is transformed with densified edges (a straight edge in one CRS is
curved in another), intersected with the raster, and snapped outward to whole
pixels so every pixel the user can see is read.
"""

from __future__ import annotations

import math

from rasterio._err import CPLE_BaseError  # GDAL's own errors (e.g. no operation between two CRSs)
from rasterio.crs import CRS
from rasterio.errors import CRSError, RasterioError
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds

from engine.errors import ExtentOutsideError, InvalidExtentError
from engine.scene.product import Grid
from engine.scene.rasterio_io import gdal_env
from engine.types import Extent

DENSIFY_POINTS = 21


def parse_crs(text: str) -> CRS:
    try:
        return CRS.from_user_input(text)
    except CRSError as exc:
        raise InvalidExtentError(f"unknown CRS {text!r} ({exc}); use e.g. EPSG:4326") from None


def extent_in_grid_crs(extent: Extent, grid: Grid) -> tuple[float, float, float, float]:
    """``extent`` as (xmin, ymin, xmax, ymax) in the grid's CRS."""
    src_crs = parse_crs(extent.crs)
    if src_crs == grid.crs:
        return extent.as_tuple()
    try:
        with gdal_env():  # GDAL's messages go to the log, not to stderr
            box = transform_bounds(src_crs, grid.crs, *extent.as_tuple(), densify_pts=DENSIFY_POINTS)
    except (RasterioError, CPLE_BaseError, ValueError, RuntimeError) as exc:
        raise InvalidExtentError(
            f"the extent's CRS cannot be transformed to the layer's {grid.crs.to_string()} ({exc.__class__.__name__}); "
            "an engineering or local CRS has no relation to map coordinates: give the extent in the layer's CRS "
            "or in EPSG:4326") from None
    if not all(math.isfinite(v) for v in box):
        raise InvalidExtentError(f"the extent does not map into {grid.crs.to_string()} (it lies outside that CRS)")
    return box


def window_for(grid: Grid, extent: Extent | None) -> Window:
    """The pixel window of ``grid`` covering ``extent`` (whole grid when ``None``)."""
    full = Window(0, 0, grid.width, grid.height)
    if extent is None:
        return full
    box = extent_in_grid_crs(extent, grid)
    gx0, gy0, gx1, gy1 = grid.bounds
    if box[0] >= gx1 or box[2] <= gx0 or box[1] >= gy1 or box[3] <= gy0 or not all(map(math.isfinite, box)):
        raise ExtentOutsideError(
            "the extent does not overlap the raster: extent "
            f"({box[0]:.2f}, {box[1]:.2f}, {box[2]:.2f}, {box[3]:.2f}) vs raster "
            f"({gx0:.2f}, {gy0:.2f}, {gx1:.2f}, {gy1:.2f}) in {grid.crs.to_string()}"
        )
    raw = from_bounds(*box, transform=grid.transform)
    col0 = max(0, math.floor(raw.col_off + 1e-9))
    row0 = max(0, math.floor(raw.row_off + 1e-9))
    col1 = min(grid.width, math.ceil(raw.col_off + raw.width - 1e-9))
    row1 = min(grid.height, math.ceil(raw.row_off + raw.height - 1e-9))
    if col1 <= col0 or row1 <= row0:
        raise ExtentOutsideError(
            f"the extent is smaller than one pixel of the raster after clipping: {box} in {grid.crs.to_string()}"
        )
    return Window(col0, row0, col1 - col0, row1 - row0)
