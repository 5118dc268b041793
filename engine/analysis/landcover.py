"""Class maps of one date over a window: thresholds adapted per scene, classified strip by strip."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from engine.analysis.classes import MEASURED, LandCover
from engine.analysis.classify import REQUIRED, Thresholds, adapt, classify
from engine.scene import indices
from engine.scene.product import Product
from engine.scene.reader import DEFAULT_BUDGET_MB, ProgressFn, SceneReader
from engine.scene.summary import CHUNK, RunningStats
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

    def counts(self, row_areas_m2: np.ndarray) -> dict[LandCover, float]:
        """Area in m² per class, using each row's pixel area."""
        areas: dict[LandCover, float] = {}
        for cls in (LandCover.INVALID, *MEASURED):
            per_row = np.count_nonzero(self.classes == cls, axis=1)
            areas[cls] = float(per_row @ row_areas_m2)
        return areas


def classify_window(product: Product, window: Window, thresholds: Thresholds, grid_reader: SceneReader,
                    budget_mb: int = DEFAULT_BUDGET_MB, progress: ProgressFn | None = None) -> ClassMap:
    """Classify ``window`` of ``product`` (read through ``grid_reader``, already on the target grid)."""
    grid_reader.require(REQUIRED, "land-cover classification")
    roles = tuple(r for r in BandRole if r in product.bands)
    sample = grid_reader.read_sample(window, roles)
    resolved, how = adapt(thresholds, sample.bands, sample.valid)
    classes = np.empty((int(window.height), int(window.width)), np.uint8)
    row0 = int(window.row_off)
    computable = indices.available(roles)
    stats = {ix: RunningStats() for ix in computable}
    for block in grid_reader.iter_blocks(window, roles, budget_mb, progress):
        r = int(block.window.row_off) - row0
        classes[r:r + int(block.window.height)] = classify(block.bands, block.valid, resolved)
        if block.valid.any():
            for ix in computable:
                values = indices.compute(ix, block.bands)[block.valid]
                for start in range(0, values.size, CHUNK):
                    stats[ix].push(values[start:start + CHUNK])
    method = f"baseline spectral rules (NDVI, {'MNDWI' if BandRole.SWIR1 in roles else 'NDWI'}, red-blue); {how}"
    log.info("%s classified: %s", product.name, method)
    return ClassMap(classes=classes, window=window, thresholds=resolved, method=method,
                    index_means={ix.value: stats[ix].to_dict()["mean"] for ix in computable})
