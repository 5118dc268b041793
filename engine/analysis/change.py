"""Change between two class maps: a minimum mapping unit, patches and the transition matrix.

A change patch is a connected (8-neighbour) group of pixels with the same
transition (from class -> to class), both dates valid. Patches smaller than the
minimum mapping unit (default 0.5 ha) are speckle: they are dropped before
patches are counted and before transition areas are summed.
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

from engine.analysis.classes import LandCover

_EIGHT = np.ones((3, 3), dtype=bool)
_SHIFT = 8  # transition code = from * 8 + to (classes fit in 3 bits)


@dataclass(frozen=True)
class Patch:
    """One change patch, in pixels of the analysed window."""

    class_from: LandCover
    class_to: LandCover
    area_m2: float
    pixels: int
    rows: slice  # bounding box in the window
    cols: slice
    centroid_px: tuple[float, float]  # (col, row) in window pixels, pixel centres at +0.5
    outline_px: BaseGeometry | None = None  # polygon(s) in window pixel coordinates (col, row)


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


def _areas_by_label(labels: np.ndarray, n: int, row_areas_m2: np.ndarray) -> np.ndarray:
    """Area in m² of each label 0..n (row by row, so geographic grids get per-row areas)."""
    if np.all(row_areas_m2 == row_areas_m2[0]):
        return np.bincount(labels.ravel(), minlength=n + 1).astype(float) * row_areas_m2[0]
    out = np.zeros(n + 1)
    for r in range(labels.shape[0]):
        out += np.bincount(labels[r], minlength=n + 1) * row_areas_m2[r]
    return out


def _outline(mask: np.ndarray, row0: int, col0: int) -> BaseGeometry:
    """The pixel outline of ``mask`` as a (multi)polygon in window pixel coordinates."""
    polygons = [shape(geom) for geom, value in features.shapes(mask.astype(np.uint8), mask=mask,
                                                              connectivity=8, transform=Affine.translation(col0, row0))
                if value == 1]
    return unary_union(polygons)


def detect_change(before: np.ndarray, after: np.ndarray, window: Window, row_areas_m2: np.ndarray,
                  mmu_m2: float = 5000.0) -> Change:
    """Transitions and patches between two class maps of the same window."""
    if before.shape != after.shape:
        raise ValueError(f"class maps differ in shape: {before.shape} vs {after.shape}")
    both_valid = (before != LandCover.INVALID) & (after != LandCover.INVALID)
    changed = both_valid & (before != after)
    codes = np.zeros(before.shape, np.uint8)
    codes[changed] = before[changed] * _SHIFT + after[changed]
    del changed, both_valid
    present = np.flatnonzero(np.bincount(codes.ravel(), minlength=64)[1:]) + 1
    result = Change(window=window, transitions={}, mmu_m2=mmu_m2)
    for code in present:
        a, b = LandCover(int(code) // _SHIFT), LandCover(int(code) % _SHIFT)
        labels, n = ndimage.label(codes == code, structure=_EIGHT)
        areas = _areas_by_label(labels, n, row_areas_m2)
        small = np.flatnonzero(areas[1:] < mmu_m2) + 1
        if small.size:
            result.speckle_m2 += float(areas[small].sum())
            drop = np.zeros(n + 1, bool)
            drop[small] = True
            codes[drop[labels]] = 0
        kept = np.flatnonzero(areas[1:] >= mmu_m2) + 1
        if kept.size == 0:
            continue
        result.transitions[(a, b)] = float(areas[kept].sum())
        boxes = ndimage.find_objects(labels)
        counts = np.bincount(labels.ravel(), minlength=n + 1)
        # weights = the label itself: constant inside each patch, so this is the plain centroid
        centroids = ndimage.center_of_mass(labels, labels, kept)
        for label, (cy, cx) in zip(kept, centroids, strict=True):
            rows, cols = boxes[label - 1]
            outline = _outline(labels[rows, cols] == label, rows.start, cols.start)
            result.patches.append(Patch(a, b, float(areas[label]), int(counts[label]), rows, cols,
                                        (float(cx) + 0.5, float(cy) + 0.5), outline))
        del labels
    result.patches.sort(key=lambda p: p.area_m2, reverse=True)
    result.codes = codes
    return result
