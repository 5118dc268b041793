"""The compiled validity loop of ``masks.valid_pixels`` (kept apart so numba loads only when needed)."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def valid_kernel(bands, zero_fill, qa, with_qa, lut, out):
    """``out &=`` no band is 0 (if ``zero_fill``) and ``lut[qa]`` is False (if ``with_qa``); 1-D ``out``."""
    if zero_fill:
        for b in range(bands.shape[0]):  # band by band: each inner loop vectorises
            band = bands[b]
            for i in range(out.size):
                out[i] &= band[i] != 0
    if with_qa:
        for i in range(out.size):
            out[i] &= ~lut[qa[i]]
