"""Reading calibrated reflectance from a ``Product``, block by block.

``SceneReader`` is a context manager that opens every file of a product once.
Bands (and a second date's bands) whose grid differs from the target grid are
read through a ``WarpedVRT`` onto it, so everything downstream sees one grid.
``iter_blocks`` walks a window in strips sized from a memory budget, reading
the next strip in a background thread while the caller works on the current one
(GDAL releases the GIL while it decodes).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from engine.errors import CorruptRasterError, MissingBandError
from engine.scene.product import BandSource, Grid, MaskKind, MaskSource, Product
from engine.scene.rasterio_io import gdal_env, open_raster
from engine.types import BandRole

log = logging.getLogger(__name__)

DEFAULT_BUDGET_MB = 256
ProgressFn = Callable[[int, int], None]


@dataclass
class Block:
    """Calibrated reflectance for some roles over one window, plus validity."""

    window: Window
    bands: dict[BandRole, np.ndarray]  # float32, shape (rows, cols)
    valid: np.ndarray  # bool, shape (rows, cols)


def decode_mask(qa: np.ndarray, kind: MaskKind) -> np.ndarray:
    """True where the quality band marks a pixel invalid (fill, cloud, shadow)."""
    qa = qa.astype(np.uint32, copy=False)
    if kind is MaskKind.LANDSAT_QA_PIXEL:
        return (qa & 0b11111) != 0  # fill, dilated cloud, cirrus, cloud, shadow
    if kind is MaskKind.LANDSAT_BQA_C1:
        fill = (qa & 1) != 0
        cloud = (qa & (1 << 4)) != 0
        shadow_high = ((qa >> 7) & 0b11) == 3
        cirrus_high = ((qa >> 11) & 0b11) == 3
        return fill | cloud | shadow_high | cirrus_high
    if kind is MaskKind.S2_SCL:
        return np.isin(qa, (0, 1, 3, 8, 9, 10))
    return qa != 0


def missing_band_error(product: Product, needed: tuple[BandRole, ...], why: str) -> MissingBandError:
    missing = [r.value for r in needed if r not in product.bands]
    have = ", ".join(r.value for r in product.roles) or "none"
    return MissingBandError(
        f"{product.name} has no {', '.join(missing)} band, which {why} needs "
        f"(bands present: {have}); map it with --band-map ROLE=INDEX if it is there under another name"
    )


class SceneReader:
    """Open a product's files once and read calibrated windows on ``grid``."""

    def __init__(self, product: Product, grid: Grid | None = None):
        self.product = product
        self.grid = grid or product.grid
        self._datasets: dict[str, rasterio.io.DatasetReader] = {}
        self._views: dict[str, rasterio.io.DatasetReaderBase] = {}
        self._stack = contextlib.ExitStack()
        self._warped: set[str] = set()

    def __enter__(self) -> SceneReader:
        self._stack.enter_context(gdal_env())
        paths = [b.path for b in self.product.bands.values()]
        if self.product.mask is not None:
            paths.append(self.product.mask.path)
        try:
            for path in dict.fromkeys(paths):
                self._open(path)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._views.clear()
        self._datasets.clear()
        self._stack.close()

    def _open(self, path: str) -> None:
        src = self._stack.enter_context(open_raster(path))
        self._datasets[path] = src
        src_crs = src.crs if src.crs else self.product.grid.crs
        same = (
            src.width == self.grid.width and src.height == self.grid.height
            and src.transform.almost_equals(self.grid.transform, precision=1e-9)
            and src_crs == self.grid.crs
        )
        if same:
            self._views[path] = src
            return
        is_mask = self.product.mask is not None and self.product.mask.path == path
        nodata = src.nodata
        self._views[path] = self._stack.enter_context(WarpedVRT(
            src, src_crs=src_crs, crs=self.grid.crs, transform=self.grid.transform,
            width=self.grid.width, height=self.grid.height,
            resampling=Resampling.nearest, add_alpha=nodata is None and not is_mask,
            **({"src_nodata": nodata, "nodata": nodata} if nodata is not None else {}),
        ))
        self._warped.add(path)
        log.debug("%s is read through a WarpedVRT onto the target grid", path)

    # -- reading -----------------------------------------------------------
    def require(self, roles: tuple[BandRole, ...], why: str) -> None:
        if any(r not in self.product.bands for r in roles):
            raise missing_band_error(self.product, roles, why)

    def read_raw(self, window: Window, roles: tuple[BandRole, ...],
                 out_shape: tuple[int, int] | None = None,
                 resampling: Resampling = Resampling.average) -> tuple[dict[BandRole, np.ndarray], np.ndarray]:
        """Raw DNs per role and the validity mask (nodata, warped coverage, QA)."""
        self.require(roles, "this read")
        shape = out_shape or (int(window.height), int(window.width))
        valid = np.ones(shape, dtype=bool)
        raw: dict[BandRole, np.ndarray] = {}
        try:
            by_path: dict[str, list[BandRole]] = {}
            for role in roles:
                by_path.setdefault(self.product.bands[role].path, []).append(role)
            for path, group in by_path.items():
                # one read per file: pixel-interleaved stacks decode each tile once
                view = self._views[path]
                indexes = [self.product.bands[r].band for r in group]
                data = view.read(indexes, window=window, out_shape=(len(indexes), *shape), resampling=resampling)
                for role, band in zip(group, data, strict=True):
                    raw[role] = band
                    self._apply_validity(valid, band, self.product.bands[role], view, window, shape)
            if self.product.mask is not None:
                valid &= ~self._read_mask(self.product.mask, window, shape)
        except rasterio.errors.RasterioIOError as exc:
            raise CorruptRasterError(f"cannot read pixels of {self.product.name}: {exc}") from None
        return raw, valid

    def _apply_validity(self, valid: np.ndarray, data: np.ndarray, source: BandSource,
                        view: rasterio.io.DatasetReaderBase, window: Window, shape: tuple[int, int]) -> None:
        if source.nodata is not None and not np.isnan(source.nodata):
            valid &= data != source.nodata
        if data.dtype.kind == "f":
            valid &= np.isfinite(data)
        if source.path in self._warped and source.nodata is None:
            valid &= view.read_masks(source.band, window=window, out_shape=shape) != 0

    def _read_mask(self, mask: MaskSource, window: Window, shape: tuple[int, int]) -> np.ndarray:
        view = self._views[mask.path]
        qa = view.read(mask.band, window=window, out_shape=shape, resampling=Resampling.nearest)
        return decode_mask(qa, mask.kind)

    def read(self, window: Window, roles: tuple[BandRole, ...],
             out_shape: tuple[int, int] | None = None,
             resampling: Resampling = Resampling.average) -> Block:
        """Calibrated float32 reflectance for ``roles`` over ``window``."""
        raw, valid = self.read_raw(window, roles, out_shape, resampling)
        return Block(window=window, bands=self.calibrate(raw), valid=valid)

    def calibrate(self, raw: dict[BandRole, np.ndarray]) -> dict[BandRole, np.ndarray]:
        out: dict[BandRole, np.ndarray] = {}
        for role, data in raw.items():
            cal = self.product.bands[role].calibration
            values = data.astype(np.float32)
            if not cal.is_identity():
                values *= np.float32(cal.scale)
                values += np.float32(cal.offset)
                if cal.sun_factor != 1.0:
                    values /= np.float32(cal.sun_factor)
            out[role] = values
        return out

    def strip_rows(self, window: Window, n_roles: int, budget_mb: int) -> int:
        """Rows per strip so that one strip (raw + float32 + indices) fits ``budget_mb``."""
        bytes_per_pixel = n_roles * 6 + 4 * 5 + 2  # raw + float32 per band, indices, masks
        rows = max(1, int(budget_mb * 2**20 / 3 / (bytes_per_pixel * int(window.width))))
        first = self.product.bands[next(iter(self.product.bands))]
        block_h = self._views[first.path].block_shapes[0][0] if first.path not in self._warped else 256
        if rows >= block_h:
            rows -= rows % block_h
        return rows

    def iter_blocks(self, window: Window, roles: tuple[BandRole, ...],
                    budget_mb: int = DEFAULT_BUDGET_MB,
                    progress: ProgressFn | None = None) -> Iterator[Block]:
        """Calibrated strips covering ``window``, read one strip ahead."""
        self.require(roles, "this read")
        rows = self.strip_rows(window, len(roles), budget_mb)
        row0, row_end = int(window.row_off), int(window.row_off + window.height)
        strips = [Window(window.col_off, r, window.width, min(rows, row_end - r))
                  for r in range(row0, row_end, rows)]
        total = int(window.height)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scene-read") as pool:
            pending = pool.submit(self.read_raw, strips[0], roles)
            for i, strip in enumerate(strips):
                raw, valid = pending.result()
                if i + 1 < len(strips):
                    pending = pool.submit(self.read_raw, strips[i + 1], roles)
                yield Block(window=strip, bands=self.calibrate(raw), valid=valid)
                if progress is not None:
                    progress(int(strip.row_off + strip.height) - row0, total)
