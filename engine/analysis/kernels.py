"""Compiled per-pixel kernels (numba): classification and change labelling in one pass each.

The numpy versions of these loops made a dozen full passes and temporaries per
pixel; on a two-date 10980² pair they cost three times the read itself. Each
kernel here touches a pixel once, in row-major order, and releases the GIL so
the reader's prefetch thread keeps decoding meanwhile.

- ``classify_pixels``: raw DNs -> reflectance -> NDVI, water index, red-blue
  ratio -> class code, plus sums of the indices over valid pixels. The rules and
  float32 arithmetic are those documented in ``classify``.
- ``label_same_code``: 8-connected components of equal non-zero transition
  code, by the classic two-pass union-find (Rosenfeld & Pfaltz 1966; Wu et al.
  2009 for the array-based union-find), with each component's ground area (``PixelAreas``),
  pixel count, bounding box and centroid gathered in the second pass.

Compiled code is cached beside this module (or in ``NUMBA_CACHE_DIR``), so the
compile cost (a few seconds) is paid on the first call after installation only.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numba import njit

from engine.analysis.areas import PixelAreas

_T = TypeVar("_T")
_I = TypeVar("_I")
_BIG = 1 << 62

# codes as in ``LandCover`` (numba needs plain constants)
_INVALID, _WATER, _BUILT_UP, _BARE, _CROPLAND, _FOREST = 0, 1, 2, 3, 4, 5
N_INDICES = 4  # NDVI, MNDWI, NDBI, BSI, in that order in the sums
SHIFT = 8  # transition code = from * SHIFT + to


_FAST = {"reassoc", "nsz"}  # lets LLVM vectorise the sums; no approximations, NaN and inf stay IEEE


@njit(cache=True, inline="always", fastmath=_FAST, error_model="numpy")
def _code(b, g, r, ndvi, water, woody, usable, water_t, water_ndvi_max, veg_t, bare_min):
    """The class of one pixel from its reflectances and indices (selects, not branches, so loops vectorise)."""
    code = np.uint8(_BARE) if (r - b) >= bare_min * (r + b) else np.uint8(_BUILT_UP)
    veg = np.uint8(_FOREST) if woody else np.uint8(_CROPLAND)
    code = veg if ndvi >= veg_t else code
    code = np.uint8(_WATER) if (water > water_t) & (ndvi < water_ndvi_max) else code
    return code if usable else np.uint8(_INVALID)


@njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
def classify_pixels(blue, green, red, nir, swir1, swir2, has_swir2, valid, scale, offset, params, out, sums, counts):
    """Classify 1-D raw DN arrays into ``out`` (uint8); add index sums over valid pixels.

    ``swir1`` may be empty (band absent); without SWIR2, ``has_swir2`` is
    False and ``swir2`` is any array of the same length (it is read but not
    used, so the loop stays free of branches). ``scale``/``offset``
    (float32, 6: blue, green, red, nir, swir1, swir2) calibrate DNs to
    reflectance. ``params`` (float32): water_mndwi, water_ndvi_max,
    vegetation_ndvi, forest_swir2_max, forest_visible_max, bare_red_blue_min.
    ``sums`` (float64) and ``counts`` (int64) have ``N_INDICES`` entries.
    """
    water_t, water_ndvi_max, veg_t, swir2_max = params[0], params[1], params[2], params[3]
    visible_max3, bare_min = np.float32(3) * params[4], params[5]
    sb, sg, sr, sn, s_1, s_2 = scale[0], scale[1], scale[2], scale[3], scale[4], scale[5]
    ob, og, orr, on, o_1, o_2 = offset[0], offset[1], offset[2], offset[3], offset[4], offset[5]
    s0 = s1 = s2 = s3 = 0.0
    c0 = c1 = c2 = c3 = np.int32(0)  # int32: an int64 counter stops LLVM vectorising the loop
    if swir1.size == 0:  # NDWI (green vs NIR) stands in for MNDWI; only NDVI is summed
        for i in range(out.size):
            b = np.float32(blue[i]) * sb + ob
            g = np.float32(green[i]) * sg + og
            r = np.float32(red[i]) * sr + orr
            n = np.float32(nir[i]) * sn + on
            ndvi = (n - r) / (n + r)
            usable = valid[i] & np.isfinite(ndvi)
            s0 += ndvi if usable else np.float32(0)
            c0 += np.int32(usable)
            woody = (b + g + r) < visible_max3
            out[i] = _code(b, g, r, ndvi, (g - n) / (g + n), woody, usable, water_t, water_ndvi_max, veg_t, bare_min)
    else:
        for i in range(out.size):
            b = np.float32(blue[i]) * sb + ob
            g = np.float32(green[i]) * sg + og
            r = np.float32(red[i]) * sr + orr
            n = np.float32(nir[i]) * sn + on
            w1 = np.float32(swir1[i]) * s_1 + o_1
            ndvi = (n - r) / (n + r)
            water = (g - w1) / (g + w1)
            ndbi = (w1 - n) / (w1 + n)
            bsi = ((w1 + r) - (n + b)) / ((w1 + r) + (n + b))
            ok = valid[i]
            usable = ok & np.isfinite(ndvi)
            s0 += ndvi if usable else np.float32(0)
            c0 += np.int32(usable)
            f1, f2, f3 = ok & np.isfinite(water), ok & np.isfinite(ndbi), ok & np.isfinite(bsi)
            s1 += water if f1 else np.float32(0)
            c1 += np.int32(f1)
            s2 += ndbi if f2 else np.float32(0)
            c2 += np.int32(f2)
            s3 += bsi if f3 else np.float32(0)
            c3 += np.int32(f3)
            by_swir2 = np.float32(swir2[i]) * s_2 + o_2 < swir2_max
            woody = by_swir2 if has_swir2 else (b + g + r) < visible_max3
            out[i] = _code(b, g, r, ndvi, water, woody, usable, water_t, water_ndvi_max, veg_t, bare_min)
    sums[0] += s0
    sums[1] += s1
    sums[2] += s2
    sums[3] += s3
    counts[0] += c0
    counts[1] += c1
    counts[2] += c2
    counts[3] += c3


def in_threads(fn: Callable[[_I], _T], items: list[_I]) -> list[_T]:
    """``fn(item)`` for each item, in parallel threads (the kernels release the GIL)."""
    if len(items) == 1:
        return [fn(items[0])]
    with ThreadPoolExecutor(max_workers=len(items), thread_name_prefix="kernel") as pool:
        return list(pool.map(fn, items))


def by_row_blocks(fn: Callable[[slice], _T], rows: int, blocks: int | None = None) -> list[_T]:
    """``fn(rows_slice)`` over contiguous row blocks, one per CPU (or ``blocks``), in threads.

    For the whole-image kernels that run after reading, when the reader's
    threads are idle: each kernel writes disjoint rows.
    """
    n = max(1, min(rows, blocks if blocks is not None else min(os.cpu_count() or 1, rows // 256)))
    edges = [rows * i // n for i in range(n + 1)]
    return in_threads(fn, [slice(a, b) for a, b in itertools.pairwise(edges)])


@dataclass
class Components:
    """Connected components, index k-1 for label k: code, size, bounding box (inclusive) and coordinate sums."""

    code: np.ndarray  # uint8 transition code
    pixels: np.ndarray
    area_m2: np.ndarray
    row_min: np.ndarray
    row_max: np.ndarray
    col_min: np.ndarray
    col_max: np.ndarray
    row_sum: np.ndarray  # for centroids
    col_sum: np.ndarray


@njit(cache=True, nogil=True)
def row_class_areas(classes, n_classes, col_factors):
    """Per row of a 2-D class map, the sum of the column factors of each class's pixels: (rows, n_classes)."""
    rows, cols = classes.shape
    out = np.zeros((rows, n_classes), np.float64)
    for y in range(rows):
        for x in range(cols):
            out[y, classes[y, x]] += col_factors[x]
    return out


