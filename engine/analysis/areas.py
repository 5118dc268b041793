"""Pixel areas and area units: the one place where areas are computed and converted.

Projected CRS: a pixel's area is |det(transform)| times the square of the
linear unit. Geographic CRS: each row's pixels have their own geodesic area on
the WGS84 ellipsoid (pyproj.Geod), never degrees treated as metres. Areas are
kept in m² everywhere and converted only for display.
"""

from __future__ import annotations

import enum
import math

import numpy as np
from pyproj import Geod
from rasterio.windows import Window

from engine.scene.product import Grid

M2_PER_MU = 10000.0 / 15.0  # 1 亩 = 666.67 m²
M2_PER_HA = 10000.0
M2_PER_KM2 = 1_000_000.0


class AreaUnit(enum.StrEnum):
    M2 = "m2"
    HA = "ha"
    KM2 = "km2"
    MU = "mu"

    @property
    def m2(self) -> float:
        return {AreaUnit.M2: 1.0, AreaUnit.HA: M2_PER_HA, AreaUnit.KM2: M2_PER_KM2, AreaUnit.MU: M2_PER_MU}[self]

    @property
    def label_zh(self) -> str:
        return {AreaUnit.M2: "平方米", AreaUnit.HA: "公顷", AreaUnit.KM2: "平方公里", AreaUnit.MU: "亩"}[self]

    @property
    def label_en(self) -> str:
        return {AreaUnit.M2: "m²", AreaUnit.HA: "ha", AreaUnit.KM2: "km²", AreaUnit.MU: "mu"}[self]

    def from_m2(self, area_m2: float) -> float:
        return area_m2 / self.m2


def all_units(area_m2: float) -> dict[str, float]:
    """``area_m2`` in every unit, keyed as in the facts (``area_m2``, ``area_ha``, ...)."""
    return {f"area_{u.value}": u.from_m2(area_m2) for u in AreaUnit}


def row_pixel_areas_m2(grid: Grid, window: Window) -> np.ndarray:
    """Area in m² of one pixel in each row of ``window`` (shape (rows,))."""
    rows = int(window.height)
    t = grid.transform
    if not grid.crs.is_geographic:
        factor = grid.crs.linear_units_factor[1] if grid.crs.linear_units_factor else 1.0
        return np.full(rows, abs(t.a * t.e - t.b * t.d) * factor * factor)
    if t.b != 0 or t.d != 0:
        raise ValueError("rotated geographic grids are not supported for areas")
    geod = Geod(ellps="WGS84")
    lon0 = t.c
    out = np.empty(rows)
    for i in range(rows):
        r = int(window.row_off) + i
        lat_top = t.f + t.e * r
        lat_bottom = lat_top + t.e
        lons = [lon0, lon0 + t.a, lon0 + t.a, lon0]
        lats = [lat_top, lat_top, lat_bottom, lat_bottom]
        area, _ = geod.polygon_area_perimeter(lons, lats)
        out[i] = abs(area)
    return out


def pixel_area_m2(grid: Grid) -> float:
    """Area of one pixel at the grid's centre row (exact for projected CRSs)."""
    centre = Window(0, grid.height // 2, grid.width, 1)
    return float(row_pixel_areas_m2(grid, centre)[0])


def format_area(area_m2: float, unit: AreaUnit, language: str = "zh") -> str:
    """A display string, e.g. ``12.5 公顷`` or ``0.13 km²``, with sensible precision."""
    value = unit.from_m2(area_m2)
    digits = 0 if abs(value) >= 1000 or value == 0 else 1 if abs(value) >= 100 else 2 if abs(value) >= 1 else 4
    text = f"{value:,.{digits}f}" if math.isfinite(value) else "?"
    label = unit.label_zh if language == "zh" else unit.label_en
    return f"{text} {label}"
