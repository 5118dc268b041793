"""Caches of analysis results, outside the user's folders, with a size cap.

Two layers, both keyed by the identity of every input file (absolute path,
size, modification time) and every parameter that changes the result:

- class maps per date (``<key>.classes.tif`` plus metadata), so a new zone file or
  minimum mapping unit does not reclassify;
- whole results (facts and findings, ``<key>.json``), so a repeated question
  on the same extent does not recompute at all.

Entries are written atomically; the oldest are evicted when the folder exceeds
``LANDUSE_CACHE_MB`` (default 2048 MB).
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
from engine.scene.overviews import cache_dir
from engine.scene.product import Grid, Product
from engine.scene.rasterio_io import gdal_env

log = logging.getLogger(__name__)

CACHE_VERSION = 3  # bump when classification or facts change meaning


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
    """Class maps and results on disk under the engine's cache folder."""

    def __init__(self, root: Path | None = None, max_mb: int | None = None):
        self.root = (root or cache_dir()) / "analysis"
        self.max_bytes = int(max_mb if max_mb is not None else int(os.environ.get("LANDUSE_CACHE_MB", "2048"))) << 20

    # -- class maps ----------------------------------------------------------------------------
    def class_map_key(self, product: Product, grid: Grid, window: Window, thresholds: Thresholds) -> str:
        return make_key("classmap", product_identity(product), grid_identity(grid, window), thresholds.to_dict())

    def load_class_map(self, key: str) -> tuple[np.ndarray, dict[str, object]] | None:
        path = self.root / f"{key}.classes.tif"
        meta_path = self.root / f"{key}.classes.json"
        if not (path.exists() and meta_path.exists()):
            return None
        try:
            with gdal_env(), warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(path) as src:
                    classes = src.read(1)
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError, rasterio.errors.RasterioError) as exc:
            log.warning("ignoring unreadable cache entry %s: %s", path.name, exc)
            return None
        os.utime(path)
        os.utime(meta_path)
        return classes, meta

    def save_class_map(self, key: str, classes: np.ndarray, meta: dict[str, object]) -> None:
        """Store as a tiled GeoTIFF with fast deflate (class maps compress well; GDAL compresses in threads)."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f"{key}.classes.tmp.tif"
        profile = {"driver": "GTiff", "width": classes.shape[1], "height": classes.shape[0], "count": 1,
                   "dtype": "uint8", "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate",
                   "zlevel": 1, "num_threads": "ALL_CPUS"}
        with gdal_env(), warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)  # plain arrays: no georeference needed
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(classes, 1)
        os.replace(tmp, self.root / f"{key}.classes.tif")
        (self.root / f"{key}.classes.json").write_text(json.dumps(meta))
        self.evict()

    # -- whole results -------------------------------------------------------------------------
    def load_result(self, key: str, part: str = "facts") -> dict[str, object] | None:
        """A stored part of a result (``facts`` or ``findings``), or None."""
        path = self.root / f"{key}.{part}.json"
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable cache entry %s: %s", path.name, exc)
            return None
        os.utime(path)
        return data

    def save_result(self, key: str, parts: dict[str, dict[str, object]]) -> None:
        """Store each part as its own file, so facts load without the (larger) findings."""
        self.root.mkdir(parents=True, exist_ok=True)
        for part, data in parts.items():
            tmp = self.root / f"{key}.{part}.tmp.json"
            tmp.write_text(json.dumps(data, ensure_ascii=False))
            os.replace(tmp, self.root / f"{key}.{part}.json")
        self.evict()

    def evict(self) -> None:
        """Remove the least recently used entries while the folder is over its cap."""
        entries = [(p.stat().st_mtime, p.stat().st_size, p) for p in self.root.glob("*") if p.is_file()]
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            log.info("cache: evicted %s", path.name)
