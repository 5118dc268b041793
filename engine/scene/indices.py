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


def _normalised_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    num = a - b
    den = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out[den == 0] = np.nan
    return out


def compute(index: Index, bands: Mapping[BandRole, np.ndarray]) -> np.ndarray:
    """``index`` from float reflectance ``bands`` (which must hold its roles)."""
    if index is Index.NDVI:
        return _normalised_difference(bands[BandRole.NIR], bands[BandRole.RED])
    if index is Index.MNDWI:
        return _normalised_difference(bands[BandRole.GREEN], bands[BandRole.SWIR1])
    if index is Index.NDBI:
        return _normalised_difference(bands[BandRole.SWIR1], bands[BandRole.NIR])
    return _normalised_difference(bands[BandRole.SWIR1] + bands[BandRole.RED],
                                  bands[BandRole.NIR] + bands[BandRole.BLUE])


def available(roles: tuple[BandRole, ...] | set[BandRole]) -> list[Index]:
    """The indices whose bands are all among ``roles``."""
    return [ix for ix, needed in INDEX_ROLES.items() if all(r in roles for r in needed)]
