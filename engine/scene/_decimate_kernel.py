"""Compiled k x k block sums for ``decimate.block_mean`` (kept apart so numba loads only when needed)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def block_sums(values, valid, k, out):
    """``out[i, j]`` = sum of ``values`` over the valid pixels of block (i, j); edges are partial blocks."""
    rows, cols = values.shape
    out_c = out.shape[1]
    for y in range(rows):
        row_out = out[y // k]
        for j in range(out_c):
            acc = np.float32(0)
            for x in range(j * k, min(cols, j * k + k)):
                acc += np.float32(values[y, x]) if valid[y, x] else np.float32(0)
            row_out[j] += acc


@njit(cache=True, nogil=True)
def block_counts(valid, k, out):
    """``out[i, j]`` = number of valid pixels in block (i, j)."""
    rows, cols = valid.shape
    out_c = out.shape[1]
    for y in range(rows):
        row_out = out[y // k]
        for j in range(out_c):
            n = 0
            for x in range(j * k, min(cols, j * k + k)):
                n += 1 if valid[y, x] else 0
            row_out[j] += n