@njit(cache=True, nogil=True)
def transition_codes(before, after, out):
    """``from * SHIFT + to`` into ``out`` where both dates are valid and differ, else 0."""
    rows, cols = before.shape
    for y in range(rows):
        for x in range(cols):
            a, b = before[y, x], after[y, x]
            out[y, x] = a * SHIFT + b if a != _INVALID and b != _INVALID and a != b else 0


@njit(cache=True, inline="always")
def _find(parent, x):
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:  # path compression
        nxt = parent[x]
        parent[x] = root
        x = nxt
    return root


@njit(cache=True, inline="always")
def _union(parent, a, b):
    ra, rb = _find(parent, a), _find(parent, b)
    if ra < rb:
        parent[rb] = ra
        return ra
    if rb < ra:
        parent[ra] = rb
    return rb


@njit(cache=True, nogil=True)
def _label_rows(codes, labels):
    """First pass on a block of rows: provisional labels 1..n and their union-find parents (roots are minima)."""
    rows, cols = codes.shape
    parent = np.empty(1024, np.int64)
    parent[0] = 0
    n = 0
    for y in range(rows):
        for x in range(cols):
            c = codes[y, x]
            if c == 0:
                continue
            best = 0
            # already visited neighbours: W, NW, N, NE
            if x > 0 and codes[y, x - 1] == c:
                best = labels[y, x - 1]
            if y > 0:
                for dx in (-1, 0, 1):
                    xx = x + dx
                    if 0 <= xx < cols and codes[y - 1, xx] == c:
                        other = labels[y - 1, xx]
                        best = other if best == 0 else _union(parent, best, other)
            if best == 0:
                n += 1
                if n >= parent.size:
                    grown = np.empty(parent.size * 2, np.int64)
                    grown[:parent.size] = parent
                    parent = grown
                parent[n] = n
                best = n
            labels[y, x] = best
    return parent[:n + 1].copy()


