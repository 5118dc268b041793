"""Class maps of one date over a window: thresholds adapted per scene, classified strip by strip."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from engine.analysis import kernels
from engine.analysis.areas import PixelAreas
from engine.analysis.classes import MEASURED, LandCover
from engine.analysis.classify import KERNEL_ROLES, REQUIRED, IndexSums, Thresholds, adapt, classify_flat
from engine.scene import indices
from engine.scene.product import Product
from engine.scene.reader import DEFAULT_BUDGET_MB, ProgressFn, SceneReader
from engine.types import BandRole

log = logging.getLogger(__name__)


@dataclass
class ClassMap:
    """Land-cover codes of one date over ``window`` (uint8, ``LandCover``), with how they were made."""

    classes: np.ndarray
    window: Window
    thresholds: Thresholds
    method: str
    index_means: dict[str, float | None]  # over valid pixels

    def counts(self, pixel_areas: PixelAreas) -> dict[LandCover, float]:
        """Area in m² per class, from every pixel's ground area."""
        areas: dict[LandCover, float] = {}
        cols = np.ascontiguousarray(pixel_areas.cols, dtype=np.float64)
        weighted = np.concatenate(kernels.by_row_blocks(
            lambda r: kernels.row_class_areas(self.classes[r], 8, cols), self.classes.shape[0]))
        per_class = weighted.T @ pixel_areas.rows_m2
        for cls in (LandCover.INVALID, *MEASURED):
            areas[cls] = float(per_class[cls])
        return areas


def scene_thresholds(product: Product, window: Window, thresholds: Thresholds,
                     grid_reader: SceneReader) -> tuple[Thresholds, str]:
    """The thresholds for ``window`` (its water threshold from a sample of it) and the method, in words."""
    grid_reader.require(REQUIRED, "land-cover classification")
    roles = tuple(r for r in BandRole if r in product.bands)
    sample = grid_reader.read_sample(window, roles)
    resolved, how = adapt(thresholds, sample.bands, sample.valid)
    method = f"baseline spectral rules (NDVI, {'MNDWI' if BandRole.SWIR1 in roles else 'NDWI'}, red-blue); {how}"
    return resolved, method


def classify_window(product: Product, window: Window, thresholds: Thresholds, grid_reader: SceneReader,
                    budget_mb: int = DEFAULT_BUDGET_MB, progress: ProgressFn | None = None,
                    adapted: tuple[Thresholds, str] | None = None, index_sums: IndexSums | None = None) -> ClassMap:
    """Classify ``window`` of ``product`` (read through ``grid_reader``, already on the target grid).

    ``adapted``: thresholds and method already chosen for a larger window this one is part of (a chunk);
    ``index_sums``: where to add the index sums (shared by the chunks of one window).
    """
    resolved, method = adapted or scene_thresholds(product, window, thresholds, grid_reader)
    roles = tuple(r for r in BandRole if r in product.bands)
    classes = np.empty((int(window.height), int(window.width)), np.uint8)
    row0, col0 = int(window.row_off), int(window.col_off)
    used = tuple(r for r in KERNEL_ROLES if r in product.bands)
    calibrations = {r: product.bands[r].calibration for r in used}
    sums = index_sums if index_sums is not None else IndexSums()
    for strip, raw, valid in grid_reader.iter_raw(window, used, budget_mb, progress):
        r, c = int(strip.row_off) - row0, int(strip.col_off) - col0
        h, w = int(strip.height), int(strip.width)
        whole_rows = w == int(window.width)  # then the rows are contiguous: classified in place
        out = classes[r:r + h].reshape(-1) if whole_rows else np.empty(h * w, np.uint8)
        classify_flat({role: band.reshape(-1) for role, band in raw.items()}, valid.reshape(-1), resolved,
                      out, calibrations, sums)
        if not whole_rows:  # a piece of a strip too wide for the reading budget
            classes[r:r + h, c:c + w] = out.reshape(h, w)
    log.info("%s classified: %s", product.name, method)
    return ClassMap(classes=classes, window=window, thresholds=resolved, method=method,
                    index_means=sums.means(indices.available(roles)))
