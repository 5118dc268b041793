"""Validity of pixels: fill values and quality bands (Sentinel-2 SCL, Landsat QA) decoded in one pass.

Every quality-band kind becomes a lookup table over all 65536 values of a
16-bit QA word (True = invalid). For large strips the validity is a compiled
loop (numba, imported on first use: loading it costs about half a second,
which small display reads should not pay); otherwise numpy.
Bit meanings: Landsat Collection 2 QA_PIXEL (bits 0-4: fill, dilated cloud,
cirrus, cloud, shadow), Collection 1 BQA (fill, cloud, high-confidence shadow
and cirrus), Sentinel-2 SCL classes 0 (no data), 1 (saturated/defective), 3
(cloud shadow), 8-10 (cloud medium/high, thin cirrus).
"""

from __future__ import annotations

import functools

import numpy as np

from engine.scene.product import MaskKind

_SCL_INVALID_CLASSES = (0, 1, 3, 8, 9, 10)
COMPILED_MIN_PIXELS = 1 << 20  # strips this large use the compiled loop


@functools.cache
def invalid_lut(kind: MaskKind) -> np.ndarray:
    """bool[65536]: True where a QA value of ``kind`` marks the pixel invalid."""
    qa = np.arange(1 << 16, dtype=np.uint32)
    if kind is MaskKind.S2_SCL:
        lut = np.isin(qa, _SCL_INVALID_CLASSES)
    elif kind is MaskKind.LANDSAT_QA_PIXEL:
        lut = (qa & 0b11111) != 0
    elif kind is MaskKind.LANDSAT_BQA_C1:
        lut = ((qa & 1) != 0) | ((qa & (1 << 4)) != 0) | (((qa >> 7) & 0b11) == 3) | (((qa >> 11) & 0b11) == 3)
    else:
        lut = qa != 0
    lut.flags.writeable = False
    return lut


def decode_mask(qa: np.ndarray, kind: MaskKind) -> np.ndarray:
    """True where the quality band marks a pixel invalid (fill, cloud, shadow)."""
    if _fits_lut(qa):
        return invalid_lut(kind)[qa]
    if kind is MaskKind.NONZERO_INVALID:
        return qa != 0
    if kind is MaskKind.S2_SCL:
        return np.isin(qa, _SCL_INVALID_CLASSES)
    return invalid_lut(kind)[qa.astype(np.int64) & 0xFFFF]  # the defined Landsat bits are the low 16


def valid_pixels(bands: np.ndarray, zero_fill: bool, qa: np.ndarray | None, kind: MaskKind | None,
                 out: np.ndarray) -> None:
    """``out &=`` validity of a (bands, rows, cols) stack: no band is 0 (if ``zero_fill``), QA not invalid."""
    if qa is not None and not _fits_lut(qa):
        out &= ~decode_mask(qa, kind)
        qa = None
    if not (zero_fill or qa is not None):
        return
    contiguous = bands.flags.c_contiguous and out.flags.c_contiguous and (qa is None or qa.flags.c_contiguous)
    if out.size < COMPILED_MIN_PIXELS or not contiguous:
        if zero_fill:
            out &= bands.min(axis=0) != 0
        if qa is not None:
            out &= ~decode_mask(qa, kind)
        return
    from engine.scene._mask_kernel import valid_kernel

    flat = bands.reshape(bands.shape[0], -1)
    with_qa = qa is not None
    valid_kernel(flat, zero_fill, qa.reshape(-1) if with_qa else flat[0], with_qa,
                 invalid_lut(kind if with_qa else MaskKind.NONZERO_INVALID), out.reshape(-1))


def _fits_lut(qa: np.ndarray) -> bool:
    return qa.dtype.kind == "u" and qa.dtype.itemsize <= 2