@njit(cache=True, nogil=True)
def _join_blocks(codes, labels, parent, edges, offsets):
    """Union labels across the seams between row blocks; return provisional -> final (1..m) labels.

    ``parent`` holds every block's parents shifted by the block's ``offsets``.
    """
    cols = codes.shape[1]
    for b in range(1, edges.size - 1):
        y = edges[b]  # first row of block b; row y - 1 is the last of block b - 1
        for x in range(cols):
            c = codes[y, x]
            if c == 0:
                continue
            here = labels[y, x] + offsets[b]
            for dx in (-1, 0, 1):
                xx = x + dx
                if 0 <= xx < cols and codes[y - 1, xx] == c:
                    _union(parent, here, labels[y - 1, xx] + offsets[b - 1])
    final = np.zeros(parent.size, np.int32)
    m = 0
    for k in range(1, parent.size):
        if parent[k] == 0:  # the placeholder 0 of a block after the first
            continue
        root = _find(parent, k)
        if root == k:
            m += 1
            final[k] = m
        else:
            final[k] = final[root]
    return final, m


@njit(cache=True, nogil=True)
def _gather(codes, labels, final, offset, row_areas_m2, col_factors, row0, m):
    """Second pass on a block: final labels, and per component code, pixels, area, bbox and coordinate sums."""
    rows, cols = codes.shape
    code_of = np.zeros(m, np.uint8)
    stats_i = np.zeros((5, m), np.int64)  # pixels, row_min, row_max, col_min, col_max
    stats_i[1, :] = _BIG
    stats_i[2, :] = -1
    stats_i[3, :] = _BIG
    stats_i[4, :] = -1
    stats_f = np.zeros((3, m), np.float64)  # area_m2, row_sum, col_sum
    for y in range(rows):
        row_area = row_areas_m2[y]
        gy = y + row0
        for x in range(cols):
            c = codes[y, x]
            if c == 0:
                continue
            f = final[labels[y, x] + offset]
            labels[y, x] = f
            j = f - 1
            code_of[j] = c
            stats_i[0, j] += 1
            stats_i[1, j] = min(stats_i[1, j], gy)
            stats_i[2, j] = max(stats_i[2, j], gy)
            stats_i[3, j] = min(stats_i[3, j], x)
            stats_i[4, j] = max(stats_i[4, j], x)
            stats_f[0, j] += row_area * col_factors[x]
            stats_f[1, j] += gy
            stats_f[2, j] += x
    return code_of, stats_i, stats_f


