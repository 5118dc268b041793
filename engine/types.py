"""Named domain types shared by every engine stage.

Band roles, sensors, extents and layer specifications live here so that the
scene, analysis and prompt stages speak the same small vocabulary (the idea of
rio-tiler's ``types`` module). Numbers carry their unit in their name.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import InvalidExtentError


class BandRole(enum.StrEnum):
    """What a band measures, independent of the sensor's band numbering."""

    BLUE = "blue"
    GREEN = "green"
    RED = "red"
    NIR = "nir"
    SWIR1 = "swir1"
    SWIR2 = "swir2"

    @classmethod
    def parse(cls, name: str) -> BandRole:
        try:
            return cls(name.strip().lower())
        except ValueError:
            known = ", ".join(r.value for r in cls)
            raise ValueError(f"unknown band role {name!r}; known roles: {known}") from None


REFLECTANCE_ROLES: tuple[BandRole, ...] = tuple(BandRole)
#: what land-cover classification cannot do without (SWIR1 adds water by MNDWI; without it, NDWI)
CLASSIFICATION_ROLES: tuple[BandRole, ...] = (BandRole.BLUE, BandRole.GREEN, BandRole.RED, BandRole.NIR)


class Sensor(enum.StrEnum):
    """Sensors the reader knows how to calibrate and label."""

    LANDSAT_5 = "landsat5"
    LANDSAT_7 = "landsat7"
    LANDSAT_8 = "landsat8"
    LANDSAT_9 = "landsat9"
    SENTINEL_2 = "sentinel2"
    RGB = "rgb"
    GENERIC = "generic"

    @classmethod
    def parse(cls, name: str) -> Sensor:
        key = name.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
        aliases = {
            "landsat4": cls.LANDSAT_5,
            "l5": cls.LANDSAT_5,
            "tm": cls.LANDSAT_5,
            "l7": cls.LANDSAT_7,
            "etm": cls.LANDSAT_7,
            "l8": cls.LANDSAT_8,
            "oli": cls.LANDSAT_8,
            "l9": cls.LANDSAT_9,
            "s2": cls.SENTINEL_2,
            "sentinel2a": cls.SENTINEL_2,
            "sentinel2b": cls.SENTINEL_2,
            "sentinel2c": cls.SENTINEL_2,
            "msi": cls.SENTINEL_2,
        }
        for member in cls:
            aliases[member.value] = member
        if key not in aliases:
            known = ", ".join(m.value for m in cls)
            raise ValueError(f"unknown sensor {name!r}; known sensors: {known}")
        return aliases[key]

    @property
    def label(self) -> str:
        return {
            Sensor.LANDSAT_5: "Landsat 4/5 TM",
            Sensor.LANDSAT_7: "Landsat 7 ETM+",
            Sensor.LANDSAT_8: "Landsat 8 OLI",
            Sensor.LANDSAT_9: "Landsat 9 OLI-2",
            Sensor.SENTINEL_2: "Sentinel-2 MSI",
            Sensor.RGB: "RGB image",
            Sensor.GENERIC: "generic multiband raster",
        }[self]


# Band number (as written in file names / descriptions) -> role, per sensor family.
SENSOR_BANDS: dict[Sensor, dict[str, BandRole]] = {
    Sensor.LANDSAT_5: {
        "1": BandRole.BLUE, "2": BandRole.GREEN, "3": BandRole.RED,
        "4": BandRole.NIR, "5": BandRole.SWIR1, "7": BandRole.SWIR2,
    },
    Sensor.LANDSAT_8: {
        "2": BandRole.BLUE, "3": BandRole.GREEN, "4": BandRole.RED,
        "5": BandRole.NIR, "6": BandRole.SWIR1, "7": BandRole.SWIR2,
    },
    Sensor.SENTINEL_2: {
        "2": BandRole.BLUE, "3": BandRole.GREEN, "4": BandRole.RED,
        "8": BandRole.NIR, "11": BandRole.SWIR1, "12": BandRole.SWIR2,
    },
}
SENSOR_BANDS[Sensor.LANDSAT_7] = SENSOR_BANDS[Sensor.LANDSAT_5]
SENSOR_BANDS[Sensor.LANDSAT_9] = SENSOR_BANDS[Sensor.LANDSAT_8]


@dataclass(frozen=True)
class Extent:
    """An axis-aligned box in some CRS (``crs`` is anything pyproj accepts)."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    crs: str

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in self.as_tuple()):
            raise InvalidExtentError(f"extent values must be finite numbers, got {self.as_tuple()}")
        if not (self.xmin < self.xmax and self.ymin < self.ymax):
            raise InvalidExtentError(
                f"extent must have xmin < xmax and ymin < ymax, got "
                f"({self.xmin}, {self.ymin}, {self.xmax}, {self.ymax})"
            )

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.xmin, self.ymin, self.xmax, self.ymax)

    def to_dict(self) -> dict[str, float | str]:
        return {"xmin": self.xmin, "ymin": self.ymin, "xmax": self.xmax, "ymax": self.ymax,
                "crs": self.crs}


@dataclass(frozen=True)
class Calibration:
    """Linear DN -> reflectance: ``(dn * scale + offset) / sun_factor``."""

    scale: float = 1.0
    offset: float = 0.0
    sun_factor: float = 1.0  # sin(sun elevation) for Landsat L1 TOA, else 1

    def is_identity(self) -> bool:
        return self.scale == 1.0 and self.offset == 0.0 and self.sun_factor == 1.0


@dataclass
class LayerSpec:
    """What a user points at: a path plus optional overrides (the layer contract)."""

    path: Path
    date: dt.date | None = None
    sensor: Sensor | None = None
    band_map: dict[BandRole, int] = field(default_factory=dict)  # role -> 1-based band index
    scale: float | None = None
    offset: float | None = None
    assume_crs: str | None = None

    def __post_init__(self) -> None:
        self.path = Path(self.path).expanduser()
        if isinstance(self.sensor, str):
            self.sensor = Sensor.parse(self.sensor)
        if isinstance(self.date, str):
            self.date = dt.date.fromisoformat(self.date)
        self.band_map = {BandRole.parse(k) if isinstance(k, str) else k: int(v)
                         for k, v in self.band_map.items()}
        for role, index in self.band_map.items():
            if index < 1:
                raise ValueError(f"band index for {role.value} must be >= 1 (1-based), got {index}")
        if self.scale is not None or self.offset is not None:
            self.scale = 1.0 if self.scale is None else float(self.scale)
            self.offset = 0.0 if self.offset is None else float(self.offset)
