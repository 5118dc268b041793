"""Change between two class maps: a minimum mapping unit, patches and the transition matrix.

A change patch is a connected (8-neighbour) group of pixels with the same
transition (from class -> to class), both dates valid. Patches smaller than the
minimum mapping unit (default 0.5 ha) are speckle: they are dropped before
patches are counted and before transition areas are summed.

To stay fast and small on 10980² scenes, changed pixels of any transition are
labelled once (one int32 label image); only the few components that mix
transitions are split again, inside their bounding boxes. Full-image passes
run in strips of rows, so no other full-size temporary is made.
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

from engine.analysis.areas import area_by_value
from engine.analysis.classes import LandCover

_EIGHT = np.ones((3, 3), dtype=bool)
_SHIFT = 8  # transition code = from * 8 + to (classes fit in 3 bits)


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


_STRIP = 256  # rows per strip for full-image passes


def transition_codes(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """``from * 8 + to`` where both dates are valid and differ, else 0 (uint8)."""
    codes = np.zeros(before.shape, np.uint8)
    for r0 in range(0, before.shape[0], _STRIP):
        b, a = before[r0:r0 + _STRIP], after[r0:r0 + _STRIP]
        changed = (b != LandCover.INVALID) & (a != LandCover.INVALID) & (b != a)
        codes[r0:r0 + _STRIP] = np.where(changed, b * _SHIFT + a, 0)
    return codes


def _outline(mask: np.ndarray, row0: int, col0: int) -> BaseGeometry:
    """The pixel outline of ``mask`` as a (multi)polygon in window pixel coordinates."""
    polygons = [shape(geom) for geom, value in features.shapes(mask.astype(np.uint8), mask=mask,
                                                              connectivity=8, transform=Affine.translation(col0, row0))
                if value == 1]
    return unary_union(polygons)


def _patch(code: int, mask: np.ndarray, area_m2: float, rows: slice, cols: slice) -> Patch:
    """A patch from its transition code and its pixel mask inside the bounding box (rows, cols)."""
    ys, xs = np.nonzero(mask)
    return Patch(LandCover(code // _SHIFT), LandCover(code % _SHIFT), area_m2, int(ys.size), rows, cols,
                 (float(xs.mean()) + cols.start + 0.5, float(ys.mean()) + rows.start + 0.5), mask.copy())


def detect_change(before: np.ndarray, after: np.ndarray, window: Window, row_areas_m2: np.ndarray,
                  mmu_m2: float = 5000.0) -> Change:
    """Transitions and patches between two class maps of the same window."""
    if before.shape != after.shape:
        raise ValueError(f"class maps differ in shape: {before.shape} vs {after.shape}")
    return detect_change_codes(transition_codes(before, after), window, row_areas_m2, mmu_m2)


def detect_change_codes(codes: np.ndarray, window: Window, row_areas_m2: np.ndarray,
                        mmu_m2: float = 5000.0) -> Change:
    """Transitions and patches from transition codes (``transition_codes``); ``codes`` is updated in place."""
    labels = np.empty(codes.shape, np.int32)
    n = ndimage.label(codes, structure=_EIGHT, output=labels)
    areas = area_by_value(labels, n, row_areas_m2)
    keep = areas >= mmu_m2
    keep[0] = False
    result = Change(window=window, transitions={}, mmu_m2=mmu_m2, speckle_m2=float(areas[1:][~keep[1:]].sum()))
    for r0 in range(0, codes.shape[0], _STRIP):
        part = codes[r0:r0 + _STRIP]
        part[~keep[labels[r0:r0 + _STRIP]]] = 0
    boxes = ndimage.find_objects(labels)
    for label in np.flatnonzero(keep):
        rows, cols = boxes[label - 1]
        component = labels[rows, cols] == label
        local_codes = codes[rows, cols]  # a view: speckle inside mixed components is cleared in place
        counts = np.bincount(local_codes[component], minlength=64)
        present = np.flatnonzero(counts[1:]) + 1
        if present.size == 1:
            result.patches.append(_patch(int(present[0]), component, float(areas[label]), rows, cols))
            continue
        local_areas = row_areas_m2[rows]
        pixel_m2 = float(local_areas.mean())
        for code in present:
            this = component & (local_codes == code)
            if counts[code] * pixel_m2 < mmu_m2:  # too small to hold a patch: speckle, no labelling needed
                local_codes[this] = 0
                result.speckle_m2 += float(this.sum(axis=1) @ local_areas)
                continue
            sub, m = ndimage.label(this, structure=_EIGHT)
            sub_areas = area_by_value(sub, m, local_areas)
            for k in range(1, m + 1):
                piece = sub == k
                if sub_areas[k] < mmu_m2:
                    local_codes[piece] = 0
                    result.speckle_m2 += float(sub_areas[k])
                    continue
                ys, xs = np.nonzero(piece)
                r, c = slice(int(ys.min()), int(ys.max()) + 1), slice(int(xs.min()), int(xs.max()) + 1)
                result.patches.append(_patch(int(code), piece[r, c], float(sub_areas[k]),
                                             slice(rows.start + r.start, rows.start + r.stop),
                                             slice(cols.start + c.start, cols.start + c.stop)))
    per_code = area_by_value(codes, 63, row_areas_m2)
    for code in np.flatnonzero(per_code[1:]) + 1:
        result.transitions[(LandCover(int(code) // _SHIFT), LandCover(int(code) % _SHIFT))] = float(per_code[code])
    del labels
    result.patches.sort(key=lambda p: p.area_m2, reverse=True)
    result.codes = codes
    return result
