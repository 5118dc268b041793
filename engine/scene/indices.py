"""Spectral indices on reflectance arrays (NDVI, MNDWI, NDBI, BSI).

Formulas as in ../shared/SEED.md: NDVI (Rouse 1974), MNDWI (Xu 2006), NDBI
(Zha 2003), BSI (Rikimaru 2002). Where the denominator is zero the index is NaN.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import numpy as np

from engine.types import BandRole


class Index(enum.StrEnum):
    NDVI = "ndvi"
    MNDWI = "mndwi"
    NDBI = "ndbi"
    BSI = "bsi"


INDEX_ROLES: dict[Index, tuple[BandRole, ...]] = {
    Index.NDVI: (BandRole.NIR, BandRole.RED),
    Index.MNDWI: (BandRole.GREEN, BandRole.SWIR1),
    Index.NDBI: (BandRole.SWIR1, BandRole.NIR),
    Index.BSI: (BandRole.SWIR1, BandRole.RED, BandRole.NIR, BandRole.BLUE),
}


def compute(index: Index, bands: Mapping[BandRole, np.ndarray], out: np.ndarray | None = None,
            work: tuple[np.ndarray, np.ndarray] | None = None, zero_as_nan: bool = True) -> np.ndarray:
    """``index`` from float32 reflectance ``bands`` (which must hold its roles).

    ``out`` and the two ``work`` arrays, shaped like the bands, let callers that
    loop over small chunks reuse cache-resident buffers instead of allocating.
    With ``zero_as_nan=False`` a zero denominator gives ±inf or NaN as IEEE
    division does, for callers that drop non-finite values anyway.
    """
    shape = next(iter(bands.values())).shape
    out = np.empty(shape, np.float32) if out is None else out
    w1, w2 = work if work is not None else (np.empty(shape, np.float32), np.empty(shape, np.float32))
    if index is Index.BSI:
        a = np.add(bands[BandRole.SWIR1], bands[BandRole.RED], out=w1)
        b = np.add(bands[BandRole.NIR], bands[BandRole.BLUE], out=w2)
    else:
        first, second = INDEX_ROLES[index][:2]
        a, b = bands[first], bands[second]
    np.subtract(a, b, out=out)
    den = np.add(a, b, out=w1)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(out, den, out=out)
    if zero_as_nan and not den.all():
        out[den == 0] = np.nan
    return out


def available(roles: tuple[BandRole, ...] | set[BandRole]) -> list[Index]:
    """The indices whose bands are all among ``roles``."""
    return [ix for ix, needed in INDEX_ROLES.items() if all(r in roles for r in needed)]
