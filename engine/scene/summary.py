"""``inspect``: what a layer is and what its pixels look like over an extent.

Statistics are accumulated over valid pixels only, strip by strip (bounded
memory whatever the extent) and in cache-sized chunks (``SceneReader.iter_chunks``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from engine.errors import NoValidPixelsError
from engine.scene import indices
from engine.scene.extent import window_for
from engine.scene.limits import check_full_read
from engine.scene.product import Product
from engine.scene.reader import CHUNK, DEFAULT_BUDGET_MB, ProgressFn, SceneReader
from engine.types import Calibration, Extent


@dataclass
class RunningStats:
    """Mean, min and max over values pushed in chunks.

    Band statistics are taken on raw DNs and mapped to reflectance at the end:
    the calibration is linear, so the mean, min and max map exactly, and
    integer sums are exact. Float chunks are summed in float32 (chunks are
    small, so the rounding error stays near 1e-7 relative) into a float64 total.
    """

    count: int = 0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf

    def push(self, values: np.ndarray, extremes: bool = True) -> None:
        """Add a chunk (at most ``CHUNK`` values, so 16-bit sums fit 32-bit accumulators).

        Non-finite values (NaN, ±inf) are skipped. ``extremes=False`` skips min and max.
        """
        if values.size == 0:
            return
        kind, size = values.dtype.kind, values.dtype.itemsize
        if kind in "ub":
            acc = np.uint32 if size <= 2 and values.size <= CHUNK else np.uint64
        elif kind == "i":
            acc = np.int32 if size <= 2 and values.size <= CHUNK else np.int64
        else:
            acc = None
        total = float(np.add.reduce(values, dtype=acc))
        if not math.isfinite(total):
            values = values[np.isfinite(values)]
            if values.size == 0:
                return
            total = float(np.add.reduce(values))
        self.count += int(values.size)
        self.total += total
        if extremes:  # two more passes; callers that need only the mean skip them
            self.minimum = min(self.minimum, float(values.min()))
            self.maximum = max(self.maximum, float(values.max()))

    def to_dict(self, cal: Calibration | None = None) -> dict[str, float | int | None]:
        """The statistics, mapped through the linear calibration ``cal`` when given."""
        if self.count == 0:
            return {"mean": None, "min": None, "max": None, "count": 0}
        scale = 1.0 if cal is None else cal.scale / cal.sun_factor
        offset = 0.0 if cal is None else cal.offset / cal.sun_factor
        ends = sorted((self.minimum * scale + offset, self.maximum * scale + offset))
        return {"mean": self.total / self.count * scale + offset, "min": ends[0], "max": ends[1],
                "count": self.count}


@dataclass
class SceneSummary:
    """The typed result of ``inspect``; ``to_dict`` gives the CLI's JSON."""

    name: str
    sensor: str
    sensor_label: str
    level: str
    acquired: str | None
    crs: str
    pixel_size: tuple[float, float]
    bounds: tuple[float, float, float, float]
    window: dict[str, int]
    bands: dict[str, dict[str, float | int | str | None]]
    indices: dict[str, dict[str, float | int | None]]
    indices_unavailable: dict[str, str]
    valid_fraction: float
    pixels: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def summarise(product: Product, extent: Extent | None = None,
              budget_mb: int = DEFAULT_BUDGET_MB, progress: ProgressFn | None = None) -> SceneSummary:
    """Read ``extent`` of ``product`` at full resolution and summarise it."""
    window = window_for(product.grid, extent)
    check_full_read(window, f"summarising {product.name}")
    roles = product.roles
    computable = indices.available(roles)
    band_stats = {r: RunningStats() for r in roles}
    index_stats = {ix: RunningStats() for ix in computable}
    needed = tuple(r for r in roles if any(r in indices.INDEX_ROLES[ix] for ix in computable))
    out, w1, w2 = (np.empty(CHUNK, np.float32) for _ in range(3))
    calibrations = {r: product.bands[r].calibration for r in roles}
    valid_count = 0
    with SceneReader(product) as reader:
        for chunk in reader.iter_chunks(window, roles, needed, budget_mb, progress):
            ok = chunk.valid
            n = ok.size
            n_ok = int(np.count_nonzero(ok))
            if n_ok == 0:
                continue
            valid_count += n_ok
            keep = None if n_ok == n else ok
            for role, values in chunk.raw.items():
                band_stats[role].push(values if keep is None else values[keep])
            for ix in computable:
                values = indices.compute(ix, chunk.bands, out[:n], (w1[:n], w2[:n]), zero_as_nan=False)
                index_stats[ix].push(values if keep is None else values[keep])
    total = int(window.width) * int(window.height)
    if valid_count == 0:
        raise NoValidPixelsError(
            f"no valid pixels in the extent of {product.name}: all {total} pixels are nodata, "
            "cloud or shadow; choose another extent or date"
        )
    row0, col0 = int(window.row_off), int(window.col_off)
    left, top = product.grid.transform @ (col0, row0)
    right, bottom = product.grid.transform @ (col0 + int(window.width), row0 + int(window.height))
    unavailable = {
        ix.value: "needs " + ", ".join(r.value for r in needed if r not in roles)
        for ix, needed in indices.INDEX_ROLES.items() if ix not in computable
    }
    return SceneSummary(
        name=product.name,
        sensor=product.sensor.value,
        sensor_label=product.sensor.label,
        level=product.level,
        acquired=product.acquired.isoformat() if product.acquired else None,
        crs=product.grid.crs.to_string(),
        pixel_size=product.grid.pixel_size,
        bounds=(min(left, right), min(top, bottom), max(left, right), max(top, bottom)),
        window={"col_off": col0, "row_off": row0, "width": int(window.width), "height": int(window.height)},
        bands={r.value: {**band_stats[r].to_dict(calibrations[r]), "source": product.bands[r].name} for r in roles},
        indices={ix.value: s.to_dict() for ix, s in index_stats.items()},
        indices_unavailable=unavailable,
        valid_fraction=valid_count / total,
        pixels=total,
        notes=list(product.notes),
    )
