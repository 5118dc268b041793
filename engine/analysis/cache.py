"""Caches of analysis results, outside the user's folders, with a size cap.

Two layers, both keyed by the identity of every input file (absolute path,
size, modification time) and every parameter that changes the result:

- class maps per date (``<key>.classes.tif`` plus metadata), so a new zone file or
  minimum mapping unit does not reclassify;
- whole results (facts and findings, ``<key>.json``), so a repeated question
  on the same extent does not recompute at all.

Entries are committed whole (``engine.cachefs``: parts, then a manifest with
sizes and hashes) under a cross-process file lock; a damaged entry is recomputed.
The least recently used are evicted when the folder exceeds ``LANDUSE_CACHE_MB``
(default 2048 MB).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

from engine.analysis.classify import Thresholds
from engine.cachefs import EntryStore
from engine.scene.overviews import cache_dir
from engine.scene.product import Grid, Product
from engine.scene.rasterio_io import gdal_env

log = logging.getLogger(__name__)

CACHE_VERSION = 4  # bump when classification or facts change meaning


def file_identity(path: str | Path) -> list[object]:
    p = Path(path)
    try:
        stat = p.stat()
    except OSError:
        return [str(p), None, None]
    return [str(p.resolve()), stat.st_size, stat.st_mtime_ns]


def product_identity(product: Product) -> list[object]:
    files = sorted({b.path for b in product.bands.values()} | ({product.mask.path} if product.mask else set()))
    calibration = sorted((r.value, asdict(b.calibration), b.band, b.nodata) for r, b in product.bands.items())
    return [[file_identity(f) for f in files], calibration, product.sensor.value,
            product.acquired.isoformat() if product.acquired else None]


def make_key(*parts: object) -> str:
    text = json.dumps([CACHE_VERSION, *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def grid_identity(grid: Grid, window: Window) -> list[object]:
    return [grid.crs.to_string(), list(grid.transform)[:6], grid.width, grid.height,
            [int(window.col_off), int(window.row_off), int(window.width), int(window.height)]]


class AnalysisCache:
    """Class maps and results on disk under the engine's cache folder, safe across processes and crashes.

    Each entry is written through ``cachefs.EntryStore`` (parts, then a manifest with sizes and hashes); a
    damaged or incomplete entry is a ``CacheWarning`` and is recomputed. ``lock(key)`` is a file lock that a
    second process waits on while the first computes the entry.
    """

    def __init__(self, root: Path | None = None, max_mb: int | None = None):
        self.root = (root or cache_dir()) / "analysis"
        self.store = EntryStore(self.root)
        self.max_bytes = int(max_mb if max_mb is not None else int(os.environ.get("LANDUSE_CACHE_MB", "2048"))) << 20

    def lock(self, key: str):
        return self.store.lock(key)

    # -- class maps ----------------------------------------------------------------------------
    def class_map_key(self, product: Product, grid: Grid, window: Window, thresholds: Thresholds) -> str:
        return make_key("classmap", product_identity(product), grid_identity(grid, window), thresholds.to_dict())

    def load_class_map(self, key: str, shape: tuple[int, int] | None = None) -> tuple[np.ndarray, dict] | None:
        """A stored class map and its metadata, or None (absent, incomplete or damaged: then recomputed)."""
        parts = self.store.read(key)
        if parts is None:
            return None
        try:
            with gdal_env(), warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(parts["classes"]) as src:
                    classes = src.read(1)
            meta = json.loads(parts["meta"].read_bytes())
            if not isinstance(meta, dict) or not {"thresholds", "method", "index_means"} <= meta.keys():
                raise ValueError("its metadata is incomplete")
            if shape is not None and classes.shape != shape:
                raise ValueError(f"it is {classes.shape}, not {shape}")
        except (OSError, ValueError, KeyError, rasterio.errors.RasterioError) as exc:
            self.store.damaged(key, str(exc))
            return None
        return classes, meta

    def save_class_map(self, key: str, classes: np.ndarray, meta: dict[str, object]) -> None:
        """Store as a tiled GeoTIFF with fast deflate (class maps compress well; GDAL compresses in threads)."""
        profile = {"driver": "GTiff", "width": classes.shape[1], "height": classes.shape[0], "count": 1,
                   "dtype": "uint8", "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate",
                   "zlevel": 1, "num_threads": "ALL_CPUS"}

        def write_tif(path: Path) -> None:
            with gdal_env(), warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)  # plain arrays: no georeference needed
                with rasterio.open(path, "w", **profile) as dst:
                    dst.write(classes, 1)

        self.store.write(key, {"classes": (".tif", write_tif),
                               "meta": (".json", lambda path: path.write_text(json.dumps(meta)))})

    # -- whole results -------------------------------------------------------------------------
    def load_result(self, key: str) -> dict[str, dict[str, object]] | None:
        """A stored result's parts (``facts``, ``findings``), both or neither; None when absent or damaged."""
        parts = self.store.read(key)
        if parts is None:
            return None
        try:
            data = {name: json.loads(path.read_bytes()) for name, path in parts.items()}
            if set(data) != {"facts", "findings"} or not all(isinstance(v, dict) for v in data.values()):
                raise ValueError("it lacks its facts or its findings")
        except (OSError, ValueError) as exc:
            self.store.damaged(key, str(exc))
            return None
        return data

    def save_result(self, key: str, parts: dict[str, dict[str, object]]) -> None:
        """Store the parts as one entry (facts without findings never commit)."""
        self.store.write(key, {name: (".json", _json_writer(data)) for name, data in parts.items()})

    def evict(self) -> None:
        """Remove stale temporary files, then the least recently used entries while over the cap.

        Call it with no entry lock held: an entry locked by anyone, this process included, is kept.
        """
        self.store.sweep(self.max_bytes)


def _json_writer(data: dict[str, object]):
    return lambda path: path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
