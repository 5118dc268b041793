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
import itertools
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from engine.errors import CorruptRasterError, ExtentTooLargeError, MissingBandError
from engine.scene.decimate import block_mean, resize_to
from engine.scene.masks import decode_mask, valid_pixels
from engine.scene.product import BandSource, Grid, MaskSource, Product
from engine.scene.rasterio_io import gdal_env, open_raster
from engine.types import BandRole, Calibration

log = logging.getLogger(__name__)

DEFAULT_BUDGET_MB = 256
SINGLE_BLOCK_SLACK = 4  # a file block may exceed the reading budget this many times before it is refused
CHUNK = 1 << 16  # pixels per cache-resident chunk; 2**16 * 65535 < 2**32, so 16-bit sums fit 32 bits
ProgressFn = Callable[[int, int], None]
_T = TypeVar("_T")
RawStrip = tuple[Window, dict[BandRole, np.ndarray], np.ndarray]  # strip, raw DNs by role, validity


@dataclass
class Chunk:
    """A flat, cache-sized piece of one strip: raw DNs, validity and calibrated reflectance.

    ``bands`` are views into buffers reused for the next chunk: use them before advancing.
    """

    strip: Window
    start: int  # offset of the chunk in the flattened strip
    valid: np.ndarray  # bool, 1-D
    raw: dict[BandRole, np.ndarray]  # raw DNs, 1-D views of the strip
    bands: dict[BandRole, np.ndarray]  # float32 reflectance for the roles asked calibrated


