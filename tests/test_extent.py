"""Extents in any CRS become whole-pixel windows that cover them and stay inside the raster."""

from __future__ import annotations

import math

import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.crs import CRS
from rasterio.warp import transform_bounds
from rasterio.windows import bounds as window_bounds

from engine.errors import ExtentOutsideError, InvalidExtentError
from engine.scene.extent import window_for
from engine.scene.product import Grid
from engine.types import Extent

GRID = Grid(crs=CRS.from_epsg(32648), transform=Affine(10, 0, 500000, 0, -10, 4000000), width=1000, height=800)


@settings(max_examples=200, deadline=None)
@given(
    x0=st.floats(499000, 511000), y0=st.floats(3991000, 4001000),
    w=st.floats(0.5, 12000), h=st.floats(0.5, 12000),
)
def test_window_covers_extent_and_stays_in_grid(x0: float, y0: float, w: float, h: float) -> None:
    extent = Extent(x0, y0, x0 + w, y0 + h, "EPSG:32648")
    gx0, gy0, gx1, gy1 = GRID.bounds
    overlaps = extent.xmin < gx1 and extent.xmax > gx0 and extent.ymin < gy1 and extent.ymax > gy0
    if not overlaps:
        with pytest.raises(ExtentOutsideError):
            window_for(GRID, extent)
        return
    try:
        win = window_for(GRID, extent)
    except ExtentOutsideError:
        # only an overlap thinner than float noise may be refused
        assert min(extent.xmax, gx1) - max(extent.xmin, gx0) < 1e-6 or min(extent.ymax, gy1) - max(
            extent.ymin, gy0) < 1e-6
        return
    assert win.col_off >= 0 and win.row_off >= 0
    assert win.col_off + win.width <= GRID.width and win.row_off + win.height <= GRID.height
    assert win.col_off == int(win.col_off) and win.width == int(win.width)
    left, bottom, right, top = window_bounds(win, GRID.transform)
    # covers the part of the extent inside the raster, with less than one pixel to spare on each side
    assert left <= max(extent.xmin, gx0) + 1e-6 and right >= min(extent.xmax, gx1) - 1e-6
    assert bottom <= max(extent.ymin, gy0) + 1e-6 and top >= min(extent.ymax, gy1) - 1e-6
    assert left > max(extent.xmin, gx0) - 10 and right < min(extent.xmax, gx1) + 10


def test_geographic_extent_is_transformed_with_densified_edges() -> None:
    lonlat = transform_bounds("EPSG:32648", "EPSG:4326", 501000, 3995000, 505000, 3998000)
    win = window_for(GRID, Extent(*lonlat, crs="EPSG:4326"))
    left, bottom, right, top = window_bounds(win, GRID.transform)
    assert left <= 501000 and right >= 505000 and bottom <= 3995000 and top >= 3998000
    # the curved edges add at most a few pixels
    assert win.width <= 400 + 4 and win.height <= 300 + 4


def test_outside_extent_reports_both_extents_in_one_crs() -> None:
    with pytest.raises(ExtentOutsideError) as info:
        window_for(GRID, Extent(100.0, 30.0, 100.1, 30.1, "EPSG:4326"))
    message = str(info.value)
    assert "EPSG:32648" in message and "500000.00" in message
    numbers = [float(n) for n in __import__("re").findall(r"-?\d+\.\d+", message)]
    assert len(numbers) == 8 and all(math.isfinite(n) for n in numbers)


@pytest.mark.parametrize("box", [(1, 0, 0, 1), (0, 1, 1, 1)])
def test_malformed_extent(box: tuple[float, float, float, float]) -> None:
    with pytest.raises(InvalidExtentError):
        Extent(*box, crs="EPSG:4326")


def test_unknown_crs() -> None:
    with pytest.raises(InvalidExtentError, match="unknown CRS"):
        window_for(GRID, Extent(0, 0, 1, 1, crs="EPSG:999999"))
