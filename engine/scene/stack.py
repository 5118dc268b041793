"""Multiband GeoTIFF / COG / VRT stacks and plain RGB images.

Band roles come from band descriptions (``B04``, ``SR_B4``, ``red``, ``nir``, ...)
interpreted with the sensor (from tags or the user); GDAL per-band scale and
offset are honoured; the date comes from an ``ACQUISITION_DATE`` tag or a date
in the file name. A three-band 8-bit image without roles is a plain RGB image:
true colour only, no indices.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import rasterio

from engine.errors import BandRolesUnknownError
from engine.scene.product import BandSource, MaskKind, MaskSource, Product
from engine.scene.rasterio_io import grid_of, open_raster
from engine.scene.sentinel2 import BASELINE_04_DATE
from engine.types import SENSOR_BANDS, BandRole, Calibration, Sensor

_ROLE_WORDS: dict[str, BandRole] = {
    "blue": BandRole.BLUE, "b": BandRole.BLUE,
    "green": BandRole.GREEN, "g": BandRole.GREEN,
    "red": BandRole.RED, "r": BandRole.RED,
    "nir": BandRole.NIR, "nearinfrared": BandRole.NIR, "nir08": BandRole.NIR,
    "swir1": BandRole.SWIR1, "swir16": BandRole.SWIR1,
    "swir2": BandRole.SWIR2, "swir22": BandRole.SWIR2,
}
_MASK_WORDS = {"scl": MaskKind.S2_SCL, "qapixel": MaskKind.LANDSAT_QA_PIXEL,
               "bqa": MaskKind.LANDSAT_BQA_C1, "cloudmask": MaskKind.NONZERO_INVALID,
               "mask": MaskKind.NONZERO_INVALID}
_BAND_NUMBER = re.compile(r"^(?:SR_)?B0?(\d{1,2}|8A)$", re.IGNORECASE)
_S2_NAME = re.compile(r"^B(0\d|1[0-2]|8A)$", re.IGNORECASE)
_SENSOR_TAGS = ("SENSOR", "SPACECRAFT", "SPACECRAFT_ID", "SPACECRAFT_NAME", "PLATFORM", "SATELLITE")
_DATE_TAGS = ("ACQUISITION_DATE", "DATE_ACQUIRED", "SENSING_DATE", "DATETIME")
_DATE_IN_NAME = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_]?(0[1-9]|1[0-2])[-_]?(0[1-9]|[12]\d|3[01])(?!\d)")

# Default reflectance scaling by sensor for stacks whose GDAL scale/offset are unset.
_DEFAULT_SCALING: dict[Sensor, tuple[float, float, str]] = {
    Sensor.LANDSAT_8: (2.75e-5, -0.2, "Landsat Collection 2 L2 scaling assumed"),
    Sensor.LANDSAT_9: (2.75e-5, -0.2, "Landsat Collection 2 L2 scaling assumed"),
    Sensor.LANDSAT_7: (2.75e-5, -0.2, "Landsat Collection 2 L2 scaling assumed"),
    Sensor.LANDSAT_5: (2.75e-5, -0.2, "Landsat Collection 2 L2 scaling assumed"),
}


def _normalise(text: str) -> str:
    return re.sub(r"[\s_\-()]", "", text.lower())


def sensor_from_tags(tags: dict[str, str]) -> Sensor | None:
    for key in _SENSOR_TAGS:
        value = tags.get(key)
        if value:
            try:
                return Sensor.parse(value)
            except ValueError:
                continue
    return None


def date_from_tags_or_name(tags: dict[str, str], path: Path) -> dt.date | None:
    for key in _DATE_TAGS:
        value = tags.get(key, "").strip()
        match = re.match(r"(\d{4})[-:](\d{2})[-:](\d{2})", value)
        if match:
            return dt.date(*map(int, match.groups()))
    return date_in_name(path.name)


def date_in_name(name: str) -> dt.date | None:
    """A calendar date written in a file name (2024-05-01, 2024_05_01 or 20240501), if any."""
    match = _DATE_IN_NAME.search(name)
    if match:
        try:
            return dt.date(*map(int, match.groups()))
        except ValueError:
            return None
    return None


def role_from_description(description: str, sensor: Sensor | None) -> BandRole | MaskKind | None:
    """Map one band description to a role (or a mask kind) given the sensor, if known."""
    key = _normalise(description)
    if not key:
        return None
    if key in _ROLE_WORDS:
        return _ROLE_WORDS[key]
    if key in _MASK_WORDS:
        return _MASK_WORDS[key]
    match = _BAND_NUMBER.match(description.strip())
    if match:
        if sensor is None and _S2_NAME.match(description.strip()):
            sensor = Sensor.SENTINEL_2
        if sensor in SENSOR_BANDS:
            number = match.group(1).upper().lstrip("0")
            return SENSOR_BANDS[sensor].get(number)
    return None


def _describe_bands(src: rasterio.io.DatasetReader) -> str:
    parts = [f"{i}:{src.descriptions[i - 1] or '(no description)'}" for i in src.indexes]
    return ", ".join(parts)


def open_stack(path: Path, sensor: Sensor | None = None,
               band_map: dict[BandRole, int] | None = None,
               assume_crs: str | None = None) -> Product:
    """Resolve a multiband raster into a ``Product`` (roles, scaling, date, mask)."""
    band_map = band_map or {}
    notes: list[str] = []
    with open_raster(path) as src:
        grid = grid_of(src, assume_crs)
        tags = {k.upper(): v for k, v in src.tags().items()}
        sensor = sensor or sensor_from_tags(tags)
        acquired = date_from_tags_or_name(tags, path)
        roles: dict[BandRole, int] = {}
        mask: MaskSource | None = None
        for index in src.indexes:
            found = role_from_description(src.descriptions[index - 1] or "", sensor)
            if isinstance(found, BandRole) and found not in roles:
                roles[found] = index
            elif isinstance(found, MaskKind) and mask is None:
                mask = MaskSource(path=str(path), band=index, kind=found)
        if any(_S2_NAME.match((d or "").strip()) for d in src.descriptions) and sensor is None:
            sensor = Sensor.SENTINEL_2
        for role, index in band_map.items():
            if index > src.count:
                raise BandRolesUnknownError(
                    f"--band-map {role.value}={index}: {path.name} has only {src.count} bands "
                    f"({_describe_bands(src)})"
                )
            roles[role] = index
        if not roles:
            looks_rgb = src.count in (3, 4) and src.dtypes[0] == "uint8"
            if looks_rgb:
                roles = {BandRole.RED: 1, BandRole.GREEN: 2, BandRole.BLUE: 3}
                sensor = Sensor.RGB
                notes.append("plain RGB image: true colour only, no spectral indices")
            else:
                raise BandRolesUnknownError(
                    f"cannot tell which band is which in {path.name} (bands: {_describe_bands(src)}); "
                    "map them, e.g. --band-map red=3,green=2,blue=1,nir=4, or give --sensor"
                )
        sensor = sensor or Sensor.GENERIC
        scales, offsets = src.scales, src.offsets
        nodatavals = src.nodatavals
        default = _DEFAULT_SCALING.get(sensor) if src.dtypes[0] in ("uint16", "int16") else None
        if sensor is Sensor.SENTINEL_2 and src.dtypes[0] in ("uint16", "int16"):
            if "BOA_ADD_OFFSET" in tags:
                off, how = float(tags["BOA_ADD_OFFSET"]), "from the BOA_ADD_OFFSET tag"
            else:
                off = -1000.0 if acquired and acquired >= BASELINE_04_DATE else 0.0
                how = "assumed from the date"
            default = (1e-4, off / 1e4, f"Sentinel-2 scaling 1/10000 with offset {off:g} {how}")
        bands: dict[BandRole, BandSource] = {}
        used_default = False
        for role, index in roles.items():
            scale, offset = scales[index - 1], offsets[index - 1]
            if scale == 1.0 and offset == 0.0 and default is not None:
                scale, offset = default[0], default[1]
                used_default = True
            bands[role] = BandSource(
                role=role, path=str(path), band=index, nodata=nodatavals[index - 1],
                calibration=Calibration(scale=scale, offset=offset),
                name=src.descriptions[index - 1] or f"band {index}",
            )
        if used_default and default is not None:
            notes.append(default[2] + " (no GDAL scale/offset on the bands); override with --scale/--offset")
        if sensor not in (Sensor.RGB,) and default is None and all(
            b.calibration.is_identity() for b in bands.values()
        ) and src.dtypes[0] not in ("float32", "float64"):
            notes.append("no reflectance scaling known: values used as stored; give --scale/--offset")
    level = "true colour" if sensor is Sensor.RGB else "reflectance"
    return Product(name=path.name, sensor=sensor, acquired=acquired, level=level,
                   bands=bands, grid=grid, mask=mask, notes=tuple(notes))
