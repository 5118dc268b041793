"""Landsat Collection 1/2 products (Landsat 4/5 TM, 7 ETM+, 8/9 OLI) from their MTL.

Level-1 bands become top-of-atmosphere reflectance with the USGS formula
``(REFLECTANCE_MULT * DN + REFLECTANCE_ADD) / sin(SUN_ELEVATION)``; Level-2
bands become surface reflectance with the MTL's scale and offset
(2.75e-5 and -0.2 for Collection 2), without sun correction. See the USGS
"Using the Landsat Level-1 Data Product" and Collection 2 L2 science product guides.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from pathlib import Path

from engine.errors import MetadataError
from engine.scene.product import BandSource, MaskKind, MaskSource, Product
from engine.scene.rasterio_io import grid_of, open_raster
from engine.types import SENSOR_BANDS, BandRole, Calibration, Sensor

log = logging.getLogger(__name__)

_SPACECRAFT = {
    "LANDSAT_4": Sensor.LANDSAT_5,
    "LANDSAT_5": Sensor.LANDSAT_5,
    "LANDSAT_7": Sensor.LANDSAT_7,
    "LANDSAT_8": Sensor.LANDSAT_8,
    "LANDSAT_9": Sensor.LANDSAT_9,
}
_LINE = re.compile(r"^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$")


MTLGroups = dict[str, dict[str, str]]


def parse_mtl(text: str) -> MTLGroups:
    """Parse an MTL file into ``{group: {key: value}}`` (innermost group names)."""
    groups: MTLGroups = {}
    stack: list[str] = []
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        key, value = match.group(1), match.group(2).strip().strip('"')
        if key == "GROUP":
            stack.append(value)
            groups.setdefault(value, {})
        elif key == "END_GROUP":
            if stack:
                stack.pop()
        elif stack:
            groups[stack[-1]][key] = value
    if not groups:
        raise MetadataError("not a Landsat MTL file: no GROUP = ... sections found")
    return groups


def _find(groups: MTLGroups, key: str, prefer: tuple[str, ...] = ()) -> str | None:
    for name in prefer:
        if key in groups.get(name, {}):
            return groups[name][key]
    for values in groups.values():
        if key in values:
            return values[key]
    return None


def find_mtl(path: Path) -> Path | None:
    """The MTL file for a product folder, an MTL path, or a band file of a product."""
    if path.is_file() and path.name.upper().endswith("_MTL.TXT"):
        return path
    folder = path if path.is_dir() else path.parent
    candidates = sorted(folder.glob("*_MTL.txt")) + sorted(folder.glob("*_MTL.TXT"))
    if path.is_file():
        stem = re.sub(r"_(SR_)?B\d+$|_QA_PIXEL$|_BQA$", "", path.stem, flags=re.IGNORECASE)
        candidates = [c for c in candidates if c.name.upper().startswith(stem.upper())]
    return candidates[0] if candidates else None


def open_landsat(mtl_path: Path, sensor_override: Sensor | None = None,
                 assume_crs: str | None = None) -> Product:
    """Resolve a Landsat product from its MTL into a ``Product``."""
    groups = parse_mtl(mtl_path.read_text(errors="replace"))
    spacecraft = _find(groups, "SPACECRAFT_ID") or ""
    sensor = sensor_override or _SPACECRAFT.get(spacecraft.upper())
    if sensor is None:
        raise MetadataError(f"{mtl_path.name}: unknown SPACECRAFT_ID {spacecraft!r}; pass --sensor")
    level_code = (_find(groups, "PROCESSING_LEVEL") or _find(groups, "DATA_TYPE") or "L1TP").upper()
    is_l2 = level_code.startswith("L2")
    date_text = _find(groups, "DATE_ACQUIRED")
    acquired = dt.date.fromisoformat(date_text) if date_text else None
    sun_elevation = _find(groups, "SUN_ELEVATION")

    rescale_groups = (
        ("LEVEL2_SURFACE_REFLECTANCE_PARAMETERS",) if is_l2
        else ("LEVEL1_RADIOMETRIC_RESCALING", "RADIOMETRIC_RESCALING")
    )
    if is_l2:
        sun_factor = 1.0
        level = "L2 surface reflectance"
    else:
        if sun_elevation is None:
            raise MetadataError(f"{mtl_path.name}: SUN_ELEVATION missing; cannot compute TOA reflectance")
        sun_factor = math.sin(math.radians(float(sun_elevation)))
        level = "L1 top-of-atmosphere reflectance"

    folder = mtl_path.parent
    bands: dict[BandRole, BandSource] = {}
    for number, role in SENSOR_BANDS[sensor].items():
        file_name = _find(groups, f"FILE_NAME_BAND_{number}")
        if file_name is None:
            continue
        band_path = folder / file_name
        if not band_path.exists():
            log.info("band %s listed in %s is absent on disk", file_name, mtl_path.name)
            continue
        mult = _find(groups, f"REFLECTANCE_MULT_BAND_{number}", rescale_groups)
        add = _find(groups, f"REFLECTANCE_ADD_BAND_{number}", rescale_groups)
        if mult is None or add is None:
            raise MetadataError(f"{mtl_path.name}: REFLECTANCE_MULT/ADD for band {number} missing")
        bands[role] = BandSource(
            role=role, path=str(band_path), band=1, nodata=0.0,
            calibration=Calibration(scale=float(mult), offset=float(add), sun_factor=sun_factor),
            name=("SR_B" if is_l2 else "B") + number,
        )
    if BandRole.RED not in bands:
        raise MetadataError(f"{mtl_path.name}: the red band file is not next to the MTL")

    mask = None
    for key, kind in (("FILE_NAME_QUALITY_L1_PIXEL", MaskKind.LANDSAT_QA_PIXEL),
                      ("FILE_NAME_BAND_QUALITY", MaskKind.LANDSAT_BQA_C1)):
        qa_name = _find(groups, key)
        if qa_name and (folder / qa_name).exists():
            mask = MaskSource(path=str(folder / qa_name), band=1, kind=kind)
            break

    with open_raster(bands[BandRole.RED].path) as src:
        grid = grid_of(src, assume_crs)
    name = _find(groups, "LANDSAT_PRODUCT_ID") or mtl_path.name.rsplit("_MTL", 1)[0]
    return Product(name=name, sensor=sensor, acquired=acquired, level=level,
                   bands=bands, grid=grid, mask=mask)
