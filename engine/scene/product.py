"""What an opened layer is: band sources by role, calibration, mask, grid.

A ``Product`` is the scene stage's typed description of a layer. It knows
where each band's pixels live and how to turn them into reflectance, but it
reads no pixels itself; ``engine.scene.reader`` does that.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field, replace

from affine import Affine
from rasterio.crs import CRS

from engine.types import BandRole, Calibration, Sensor


class MaskKind(enum.StrEnum):
    """How to decode a quality band into invalid pixels."""

    LANDSAT_BQA_C1 = "landsat_bqa_c1"  # Collection 1 BQA
    LANDSAT_QA_PIXEL = "landsat_qa_pixel"  # Collection 2 QA_PIXEL
    S2_SCL = "s2_scl"  # Sentinel-2 L2A scene classification
    NONZERO_INVALID = "nonzero_invalid"  # generic: nonzero marks cloud/invalid


@dataclass(frozen=True)
class Grid:
    """A raster grid: CRS, affine transform and size in pixels."""

    crs: CRS
    transform: Affine
    width: int
    height: int

    @property
    def pixel_size(self) -> tuple[float, float]:
        """(x, y) pixel size in CRS units, both positive."""
        return (abs(self.transform.a), abs(self.transform.e))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        x0, y0 = self.transform @ (0, 0)
        x1, y1 = self.transform @ (self.width, self.height)
        return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    def same_as(self, other: Grid, tol: float = 1e-9) -> bool:
        return (
            self.width == other.width
            and self.height == other.height
            and self.crs == other.crs
            and self.transform.almost_equals(other.transform, precision=tol)
        )


@dataclass(frozen=True)
class BandSource:
    """Where one role's pixels are and how to calibrate them."""

    role: BandRole
    path: str
    band: int  # 1-based band index in ``path``
    calibration: Calibration = field(default_factory=Calibration)
    nodata: float | None = None
    name: str = ""  # the band's name in the product (B4, SR_B4, B04, ...)


@dataclass(frozen=True)
class MaskSource:
    """A quality band whose decoded flags mark pixels invalid."""

    path: str
    band: int
    kind: MaskKind


@dataclass(frozen=True)
class Product:
    """A layer resolved to band sources on one reference grid."""

    name: str
    sensor: Sensor
    acquired: dt.date | None
    level: str  # e.g. "L1 TOA reflectance", "L2 surface reflectance"
    bands: dict[BandRole, BandSource]
    grid: Grid
    mask: MaskSource | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def roles(self) -> tuple[BandRole, ...]:
        return tuple(r for r in BandRole if r in self.bands)

    def with_note(self, note: str) -> Product:
        return replace(self, notes=(*self.notes, note))
