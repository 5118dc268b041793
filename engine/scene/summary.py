"""``inspect``: what a layer is and what its pixels look like over an extent.

Statistics are accumulated strip by strip over valid pixels only (float64
running sums), so memory stays bounded whatever the extent.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from engine.errors import NoValidPixelsError
from engine.scene import indices
from engine.scene.extent import window_for
from engine.scene.product import Product
from engine.scene.reader import DEFAULT_BUDGET_MB, ProgressFn, SceneReader
from engine.types import Extent


@dataclass
class RunningStats:
    """Mean, std, min and max over values pushed in pieces.

    Pieces are merged with Chan et al.'s parallel variance update, so the sum
    of squares is taken around each piece's own mean (no cancellation), in
    float32 for speed with float64 totals.
    """

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf

    def push(self, values: np.ndarray) -> None:
        n = int(values.size)
        if n == 0:
            return
        flat = values.reshape(-1)
        piece_mean = float(np.add.reduce(flat, dtype=np.float64)) / n
        centred = flat - np.float32(piece_mean)
        piece_m2 = float(np.dot(centred, centred))
        total = self.count + n
        delta = piece_mean - self.mean
        self.m2 += piece_m2 + delta * delta * self.count * n / total
        self.mean += delta * n / total
        self.count = total
        self.minimum = min(self.minimum, float(flat.min()))
        self.maximum = max(self.maximum, float(flat.max()))

    def to_dict(self) -> dict[str, float | int | None]:
        if self.count == 0:
            return {"mean": None, "std": None, "min": None, "max": None, "count": 0}
        return {"mean": self.mean, "std": math.sqrt(max(0.0, self.m2 / self.count)), "min": self.minimum,
                "max": self.maximum, "count": self.count}


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
    roles = product.roles
    computable = indices.available(roles)
    band_stats = {r: RunningStats() for r in roles}
    index_stats = {ix: RunningStats() for ix in computable}
    valid_count = 0
    with SceneReader(product) as reader:
        for block in reader.iter_blocks(window, roles, budget_mb, progress):
            ok = block.valid
            n_ok = int(np.count_nonzero(ok))
            if n_ok == 0:
                continue
            valid_count += n_ok
            all_ok = n_ok == ok.size
            for role, values in block.bands.items():
                band_stats[role].push(values if all_ok else values[ok])
            for ix in computable:
                values = indices.compute(ix, block.bands)
                finite = np.isfinite(values)
                if not all_ok:
                    finite &= ok
                index_stats[ix].push(values if finite.all() else values[finite])
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
        bands={r.value: {**band_stats[r].to_dict(), "source": product.bands[r].name} for r in roles},
        indices={ix.value: s.to_dict() for ix, s in index_stats.items()},
        indices_unavailable=unavailable,
        valid_fraction=valid_count / total,
        pixels=total,
        notes=list(product.notes),
    )