def label_same_code(codes: np.ndarray, areas: PixelAreas, labels: np.ndarray,
                    blocks: int | None = None) -> Components:
    """Label 8-connected components of equal non-zero code into ``labels`` (int32, 1..m; zeros on entry).

    Row blocks are labelled in parallel threads, joined across their seams,
    then relabelled and measured in parallel. Only pixels with a code are read
    or written in ``labels``, so where nothing changed its pages are never
    touched (``np.zeros`` memory stays unmapped).
    """
    rows = codes.shape[0]
    parts1 = by_row_blocks(lambda r: (r, _label_rows(codes[r], labels[r])), rows, blocks)
    edges = np.array([r.start for r, _ in parts1] + [rows], np.int64)
    sizes = np.array([p.size for _, p in parts1], np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    parent = np.concatenate([p + off for (_, p), off in zip(parts1, offsets, strict=True)])
    parent[offsets[1:]] = 0  # each block's placeholder 0 is not a label
    final, m = _join_blocks(codes, labels, parent, edges, offsets)
    row_areas = np.ascontiguousarray(areas.rows_m2, dtype=np.float64)
    col_factors = np.ascontiguousarray(areas.cols, dtype=np.float64)
    parts = in_threads(lambda rb: _gather(codes[rb[0]], labels[rb[0]], final, int(rb[1]), row_areas[rb[0]],
                                          col_factors, rb[0].start, m),
                       [(r, off) for (r, _), off in zip(parts1, offsets, strict=True)])
    code_of, stats_i, stats_f = parts[0]
    for other_code, other_i, other_f in parts[1:]:  # merged in place: these arrays are per component
        np.maximum(code_of, other_code, out=code_of)
        stats_i[0] += other_i[0]
        np.minimum(stats_i[1], other_i[1], out=stats_i[1])
        np.maximum(stats_i[2], other_i[2], out=stats_i[2])
        np.minimum(stats_i[3], other_i[3], out=stats_i[3])
        np.maximum(stats_i[4], other_i[4], out=stats_i[4])
        stats_f += other_f
    return Components(code=code_of, pixels=stats_i[0], area_m2=stats_f[0], row_min=stats_i[1], row_max=stats_i[2],
                      col_min=stats_i[3], col_max=stats_i[4], row_sum=stats_f[1], col_sum=stats_f[2])


@njit(cache=True, nogil=True)
def clear_unkept(codes, labels, keep):
    """Set ``codes`` to 0 where the pixel's component is not kept (``keep`` indexed by label)."""
    rows, cols = codes.shape
    for y in range(rows):
        for x in range(cols):
            if codes[y, x] != 0 and not keep[labels[y, x]]:
                codes[y, x] = 0
                labels[y, x] = 0


def warm_up() -> None:
    """Compile (or load from the cache) the kernels for the common input types: uint16 and float32 bands.

    ``scripts/setup.sh`` runs it once, so a user's first analysis does not pay
    the compilation (some ten seconds on two cores).
    """
    from engine.scene._mask_kernel import valid_kernel

    for dtype in (np.uint16, np.float32):
        band = np.ones(4, dtype)
        classify_pixels(band, band, band, band, band, band, False, np.ones(4, bool), np.ones(6, np.float32),
                        np.zeros(6, np.float32), np.zeros(6, np.float32), np.empty(4, np.uint8), np.zeros(4),
                        np.zeros(4, np.int64))
        classify_pixels(band, band, band, band, band[:0], band, False, np.ones(4, bool), np.ones(6, np.float32),
                        np.zeros(6, np.float32), np.zeros(6, np.float32), np.empty(4, np.uint8), np.zeros(4),
                        np.zeros(4, np.int64))
    for qa_dtype in (np.uint8, np.uint16):
        bands = np.ones((2, 4), np.uint16)
        valid_kernel(bands, True, np.zeros(4, qa_dtype), True, np.zeros(1 << 16, bool), np.ones(4, bool))
    classes = np.ones((2, 2), np.uint8)
    codes = np.empty((2, 2), np.uint8)
    transition_codes(classes, classes, codes)
    row_class_areas(classes, 8, np.ones(2))
    labels = np.zeros((2, 2), np.int32)
    label_same_code(codes, PixelAreas.uniform(1.0, 2, 2), labels)  # the compiled passes it runs
    clear_unkept(codes, labels, np.zeros(1, bool))

