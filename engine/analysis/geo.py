"""Reprojecting shapely geometries with pyproj (one helper, used by zones and findings)."""

from __future__ import annotations

import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry


def reproject(geom: BaseGeometry, transformer: Transformer) -> BaseGeometry:
    """``geom`` with every coordinate passed through ``transformer`` (built with ``always_xy=True``)."""
    return shapely.transform(geom, lambda x, y: transformer.transform(x, y), interleaved=False)
