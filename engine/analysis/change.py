"""Change between two class maps: a minimum mapping unit, patches and the transition matrix.

A change patch is a connected (8-neighbour) group of pixels with the same
transition (from class -> to class), both dates valid. Patches smaller than the
minimum mapping unit (default 0.5 ha) are speckle: they are dropped before
patches are counted and before transition areas are summed.

To stay fast and small on 10980² scenes, components of equal transition are
labelled in one compiled pass that also gathers each one's area, bounding box
and centroid (``kernels.label_same_code``); the only full-size arrays are the
uint8 codes and one int32 label image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from affine import Affine
from rasterio import features
from rasterio.windows import Window
from scipy import ndimage
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from engine.analysis import kernels
from engine.analysis.areas import PixelAreas
from engine.analysis.classes import LandCover

_SHIFT = kernels.SHIFT  # transition code = from * 8 + to (classes fit in 3 bits)


@dataclass(frozen=True, eq=False)
class Patch:
    """One change patch, in pixels of the analysed window."""

    class_from: LandCover
    class_to: LandCover
    area_m2: float
    pixels: int
    rows: slice  # bounding box in the window
    cols: slice
    centroid_px: tuple[float, float]  # (col, row) in window pixels, pixel centres at +0.5
    mask: np.ndarray = field(repr=False)  # bool, the patch's pixels inside its bounding box

    def outline_px(self, fill_holes_px: int = 0) -> BaseGeometry:
        """The patch outline in window pixel coordinates (col, row), vectorised on demand.

        Holes of fewer than ``fill_holes_px`` pixels (unchanged speckle inside the
        patch) are filled in the outline; ``area_m2`` stays the measured pixels.
        """
        mask = self.mask
        if fill_holes_px > 0:
            holes, n = ndimage.label(ndimage.binary_fill_holes(mask) & ~mask)
            if n:
                sizes = np.bincount(holes.ravel(), minlength=n + 1)
                small = sizes < fill_holes_px
                small[0] = False
                mask = mask | small[holes]
        return _outline(mask, self.rows.start, self.cols.start)


@dataclass
class Change:
    """Transitions (after the minimum mapping unit) and the patches that make them up."""

    window: Window
    transitions: dict[tuple[LandCover, LandCover], float]  # area_m2, from != to
    patches: list[Patch] = field(default_factory=list)
    mmu_m2: float = 0.0
    speckle_m2: float = 0.0  # changed area removed by the minimum mapping unit
    codes: np.ndarray | None = None  # transition code per pixel after MMU (0 = no change), for vectorising

    def net_change_m2(self) -> dict[LandCover, float]:
        net: dict[LandCover, float] = {}
        for (a, b), area in self.transitions.items():
            net[a] = net.get(a, 0.0) - area
            net[b] = net.get(b, 0.0) + area
        return net


def transition_codes(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """``from * 8 + to`` where both dates are valid and differ, else 0 (uint8)."""
    codes = np.empty(before.shape, np.uint8)
    kernels.by_row_blocks(lambda r: kernels.transition_codes(before[r], after[r], codes[r]), before.shape[0])
    return codes


def _outline(mask: np.ndarray, row0: int, col0: int) -> BaseGeometry:
    """The pixel outline of ``mask`` as a (multi)polygon in window pixel coordinates."""
    polygons = [shape(geom) for geom, value in features.shapes(mask.astype(np.uint8), mask=mask,
                                                              connectivity=8, transform=Affine.translation(col0, row0))
                if value == 1]
    return unary_union(polygons)


def detect_change(before: np.ndarray, after: np.ndarray, window: Window, areas: PixelAreas,
                  mmu_m2: float = 5000.0) -> Change:
    """Transitions and patches between two class maps of the same window."""
    if before.shape != after.shape:
        raise ValueError(f"class maps differ in shape: {before.shape} vs {after.shape}")
    return detect_change_codes(transition_codes(before, after), window, areas, mmu_m2)


def detect_change_codes(codes: np.ndarray, window: Window, areas: PixelAreas,
                        mmu_m2: float = 5000.0) -> Change:
    """Transitions and patches from transition codes (``transition_codes``); ``codes`` is updated in place."""
    labels = np.zeros(codes.shape, np.int32)
    comp = kernels.label_same_code(codes, areas, labels)
    kept = comp.area_m2 >= mmu_m2
    keep = np.concatenate([[False], kept])
    kernels.by_row_blocks(lambda r: kernels.clear_unkept(codes[r], labels[r], keep), codes.shape[0])
    result = Change(window=window, transitions={}, mmu_m2=mmu_m2, speckle_m2=float(comp.area_m2[~kept].sum()))
    per_code = np.bincount(comp.code[kept], weights=comp.area_m2[kept], minlength=64)
    for code in np.flatnonzero(per_code):
        result.transitions[(LandCover(int(code) // _SHIFT), LandCover(int(code) % _SHIFT))] = float(per_code[code])
    for j in np.flatnonzero(kept):
        rows = slice(int(comp.row_min[j]), int(comp.row_max[j]) + 1)
        cols = slice(int(comp.col_min[j]), int(comp.col_max[j]) + 1)
        code, count = int(comp.code[j]), int(comp.pixels[j])
        result.patches.append(Patch(
            LandCover(code // _SHIFT), LandCover(code % _SHIFT), float(comp.area_m2[j]), count, rows, cols,
            (float(comp.col_sum[j]) / count + 0.5, float(comp.row_sum[j]) / count + 0.5),
            labels[rows, cols] == j + 1))
    result.patches.sort(key=lambda p: p.area_m2, reverse=True)
    result.codes = codes
    return result
