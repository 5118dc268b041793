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

from dataclasses import asdict, dataclass, replace

import numpy as np

from engine.analysis.classes import LandCover
from engine.errors import MissingBandError
from engine.scene.indices import Index, compute
from engine.types import BandRole

REQUIRED = (BandRole.BLUE, BandRole.GREEN, BandRole.RED, BandRole.NIR)
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


def classify(bands: dict[BandRole, np.ndarray], valid: np.ndarray, t: Thresholds,
             ndvi: np.ndarray | None = None, water: np.ndarray | None = None) -> np.ndarray:
    """Class codes (uint8, ``LandCover``) for calibrated reflectance ``bands``.

    ``ndvi`` and ``water`` (the water index) may be passed when the caller has
    them already, e.g. for index statistics, so they are not computed twice.
    """
    missing = [r.value for r in REQUIRED if r not in bands]
    if missing:
        raise MissingBandError(f"land-cover classification needs {', '.join(missing)} bands")
    if t.water_mndwi is None:
        raise ValueError("classify needs a resolved water threshold; call adapt() first")
    blue, green, red, nir = (bands[r] for r in REQUIRED)
    with np.errstate(divide="ignore", invalid="ignore"):
        if ndvi is None:
            ndvi = (nir - red) / (nir + red)
        if water is None:
            _, water = water_index(bands)
        # (red - blue) / (red + blue) >= b, without the division (reflectance sums are positive)
        bare = (red - blue) >= t.bare_red_blue_min * (red + blue)
    out = np.full(valid.shape, LandCover.BUILT_UP, np.uint8)
    # np.copyto(where=) is markedly faster than boolean-index assignment on these chunks
    np.copyto(out, np.uint8(LandCover.BARE), where=bare)
    vegetation = ndvi >= t.vegetation_ndvi
    if BandRole.SWIR2 in bands:
        woody = bands[BandRole.SWIR2] < t.forest_swir2_max
    else:
        woody = (blue + green + red) < 3 * t.forest_visible_max
    np.copyto(out, np.uint8(LandCover.CROPLAND), where=vegetation)
    np.copyto(out, np.uint8(LandCover.FOREST), where=vegetation & woody)
    np.copyto(out, np.uint8(LandCover.WATER), where=(water > t.water_mndwi) & (ndvi < t.water_ndvi_max))
    np.copyto(out, np.uint8(LandCover.INVALID), where=~(valid & np.isfinite(ndvi)))
    return out
