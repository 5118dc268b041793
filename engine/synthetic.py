"""Synthetic Sentinel-2 L2A-like scenes with known land cover and planted changes.

Used by the tests, the benchmarks and offline demos. Each date is one tiled,
deflate-compressed GeoTIFF stack (bands described ``B02``, ``B03``, ``B04``,
``B08``, ``B11``, ``B12`` and optionally ``SCL``) holding DNs as Sentinel-2
L2A does from processing baseline 04.00: ``DN = reflectance * 10000 + 1000``.
Alongside each date, a truth raster holds the class of every pixel (255 where
invalid). Scenes of any size are written strip by strip in bounded memory.

Class reflectances are typical values read off published spectral libraries
(water dark and falling into the SWIR; vegetation bright in the NIR; built-up
and bare soil brighter in SWIR1 than NIR), not measurements of any site.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling

log = logging.getLogger(__name__)

#: Truth class codes of synthetic scenes (255 = invalid: nodata or cloud).
CLASS_CODES = {"water": 1, "built_up": 2, "bare": 3, "cropland_grassland": 4, "forest": 5}
INVALID_CODE = 255

#: Band order of the stack and reflectance per class in that order.
BANDS = ("B02", "B03", "B04", "B08", "B11", "B12")
REFLECTANCE = {
    "water": (0.060, 0.070, 0.050, 0.030, 0.015, 0.010),
    "built_up": (0.120, 0.130, 0.150, 0.200, 0.260, 0.230),
    "bare": (0.150, 0.190, 0.230, 0.270, 0.330, 0.290),
    "cropland_grassland": (0.040, 0.080, 0.050, 0.350, 0.200, 0.100),
    "forest": (0.030, 0.050, 0.030, 0.300, 0.140, 0.060),
}
# Share of each class among the patches of the first date.
CLASS_SHARE = {"water": 0.10, "built_up": 0.12, "bare": 0.08, "cropland_grassland": 0.45, "forest": 0.25}
S2_OFFSET_DN = 1000
SCL_VEGETATION, SCL_CLOUD_HIGH, SCL_NODATA = 4, 9, 0


@dataclass(frozen=True)
class Change:
    """A planted change: ``fraction`` of the ``class_from`` patches become ``class_to``."""

    class_from: str
    class_to: str
    fraction: float


@dataclass(frozen=True)
class SyntheticSpec:
    """Size, geometry and content of a synthetic multi-date scene."""

    width: int = 512
    height: int = 512
    pixel_size_m: float = 10.0
    crs: str = "EPSG:32648"  # UTM 48N, western China
    origin: tuple[float, float] = (500000.0, 4000000.0)  # upper-left corner
    dates: tuple[str, ...] = ("2023-05-01", "2024-05-01")
    bands: tuple[str, ...] = BANDS
    patch_px: int = 32  # side of the land-cover patches
    noise: float = 0.03  # multiplicative reflectance noise (std)
    cloud_fraction: float = 0.0  # share of patches under cloud in each date after the first
    nodata_border_px: int = 0  # nodata frame around the scene
    with_scl: bool = True
    changes: tuple[Change, ...] = (Change("cropland_grassland", "built_up", 0.08), Change("forest", "bare", 0.06))
    block_px: int = 512
    overviews: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = [b for b in self.bands if b not in BANDS]
        if unknown:
            raise ValueError(f"unknown synthetic bands {unknown}; choose among {BANDS}")
        if self.width < 1 or self.height < 1 or self.patch_px < 1:
            raise ValueError("width, height and patch_px must be positive")
        if not 0 <= self.cloud_fraction < 1 or not 0 <= self.noise < 1:
            raise ValueError("cloud_fraction and noise must be in [0, 1)")
        for change in self.changes:
            if change.class_from not in CLASS_CODES or change.class_to not in CLASS_CODES:
                raise ValueError(f"unknown class in {change}; classes: {sorted(CLASS_CODES)}")

    @property
    def transform(self) -> Affine:
        return Affine(self.pixel_size_m, 0, self.origin[0], 0, -self.pixel_size_m, self.origin[1])


@dataclass
class SyntheticScene:
    """Paths of what ``write_scene`` wrote, and the truth it planted."""

    spec: SyntheticSpec
    layers: list[Path]  # one stack per date, in date order
    truth: list[Path]  # one class raster per date
    patches: list[np.ndarray] = field(default_factory=list)  # per date, class code per patch


def _patch_classes(spec: SyntheticSpec, rng: np.random.Generator) -> list[np.ndarray]:
    rows = -(-spec.height // spec.patch_px)
    cols = -(-spec.width // spec.patch_px)
    names = list(CLASS_SHARE)
    codes = np.array([CLASS_CODES[n] for n in names], dtype=np.uint8)
    first = rng.choice(codes, size=(rows, cols), p=list(CLASS_SHARE.values()))
    per_date = [first]
    for _ in spec.dates[1:]:
        nxt = per_date[-1].copy()
        for change in spec.changes:
            candidates = np.flatnonzero(nxt == CLASS_CODES[change.class_from])
            n = round(len(candidates) * change.fraction)
            chosen = rng.choice(candidates, size=n, replace=False) if n else []
            nxt.flat[chosen] = CLASS_CODES[change.class_to]
        per_date.append(nxt)
    return per_date


def write_scene(spec: SyntheticSpec, out_dir: str | Path,
                progress: Callable[[int, int], None] | None = None) -> SyntheticScene:
    """Write one stack and one truth raster per date into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    patches = _patch_classes(spec, rng)
    code_to_refl = np.zeros((256, len(spec.bands)), dtype=np.float32)
    band_idx = [BANDS.index(b) for b in spec.bands]
    for name, code in CLASS_CODES.items():
        code_to_refl[code] = np.asarray(REFLECTANCE[name], dtype=np.float32)[band_idx]
    scene = SyntheticScene(spec=spec, layers=[], truth=[], patches=patches)
    steps = len(spec.dates) * (-(-spec.height // spec.block_px))
    done = 0
    for d, date in enumerate(spec.dates):
        dt.date.fromisoformat(date)
        cloudy = (rng.random(patches[d].shape) < spec.cloud_fraction) if d > 0 else np.zeros(patches[d].shape, bool)
        layer = out / f"S2_synthetic_{date.replace('-', '')}.tif"
        truth = out / f"truth_{date.replace('-', '')}.tif"
        count = len(spec.bands) + (1 if spec.with_scl else 0)
        profile = {
            "driver": "GTiff", "width": spec.width, "height": spec.height, "count": count, "dtype": "uint16",
            "crs": spec.crs, "transform": spec.transform, "nodata": 0, "tiled": True,
            "blockxsize": spec.block_px, "blockysize": spec.block_px, "compress": "deflate",
            "interleave": "pixel", "BIGTIFF": "IF_SAFER",
        }
        truth_profile = {**profile, "count": 1, "dtype": "uint8", "nodata": INVALID_CODE}
        with rasterio.open(layer, "w", **profile) as dst, rasterio.open(truth, "w", **truth_profile) as tdst:
            dst.update_tags(ACQUISITION_DATE=date, SPACECRAFT_NAME="Sentinel-2A", PROCESSING_LEVEL="Level-2A",
                            SYNTHETIC="true", BOA_ADD_OFFSET=str(-S2_OFFSET_DN))
            for i, name in enumerate(spec.bands, start=1):
                dst.set_band_description(i, name)
            if spec.with_scl:
                dst.set_band_description(count, "SCL")
            tdst.set_band_description(1, "truth class")
            for row0 in range(0, spec.height, spec.block_px):
                rows = min(spec.block_px, spec.height - row0)
                r_idx = (np.arange(row0, row0 + rows) // spec.patch_px)[:, None]
                c_idx = (np.arange(spec.width) // spec.patch_px)[None, :]
                classes = patches[d][r_idx, c_idx]
                invalid = cloudy[r_idx, c_idx]
                if spec.nodata_border_px:
                    b = spec.nodata_border_px
                    rr = np.arange(row0, row0 + rows)[:, None]
                    cc = np.arange(spec.width)[None, :]
                    border = (rr < b) | (rr >= spec.height - b) | (cc < b) | (cc >= spec.width - b)
                else:
                    border = np.zeros(classes.shape, bool)
                refl = code_to_refl[classes]  # (rows, cols, bands)
                if spec.noise:
                    refl = refl * (1 + rng.normal(0, spec.noise, refl.shape).astype(np.float32))
                dn = np.clip(np.rint(refl * 10000) + S2_OFFSET_DN, 1, 65535).astype(np.uint16)
                cloud_dn = np.uint16(0.45 * 10000 + S2_OFFSET_DN)
                dn[invalid] = cloud_dn
                dn[border] = 0
                window = rasterio.windows.Window(0, row0, spec.width, rows)
                dst.write(np.moveaxis(dn, -1, 0), indexes=list(range(1, len(spec.bands) + 1)), window=window)
                if spec.with_scl:
                    scl = np.full(classes.shape, SCL_VEGETATION, np.uint16)
                    scl[invalid] = SCL_CLOUD_HIGH
                    scl[border] = SCL_NODATA
                    dst.write(scl, count, window=window)
                t = classes.copy()
                t[invalid | border] = INVALID_CODE
                tdst.write(t, 1, window=window)
                done += 1
                if progress is not None:
                    progress(done, steps)
        if spec.overviews:
            with rasterio.open(layer, "r+") as dst:
                dst.build_overviews([2, 4, 8, 16, 32], Resampling.average)
        scene.layers.append(layer)
        scene.truth.append(truth)
        log.info("wrote synthetic %s (%dx%d)", layer.name, spec.width, spec.height)
    return scene
