"""``describe``: what a layer is, from its metadata alone (no pixels read).

This is what a client needs before it asks: the acquisition date, the sensor,
which band plays which role and which roles are still missing, so that a
person fills in only what the metadata does not say. Reading a layer's
metadata is cheap (an MTL, an MTD xml or a GeoTIFF header), so this runs in
milliseconds whatever the scene's size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from engine.errors import BandRolesUnknownError, EngineError
from engine.scene.layer import open_layer
from engine.scene.rasterio_io import open_raster
from engine.types import CLASSIFICATION_ROLES, BandRole, LayerSpec

NEEDED_ROLES = (*CLASSIFICATION_ROLES, BandRole.SWIR1)  # SWIR1: water by MNDWI (NDWI is the fallback)


@dataclass
class LayerDescription:
    """One layer as the engine sees it; ``error`` is set (and the rest partly empty) when it cannot be used."""

    path: str
    name: str = ""
    sensor: str | None = None
    sensor_label: str | None = None
    level: str | None = None
    date: str | None = None  # YYYY-MM-DD, None when the metadata has none
    crs: str | None = None
    size: tuple[int, int] | None = None  # (width, height) in pixels
    bounds: tuple[float, float, float, float] | None = None  # in ``crs``
    roles: dict[str, str] = field(default_factory=dict)  # role -> the band's name or 1-based index in the file
    missing_roles: list[str] = field(default_factory=list)  # of NEEDED_ROLES, not found
    file_bands: list[dict[str, object]] = field(default_factory=list)  # [{"index", "description"}] of a single file
    notes: list[str] = field(default_factory=list)
    error: dict[str, str] | None = None  # {"code", "message"}

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def describe(spec: LayerSpec) -> LayerDescription:
    """Describe ``spec``; engine errors become ``error`` (with the file's bands listed when they help)."""
    out = LayerDescription(path=str(spec.path))
    if spec.path.is_file():
        out.file_bands = _file_bands(spec)
    try:
        product = open_layer(spec)
    except BandRolesUnknownError as exc:
        out.error = {"code": exc.code, "message": str(exc)}
        out.missing_roles = [r.value for r in NEEDED_ROLES]
        return out
    except EngineError as exc:
        out.error = {"code": exc.code, "message": str(exc)}
        return out
    grid = product.grid
    out.name, out.level = product.name, product.level
    out.sensor, out.sensor_label = product.sensor.value, product.sensor.label
    out.date = product.acquired.isoformat() if product.acquired else None
    out.crs = grid.crs.to_string()
    out.size = (grid.width, grid.height)
    out.bounds = grid.bounds
    out.roles = {r.value: b.name or str(b.band) for r, b in product.bands.items()}
    out.missing_roles = [r.value for r in NEEDED_ROLES if r not in product.bands]
    out.notes = list(product.notes)
    return out


def _file_bands(spec: LayerSpec) -> list[dict[str, object]]:
    try:
        with open_raster(spec.path) as src:
            return [{"index": i, "description": src.descriptions[i - 1] or ""} for i in src.indexes]
    except EngineError:
        return []
