"""Area-average downsampling of full-resolution strips, for display reads without overviews.

GDAL's own decimated read of a large file without overviews is slow (tens of
seconds for a 10980² scene here); reading full-resolution strips and averaging
k×k blocks over valid pixels in numpy costs little more than the read itself.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

COMPILED_MIN_PIXELS = 1 << 20  # strips this large use the compiled loop (numba, loaded on first use)


def block_mean(values: list[np.ndarray], valid: np.ndarray, k: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Mean of each k×k block over valid pixels; a block is valid when any pixel in it is.

    ``values`` are 2-D arrays shaped like ``valid``; edges are padded as invalid.
    Returns float32 arrays of shape (ceil(rows / k), ceil(cols / k)).
    """
    rows, cols = valid.shape
    out_r, out_c = -(-rows // k), -(-cols // k)
    if valid.size >= COMPILED_MIN_PIXELS:
        from engine.scene._decimate_kernel import block_counts, block_sums

        count = np.zeros((out_r, out_c), np.float32)
        block_counts(valid, k, count)
        means = []
        for v in values:
            sums = np.zeros((out_r, out_c), np.float32)
            block_sums(v, valid, k, sums)
            means.append(np.divide(sums, count, out=np.zeros_like(sums), where=count > 0))
        return means, count > 0
    pad = ((0, out_r * k - rows), (0, out_c * k - cols))
    all_valid = bool(valid.all()) and pad == ((0, 0), (0, 0))
    if all_valid:
        count = np.full((out_r, out_c), float(k * k), np.float32)
    else:
        count = np.pad(valid, pad).reshape(out_r, k, out_c, k).sum(axis=(1, 3), dtype=np.float32)
    means = []
    for v in values:
        data = v if all_valid else np.pad(np.where(valid, v, 0), pad)
        # (rows, cols) -> (out_r, k, out_c, k): sum over each block
        sums = data.reshape(out_r, k, out_c, k).sum(axis=(1, 3), dtype=np.float32)
        means.append(np.divide(sums, count, out=np.zeros_like(sums), where=count > 0))
    return means, count > 0


def resize_to(values: list[np.ndarray], valid: np.ndarray,
              shape: tuple[int, int]) -> tuple[list[np.ndarray], np.ndarray]:
    """Box-filter ``values`` (float) and ``valid`` to ``shape`` (rows, cols)."""
    if values and values[0].shape == shape:
        return values, valid
    size = (shape[1], shape[0])
    weight = np.asarray(Image.fromarray(valid.astype(np.float32), mode="F").resize(size, Image.Resampling.BOX))
    out = []
    for v in values:
        filled = np.where(valid, v, 0).astype(np.float32)
        resized = np.asarray(Image.fromarray(filled, mode="F").resize(size, Image.Resampling.BOX))
        out.append(np.divide(resized, weight, out=np.zeros_like(resized), where=weight > 0))
    return out, weight >= 0.5
