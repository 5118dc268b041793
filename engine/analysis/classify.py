"""Baseline land-cover classifier from reflectance and spectral indices.

Rules, in order (thresholds in ``Thresholds``, all overridable):

1. invalid: nodata, cloud or shadow (from the scene reader's validity);
2. water: MNDWI > ``water_mndwi`` and NDVI < ``water_ndvi_max``. MNDWI (Xu 2006)
   needs SWIR1; without it NDWI (McFeeters 1996) is used. The MNDWI threshold
   is chosen per scene with Otsu's method on a display-size sample of valid
   pixels, kept only when it falls in a plausible range;
3. vegetation: NDVI >= ``vegetation_ndvi``; woody vegetation (forest) is darker
   in SWIR2 than herbaceous or cultivated vegetation (cropland): SWIR2 <
   ``forest_swir2_max`` (without SWIR2: mean visible reflectance <
   ``forest_visible_max``);
4. the rest is built-up or bare: bare soil rises steeply from blue to red,
   so (red - blue) / (red + blue) >= ``bare_red_blue_min`` is bare, the rest
   built-up.

The thresholds are typical values for top-of-atmosphere and surface
reflectance of Landsat and Sentinel-2 in semi-arid western China; they are a
baseline, not a trained model, and every result reports the ones it used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from engine.analysis import kernels
from engine.errors import MissingBandError
from engine.scene.indices import Index, compute
from engine.types import CLASSIFICATION_ROLES, BandRole, Calibration

REQUIRED = CLASSIFICATION_ROLES
OTSU_RANGE = (-0.05, 0.4)  # an Otsu MNDWI threshold outside this is not a water/land split
WATER_MEAN_MIN = 0.2  # the pixels above an accepted threshold must look like open water on average


@dataclass(frozen=True)
class Thresholds:
    """Classifier thresholds; ``water_mndwi=None`` means Otsu per scene."""

    water_mndwi: float | None = None
    water_default: float = 0.0  # used when Otsu is off or implausible
    water_ndvi_max: float = 0.2
    vegetation_ndvi: float = 0.4
    forest_swir2_max: float = 0.08
    forest_visible_max: float = 0.045
    bare_red_blue_min: float = 0.16

    def __post_init__(self) -> None:
        for name in ("water_default", "water_ndvi_max", "vegetation_ndvi", "bare_red_blue_min"):
            value = getattr(self, name)
            if not -1.0 <= value <= 1.0:
                raise ValueError(f"threshold {name}={value} must be an index value in [-1, 1]")
        if self.water_mndwi is not None and not -1.0 <= self.water_mndwi <= 1.0:
            raise ValueError(f"threshold water_mndwi={self.water_mndwi} must be in [-1, 1]")

    def to_dict(self) -> dict[str, float | None]:
        return asdict(self)

    @classmethod
    def parse_overrides(cls, text: str) -> Thresholds:
        """``"vegetation_ndvi=0.35,water_mndwi=0.1"`` -> Thresholds (others default)."""
        values: dict[str, float] = {}
        known = {f for f in cls.__dataclass_fields__}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, _, value = part.partition("=")
            if key.strip() not in known:
                raise ValueError(f"unknown threshold {key!r}; known: {', '.join(sorted(known))}")
            values[key.strip()] = float(value)
        return cls(**values)


def otsu(values: np.ndarray, bins: int = 256, value_range: tuple[float, float] = (-1.0, 1.0)) -> float | None:
    """Otsu's threshold of ``values`` (None when there is nothing to split)."""
    values = values[np.isfinite(values)]
    if values.size < 2:
        return None
    hist, edges = np.histogram(values, bins=bins, range=value_range)
    centres = (edges[:-1] + edges[1:]) / 2
    weight0 = np.cumsum(hist)
    weight1 = weight0[-1] - weight0
    sum0 = np.cumsum(hist * centres)
    mean0 = np.divide(sum0, weight0, out=np.zeros_like(sum0, dtype=float), where=weight0 > 0)
    mean1 = np.divide(sum0[-1] - sum0, weight1, out=np.zeros_like(sum0, dtype=float), where=weight1 > 0)
    between = weight0 * weight1 * (mean0 - mean1) ** 2
    if not between.any():
        return None
    # an empty gap between the modes makes a plateau of maxima: take its middle
    best = np.flatnonzero(between >= between.max() * (1 - 1e-9))
    return float(edges[int(best[len(best) // 2]) + 1])


def water_index(bands: dict[BandRole, np.ndarray]) -> tuple[Index | None, np.ndarray]:
    """MNDWI when SWIR1 is there, otherwise NDWI (green vs NIR)."""
    if BandRole.SWIR1 in bands:
        return Index.MNDWI, compute(Index.MNDWI, bands)
    green, nir = bands[BandRole.GREEN], bands[BandRole.NIR]
    with np.errstate(divide="ignore", invalid="ignore"):
        return None, (green - nir) / (green + nir)


def adapt(thresholds: Thresholds, sample: dict[BandRole, np.ndarray], valid: np.ndarray) -> tuple[Thresholds, str]:
    """Fix the per-scene water threshold from a sample; say how it was chosen.

    Otsu runs on the non-vegetated valid pixels (water against built-up and bare
    land, the pairs it must separate). Its threshold is kept only when it lies
    in ``OTSU_RANGE`` and the pixels above it average MNDWI > ``WATER_MEAN_MIN``;
    a scene without water otherwise gets a split inside the land.
    """
    if thresholds.water_mndwi is not None:
        return thresholds, "water threshold given by the user"
    _, water = water_index(sample)
    red, nir = sample[BandRole.RED], sample[BandRole.NIR]
    with np.errstate(divide="ignore", invalid="ignore"):
        open_land = valid & ((nir - red) / (nir + red) < thresholds.vegetation_ndvi)
    candidates = water[open_land]
    t = otsu(candidates) if candidates.size else None
    if t is not None and OTSU_RANGE[0] <= t <= OTSU_RANGE[1]:
        above = candidates[candidates > t]
        if above.size and float(above.mean()) > WATER_MEAN_MIN:
            return replace(thresholds, water_mndwi=round(t, 4)), "water threshold by Otsu on this scene"
    return replace(thresholds, water_mndwi=thresholds.water_default), (
        "water threshold default (no water/land split found by Otsu)")


KERNEL_ROLES = (BandRole.BLUE, BandRole.GREEN, BandRole.RED, BandRole.NIR, BandRole.SWIR1, BandRole.SWIR2)
_NONE = np.empty(0, np.float32)


@dataclass
class IndexSums:
    """Sums and counts of NDVI, MNDWI, NDBI and BSI over valid pixels, accumulated by ``classify_flat``."""

    sums: np.ndarray = field(default_factory=lambda: np.zeros(kernels.N_INDICES))
    counts: np.ndarray = field(default_factory=lambda: np.zeros(kernels.N_INDICES, np.int64))

    def means(self, computable: list[Index]) -> dict[str, float | None]:
        order = (Index.NDVI, Index.MNDWI, Index.NDBI, Index.BSI)
        return {ix.value: float(self.sums[order.index(ix)] / self.counts[order.index(ix)])
                if self.counts[order.index(ix)] else None for ix in computable}


def classify_flat(bands: Mapping[BandRole, np.ndarray], valid: np.ndarray, t: Thresholds, out: np.ndarray,
                  calibrations: Mapping[BandRole, Calibration] | None = None,
                  index_sums: IndexSums | None = None) -> None:
    """Class codes into ``out`` for 1-D ``bands`` (raw DNs with ``calibrations``, else reflectance).

    One compiled pass per pixel (``kernels.classify_pixels``): the rules above
    on float32 reflectance ``dn * scale + offset``, as ``SceneReader.calibrate``
    computes it. Index sums over valid pixels are added to ``index_sums``.
    """
    missing = [r.value for r in REQUIRED if r not in bands]
    if missing:
        raise MissingBandError(f"land-cover classification needs {', '.join(missing)} bands")
    if t.water_mndwi is None:
        raise ValueError("classify needs a resolved water threshold; call adapt() first")
    scale = np.ones(len(KERNEL_ROLES), np.float32)
    offset = np.zeros(len(KERNEL_ROLES), np.float32)
    for i, role in enumerate(KERNEL_ROLES):
        if calibrations is not None and role in calibrations:
            cal = calibrations[role]
            scale[i], offset[i] = cal.scale / cal.sun_factor, cal.offset / cal.sun_factor
    params = np.array([t.water_mndwi, t.water_ndvi_max, t.vegetation_ndvi, t.forest_swir2_max,
                       t.forest_visible_max, t.bare_red_blue_min], np.float32)
    sums = index_sums if index_sums is not None else IndexSums()
    has_swir2 = BandRole.SWIR2 in bands
    arrays = [bands.get(r, _NONE) for r in KERNEL_ROLES[:5]] + [bands.get(BandRole.SWIR2, bands[BandRole.BLUE])]
    kernels.classify_pixels(*arrays, has_swir2, valid, scale, offset, params, out, sums.sums, sums.counts)


def classify(bands: dict[BandRole, np.ndarray], valid: np.ndarray, t: Thresholds) -> np.ndarray:
    """Class codes (uint8, ``LandCover``) for calibrated reflectance ``bands`` of any shape."""
    out = np.empty(valid.shape, np.uint8)
    flat = {role: np.ascontiguousarray(band).reshape(-1) for role, band in bands.items()}
    classify_flat(flat, np.ascontiguousarray(valid).reshape(-1), t, out.reshape(-1))
    return out
