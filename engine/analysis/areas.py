"""Pixel areas and area units: the one place where areas are computed and converted.

Every pixel's area is its footprint's area on the CRS's own ellipsoid
(pyproj.Geod), never the projection's nominal pixel size: Web Mercator
inflates areas by 1/cos²φ (+53 % at 36°N), a Gauss-Krüger zone grows away
from its central meridian, and only equal-area projections keep the nominal
size. A window's areas are held as a row factor times a column factor
(``PixelAreas``): exact per row for north-up geographic grids (the area of a
band of latitude), and sampled on a lattice of pixel blocks and interpolated
for every other CRS. Areas are kept in m² everywhere and converted only for
display.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from pyproj import CRS, Geod, Transformer
from rasterio.windows import Window

from engine.scene.product import Grid
from engine.units import M2_PER_HA, M2_PER_KM2, M2_PER_MU, AreaUnit, all_units

__all__ = ["M2_PER_HA", "M2_PER_KM2", "M2_PER_MU", "AreaUnit", "PixelAreas", "all_units", "format_area", "pixel_areas"]

log = logging.getLogger(__name__)

LATTICE = 17  # sample points per side for non-geographic grids (the area scale is smooth)
BLOCK_PX = 16  # side of the pixel block whose footprint is measured at each sample
MASK_BLOCK_ROWS = 256  # rows of a mask summed at once by ``PixelAreas.of_mask``
SEPARABLE_TOLERANCE = 1e-4  # relative misfit of the row x column model that is logged


@dataclass(frozen=True)
class PixelAreas:
    """The ground area of every pixel of a window: ``rows_m2[r] * cols[c]`` m² for pixel (r, c)."""

    rows_m2: np.ndarray  # (height,) float64: area of a pixel of each row at the reference column
    cols: np.ndarray  # (width,) float64: dimensionless column factor, 1 at the reference column
    method: str  # how they were computed, as the facts record it

    @classmethod
    def uniform(cls, area_m2: float, height: int, width: int, method: str = "uniform") -> PixelAreas:
        return cls(np.full(height, float(area_m2)), np.ones(width), method)

    @property
    def total_m2(self) -> float:
        return float(self.rows_m2.sum() * self.cols.sum())

    def block(self, rows: slice, cols: slice) -> np.ndarray:
        """Per-pixel areas of a sub-block (2-D, float64)."""
        return np.outer(self.rows_m2[rows], self.cols[cols])

    def of_mask(self, mask: np.ndarray, rows: slice = slice(None), cols: slice = slice(None)) -> float:
        """Area of the True pixels of ``mask``, which covers ``rows`` x ``cols`` of the window.

        Summed a block of rows at a time, so no float copy of the whole mask is made.
        """
        col_f, row_m2 = self.cols[cols], self.rows_m2[rows]
        total = 0.0
        for r0 in range(0, mask.shape[0], MASK_BLOCK_ROWS):
            block = mask[r0:r0 + MASK_BLOCK_ROWS]
            total += float((block @ col_f) @ row_m2[r0:r0 + block.shape[0]])
        return total

    def sub(self, rows: slice, cols: slice) -> PixelAreas:
        return PixelAreas(self.rows_m2[rows], self.cols[cols], self.method)


def pixel_areas(grid: Grid, window: Window) -> PixelAreas:
    """The ellipsoidal area of every pixel of ``window`` of ``grid``."""
    crs = CRS.from_user_input(grid.crs.to_wkt())
    rows, cols = int(window.height), int(window.width)
    t = grid.transform
    geod = crs.get_geod() or Geod(ellps="WGS84")
    ellipsoid = crs.ellipsoid.name if crs.ellipsoid is not None else "WGS 84"
    nominal = abs(t.a * t.e - t.b * t.d)
    if crs.is_geographic and t.b == 0 and t.d == 0:
        out = np.empty(rows)
        for i in range(rows):
            lat_top = t.f + t.e * (int(window.row_off) + i)
            lons = [t.c, t.c + t.a, t.c + t.a, t.c]
            lats = [lat_top, lat_top, lat_top + t.e, lat_top + t.e]
            out[i] = abs(geod.polygon_area_perimeter(lons, lats)[0])
        return PixelAreas(out, np.ones(cols), f"ellipsoidal: geodesic area of each row's pixels on the {ellipsoid} "
                                             "ellipsoid (pyproj)")
    r_samples = _samples(rows)
    c_samples = _samples(cols)
    lattice = _lattice_areas(grid, window, crs, geod, r_samples, c_samples)  # (len(r), len(c)) m² per pixel
    ic, jc = len(r_samples) // 2, len(c_samples) // 2
    row_ref = lattice[:, jc]
    col_ref = lattice[ic, :] / lattice[ic, jc]
    misfit = float(np.max(np.abs(np.outer(row_ref, col_ref) / lattice - 1)))
    if misfit > SEPARABLE_TOLERANCE:
        log.warning("pixel areas over this extent are only approximately separable (%.3f%% misfit)", misfit * 100)
    rows_m2 = np.interp(np.arange(rows) + 0.5, r_samples, row_ref)
    col_f = np.interp(np.arange(cols) + 0.5, c_samples, col_ref)
    method = (f"ellipsoidal: geodesic areas of pixel footprints on the {ellipsoid} ellipsoid (pyproj), sampled on "
              f"a {len(r_samples)}x{len(c_samples)} lattice")
    if crs.is_projected:
        ratio = nominal * crs.axis_info[0].unit_conversion_factor ** 2 / float(lattice[ic, jc])
        method += f"; the CRS's nominal pixel area is {ratio:.4g}x the true area at the centre"
    return PixelAreas(rows_m2, col_f, method)


def _samples(n: int) -> np.ndarray:
    """Pixel-centre positions of up to ``LATTICE`` evenly spread samples along ``n`` pixels."""
    return np.linspace(0.5, n - 0.5, min(n, LATTICE))


def _lattice_areas(grid: Grid, window: Window, crs: CRS, geod: Geod, r_samples: np.ndarray,
                   c_samples: np.ndarray) -> np.ndarray:
    """Mean pixel area (m²) of a ``BLOCK_PX`` block centred on each lattice sample, from its densified outline."""
    t = grid.transform
    half = BLOCK_PX / 2
    edge = np.linspace(-half, half, 9)[:-1]  # 8 points per side
    ring_c = np.concatenate([edge, np.full(8, half), -edge, np.full(8, -half)])
    ring_r = np.concatenate([np.full(8, -half), edge, np.full(8, half), -edge])
    rr = (r_samples[:, None, None] + int(window.row_off) + ring_r[None, None, :]).repeat(len(c_samples), 1)
    cc = (c_samples[None, :, None] + int(window.col_off) + ring_c[None, None, :]).repeat(len(r_samples), 0)
    xs = t.a * cc + t.b * rr + t.c
    ys = t.d * cc + t.e * rr + t.f
    to_geographic = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    lon, lat = to_geographic.transform(xs.ravel(), ys.ravel())
    lon = np.asarray(lon).reshape(xs.shape)
    lat = np.asarray(lat).reshape(xs.shape)
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise ValueError(f"the extent cannot be mapped to the ellipsoid in {crs.name}; pixel areas are undefined")
    out = np.empty((len(r_samples), len(c_samples)))
    for i in range(len(r_samples)):
        for j in range(len(c_samples)):
            out[i, j] = abs(geod.polygon_area_perimeter(lon[i, j], lat[i, j])[0]) / (BLOCK_PX * BLOCK_PX)
    return out


def format_area(area_m2: float, unit: AreaUnit, language: str = "zh") -> str:
    """A display string, e.g. ``12.5 公顷`` or ``0.13 km²``, with sensible precision."""
    value = unit.from_m2(area_m2)
    digits = 0 if abs(value) >= 1000 or value == 0 else 1 if abs(value) >= 100 else 2 if abs(value) >= 1 else 4
    text = f"{value:,.{digits}f}" if math.isfinite(value) else "?"
    label = unit.label_zh if language == "zh" else unit.label_en
    return f"{text} {label}"
