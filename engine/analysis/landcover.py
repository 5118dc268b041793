"""Class maps of one date over a window: thresholds adapted per scene, classified strip by strip."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from engine.analysis.areas import area_by_value
from engine.analysis.classes import MEASURED, LandCover
from engine.analysis.classify import REQUIRED, Thresholds, adapt, classify, water_index
from engine.scene import indices
from engine.scene.indices import Index
from engine.scene.product import Product
from engine.scene.reader import CHUNK, DEFAULT_BUDGET_MB, ProgressFn, SceneReader
from engine.scene.summary import RunningStats
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
        per_class = area_by_value(self.classes, 7, row_areas_m2)
        for cls in (LandCover.INVALID, *MEASURED):
            areas[cls] = float(per_class[cls])
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
    scratch = {ix: np.empty(CHUNK, np.float32) for ix in computable}
    w1, w2 = (np.empty(CHUNK, np.float32) for _ in range(2))
    for chunk in grid_reader.iter_chunks(window, roles, roles, budget_mb, progress):
        ok, n = chunk.valid, chunk.valid.size
        values = {ix: indices.compute(ix, chunk.bands, scratch[ix][:n], (w1[:n], w2[:n]), zero_as_nan=False)
                  for ix in computable}
        water = values.get(Index.MNDWI)
        if water is None:
            _, water = water_index(chunk.bands)
        r = int(chunk.strip.row_off) - row0
        target = classes[r:r + int(chunk.strip.height)].reshape(-1)
        target[chunk.start:chunk.start + n] = classify(chunk.bands, ok, resolved, values[Index.NDVI], water)
        n_ok = int(np.count_nonzero(ok))
        if n_ok:
            for ix, v in values.items():
                stats[ix].push(v if n_ok == n else v[ok], extremes=False)
    method = f"baseline spectral rules (NDVI, {'MNDWI' if BandRole.SWIR1 in roles else 'NDWI'}, red-blue); {how}"
    log.info("%s classified: %s", product.name, method)
    return ClassMap(classes=classes, window=window, thresholds=resolved, method=method,
                    index_means={ix.value: stats[ix].to_dict()["mean"] for ix in computable})