@dataclass
class Block:
    """Calibrated reflectance for some roles over one window, plus validity."""

    window: Window
    bands: dict[BandRole, np.ndarray]  # float32, shape (rows, cols)
    valid: np.ndarray  # bool, shape (rows, cols)


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
        """Raw DNs per role and the validity mask (nodata, warped coverage, QA).

        With ``out_shape`` smaller than the window, values are area averages
        (float32) over valid pixels: from overviews when the file has them at
        that scale, otherwise from full-resolution strips averaged in numpy.
        """
        self.require(roles, "this read")
        shape = out_shape or (int(window.height), int(window.width))
        factor = self._decimation_factor(window, shape, roles)
        if factor >= 2:
            return self._read_decimated(window, roles, shape, factor)
        valid = np.ones(shape, dtype=bool)
        raw: dict[BandRole, np.ndarray] = {}
        try:
            by_path: dict[str, list[BandRole]] = {}
            for role in roles:
                by_path.setdefault(self.product.bands[role].path, []).append(role)
            mask = self.product.mask
            full_res = shape == (int(window.height), int(window.width))
            mask_done = False
            for path, group in by_path.items():
                # one read per file: pixel-interleaved stacks decode each tile once (the mask band too)
                view = self._views[path]
                indexes = [self.product.bands[r].band for r in group]
                with_mask = mask is not None and mask.path == path and full_res
                data = view.read(indexes + ([mask.band] if with_mask else []), window=window,
                                 out_shape=(len(indexes) + with_mask, *shape), resampling=resampling)
                qa = None
                if with_mask:
                    data, qa = data[:-1], data[-1]
                    mask_done = True
                sources = [self.product.bands[r] for r in group]
                zero_fill = data.dtype.kind == "u" and all(src.nodata == 0 for src in sources)
                # unsigned DNs with fill 0 (Landsat, Sentinel-2) and the QA band: one pass over the strip
                valid_pixels(data, zero_fill and path not in self._warped, qa, mask.kind if qa is not None else None,
                             valid)
                for role, band, source in zip(group, data, sources, strict=True):
                    raw[role] = band
                    if not (zero_fill and path not in self._warped):
                        self._apply_validity(valid, band, source, view, window, shape)
            if mask is not None and not mask_done:
                valid &= ~self._read_mask(mask, window, shape)
        except rasterio.errors.RasterioIOError as exc:
            raise CorruptRasterError(f"cannot read pixels of {self.product.name}: {exc}") from None
        return raw, valid

    def _decimation_factor(self, window: Window, shape: tuple[int, int], roles: tuple[BandRole, ...]) -> int:
        """Integer block size for numpy decimation, or 1 when GDAL should resample."""
        k = int(min(window.height / shape[0], window.width / shape[1]))
        if k < 2:
            return 1
        paths = {self.product.bands[r].path for r in roles}
        if self.product.mask is not None:
            paths.add(self.product.mask.path)
        for path in paths:
            if path in self._warped:
                return 1
            levels = self._views[path].overviews(1)
            if levels and min(levels) <= k:
                return 1  # GDAL reads a suitable overview
        return k

    def _read_decimated(self, window: Window, roles: tuple[BandRole, ...], shape: tuple[int, int],
                        k: int) -> tuple[dict[BandRole, np.ndarray], np.ndarray]:
        rows_per_strip = max(k, (self.strip_rows(window, len(roles), DEFAULT_BUDGET_MB) // k) * k)
        parts: list[tuple[list[np.ndarray], np.ndarray]] = []
        strips = _strips(window, rows_per_strip)
        for raw, valid in _prefetched(strips, lambda w: self.read_raw(w, roles)):
            parts.append(block_mean([raw[r] for r in roles], valid, k))
        means = [np.concatenate([p[0][i] for p in parts]) for i in range(len(roles))]
        valid = np.concatenate([p[1] for p in parts])
        means, valid = resize_to(means, valid, shape)
        return dict(zip(roles, means, strict=True)), valid

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
        return {role: calibrate(data, self.product.bands[role].calibration) for role, data in raw.items()}

    def read_sample(self, window: Window, roles: tuple[BandRole, ...], max_pixels: int = 1 << 21) -> Block:
        """A sample of ``window`` of about ``max_pixels`` for scene statistics (thresholds, stretch).

        From overviews when the files have them; otherwise whole blocks of the
        file spread over the window on a Fibonacci lattice (rows evenly, columns
        by the golden ratio), so no pass over the whole window is spent on a
        sample and no block is decoded for a few of its pixels. The sample's
        arrays are one row of pixels: it has no geometry.
        """
        w, h = int(window.width), int(window.height)
        if w * h <= max_pixels:
            return self.read(window, roles)
        scale = (max_pixels / (w * h)) ** 0.5
        shape = (max(1, int(h * scale)), max(1, int(w * scale)))
        paths = {self.product.bands[r].path for r in roles}
        if all(p in self._warped or self._views[p].overviews(1) for p in paths):
            return self.read(window, roles, shape)  # overviews (or the warper) serve it
        blocks = [self.read(cell, roles) for cell in _sample_cells(window, self._block_shape(), max_pixels)]
        return Block(window=window,
                     bands={r: np.concatenate([b.bands[r].reshape(-1) for b in blocks])[None] for r in roles},
                     valid=np.concatenate([b.valid.reshape(-1) for b in blocks])[None])

    def _block_shape(self) -> tuple[int, int]:
        first = self.product.bands[next(iter(self.product.bands))]
        if first.path in self._warped:
            return 256, 256
        return self._views[first.path].block_shapes[0]

    def strip_rows(self, window: Window, n_roles: int, budget_mb: int, calibrated: bool = False) -> int:
        """Rows per strip so that two strips in flight (raw, validity, floats) fit ``budget_mb``.

        Strips are whole rows of the file's blocks, so no block is decoded twice;
        when one block row alone exceeds the budget, one block row it is (and
        ``strip_cols`` cuts it into pieces across).
        """
        budget_px = self._budget_px(n_roles, budget_mb, calibrated)
        rows = max(1, int(budget_px / int(window.width)))
        block_h, block_w = self._block_shape()
        if block_h * block_w > SINGLE_BLOCK_SLACK * budget_px:  # GDAL decodes a block whole: no piece is smaller
            name = Path(self.product.bands[next(iter(self.product.bands))].path).name
            raise ExtentTooLargeError(
                f"{name} is stored in blocks of {block_w:,} × {block_h:,} px, each more than --budget-mb "
                f"{budget_mb} MB allows to read; rewrite it tiled (gdal_translate -co TILED=YES in.tif out.tif) "
                "or give a larger --budget-mb")
        return max(block_h, rows - rows % block_h)

    def strip_cols(self, window: Window, rows: int, n_roles: int, budget_mb: int, calibrated: bool = False) -> int:
        """Columns per piece of a strip of ``rows`` rows: the whole width unless that exceeds ``budget_mb``."""
        cols = int(self._budget_px(n_roles, budget_mb, calibrated) / max(1, rows))
        if cols >= int(window.width):
            return int(window.width)
        block_w = self._block_shape()[1]
        return max(block_w, cols - cols % block_w)

    @staticmethod
    def _budget_px(n_roles: int, budget_mb: int, calibrated: bool) -> float:
        bytes_per_pixel = 2 * (n_roles * (4 + (4 if calibrated else 0)) + 1)  # two strips: prefetch
        return budget_mb * 2**20 / bytes_per_pixel

    def iter_raw(self, window: Window, roles: tuple[BandRole, ...], budget_mb: int = DEFAULT_BUDGET_MB,
                 progress: ProgressFn | None = None, calibrated: bool = False) -> Iterator[RawStrip]:
        """(strip, raw DNs by role, validity) covering ``window``, read one strip ahead."""
        self.require(roles, "this read")
        rows = self.strip_rows(window, len(roles), budget_mb, calibrated)
        strips = _pieces(window, rows, self.strip_cols(window, rows, len(roles), budget_mb, calibrated))
        row0, total = int(window.row_off), int(window.height)
        col_end = int(window.col_off + window.width)
        for strip, (raw, valid) in zip(strips, _prefetched(strips, lambda w: self.read_raw(w, roles)), strict=True):
            yield strip, raw, valid
            if progress is not None and int(strip.col_off + strip.width) == col_end:  # a strip's last piece
                progress(int(strip.row_off + strip.height) - row0, total)

    def iter_chunks(self, window: Window, roles: tuple[BandRole, ...], calibrated: tuple[BandRole, ...],
                    budget_mb: int = DEFAULT_BUDGET_MB, progress: ProgressFn | None = None) -> Iterator[Chunk]:
        """Cache-sized chunks of ``window``: raw DNs of ``roles``, reflectance of ``calibrated``.

        Working a chunk at a time keeps numpy temporaries in the CPU cache, which
        costs about a quarter of whole-strip temporaries.
        """
        calibrations = {r: self.product.bands[r].calibration for r in roles}
        yield from _chunks(self.iter_raw(window, roles, budget_mb, progress), roles, calibrations, calibrated)

    def iter_blocks(self, window: Window, roles: tuple[BandRole, ...], budget_mb: int = DEFAULT_BUDGET_MB,
                    progress: ProgressFn | None = None) -> Iterator[Block]:
        """Calibrated strips covering ``window``, read one strip ahead."""
        for strip, raw, valid in self.iter_raw(window, roles, budget_mb, progress, calibrated=True):
            yield Block(window=strip, bands=self.calibrate(raw), valid=valid)


def _chunks(strips: Iterator[RawStrip], roles: tuple[BandRole, ...], calibrations: dict[BandRole, Calibration],
            calibrated: tuple[BandRole, ...]) -> Iterator[Chunk]:
    buffers = {r: np.empty(CHUNK, np.float32) for r in calibrated}
    for strip, raw, valid in strips:
        flat_valid = valid.reshape(-1)
        flat_raw = {r: raw[r].reshape(-1) for r in roles}
        for start in range(0, flat_valid.size, CHUNK):
            n = min(CHUNK, flat_valid.size - start)
            chunk_raw = {r: flat_raw[r][start:start + n] for r in roles}
            bands = {r: calibrate(chunk_raw[r], calibrations[r], buffers[r][:n]) for r in calibrated}
            yield Chunk(strip, start, flat_valid[start:start + n], chunk_raw, bands)


def calibrate(data: np.ndarray, cal: Calibration, out: np.ndarray | None = None) -> np.ndarray:
    """Reflectance ``(dn * scale + offset) / sun_factor`` as float32 (into ``out`` if given)."""
    scale = np.float32(cal.scale / cal.sun_factor)
    offset = np.float32(cal.offset / cal.sun_factor)
    if cal.is_identity():
        return data.astype(np.float32) if out is None else np.copyto(out, data, casting="unsafe") or out
    values = np.multiply(data, scale, out=out, dtype=np.float32)
    values += offset
    return values


_GOLDEN = (5**0.5 - 1) / 2


def _sample_cells(window: Window, block: tuple[int, int], max_pixels: int) -> list[Window]:
    """About ``max_pixels`` worth of whole file blocks inside ``window``, spread over it."""
    bh, bw = block
    row0, col0 = int(window.row_off), int(window.col_off)
    row_end, col_end = row0 + int(window.height), col0 + int(window.width)
    first_r, first_c = -(-row0 // bh) * bh, -(-col0 // bw) * bw  # first block edges inside the window
    if first_r + bh > row_end:  # no whole block fits across: start at the window's edge
        first_r = row0
    if first_c + bw > col_end:
        first_c = col0
    n_rows, n_cols = max(1, (row_end - first_r) // bh), max(1, (col_end - first_c) // bw)
    cell_px = min(bh, row_end - first_r) * min(bw, col_end - first_c)
    n = min(n_rows * n_cols, max(1, -(-max_pixels // cell_px)))
    cells = {(int((k + 0.5) / n * n_rows), int((k * _GOLDEN) % 1 * n_cols)) for k in range(n)}
    return [Window(first_c + c * bw, first_r + r * bh, bw, bh).intersection(window) for r, c in sorted(cells)]


def _strips(window: Window, rows: int) -> list[Window]:
    """Strips of ``window`` whose edges fall on absolute multiples of ``rows`` (block-aligned)."""
    row0, row_end = int(window.row_off), int(window.row_off + window.height)
    edges = [row0, *range((row0 // rows + 1) * rows, row_end, rows), row_end]
    return [Window(window.col_off, a, window.width, b - a) for a, b in itertools.pairwise(edges)]


def _pieces(window: Window, rows: int, cols: int) -> list[Window]:
    """Strips of ``rows`` (block-aligned), each cut into pieces of ``cols`` columns when narrower than the window."""
    if cols >= int(window.width):
        return _strips(window, rows)
    col0, col_end = int(window.col_off), int(window.col_off + window.width)
    edges = [col0, *range((col0 // cols + 1) * cols, col_end, cols), col_end]
    return [Window(a, strip.row_off, b - a, strip.height) for strip in _strips(window, rows)
            for a, b in itertools.pairwise(edges)]


def _prefetched(items: list[Window], read: Callable[[Window], _T]) -> Iterator[_T]:
    """``read(item)`` for each item, the next one running in a background thread meanwhile."""
    if not items:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scene-read") as pool:
        pending = pool.submit(read, items[0])
        for i in range(len(items)):
            result = pending.result()
            if i + 1 < len(items):
                pending = pool.submit(read, items[i + 1])
            yield result
