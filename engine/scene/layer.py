"""Open a ``LayerSpec`` as a ``Product``, whatever kind of file it points at.

Dispatch is on the product's own metadata (an MTL, an MTD_MSI*.xml, Sentinel-2
band naming), never on arbitrary substrings of the path. User overrides
(date, sensor, band roles, scale/offset) are applied last and always win.
"""

from __future__ import annotations

import dataclasses
import logging

from engine.errors import LayerNotFoundError
from engine.scene import landsat, sentinel2
from engine.scene.product import Product
from engine.scene.stack import open_stack
from engine.types import Calibration, LayerSpec

log = logging.getLogger(__name__)


def open_layer(spec: LayerSpec) -> Product:
    """Resolve ``spec`` into a ``Product`` ready for reading."""
    path = spec.path
    if not path.exists():
        raise LayerNotFoundError(f"layer not found: {path}")
    mtl = landsat.find_mtl(path)
    if mtl is not None and (path.is_dir() or path == mtl or path.suffix.upper() in (".TIF", ".TIFF")):
        product = landsat.open_landsat(mtl, spec.sensor, spec.assume_crs)
    elif sentinel2.find_mtd(path) is not None or (path.is_file() and sentinel2.is_band_file(path)):
        product = sentinel2.open_sentinel2(path, spec.assume_crs)
    else:
        product = open_stack(path, spec.sensor, spec.band_map, spec.assume_crs)
    return apply_overrides(product, spec)


def apply_overrides(product: Product, spec: LayerSpec) -> Product:
    """Apply the user's date, sensor and scale/offset overrides."""
    changes: dict[str, object] = {}
    if spec.date is not None:
        changes["acquired"] = spec.date
    if spec.sensor is not None and spec.sensor is not product.sensor:
        changes["sensor"] = spec.sensor
    if spec.scale is not None and spec.offset is not None:
        cal = Calibration(scale=spec.scale, offset=spec.offset)
        changes["bands"] = {role: dataclasses.replace(b, calibration=cal)
                            for role, b in product.bands.items()}
        changes["notes"] = (*product.notes, f"scale {spec.scale:g} and offset {spec.offset:g} from the user")
    if not changes:
        return product
    log.debug("applying overrides to %s: %s", product.name, sorted(changes))
    return dataclasses.replace(product, **changes)
