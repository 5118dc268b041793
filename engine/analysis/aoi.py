"""Areas of interest: a township or county polygon that measurement is clipped to.

An AOI comes from any vector file (``vectors.read_vector``: GeoPackage, Shapefile with a GBK
``.cpg`` or none, GeoJSON), in any CRS including CGCS2000 (EPSG:4490). ``name`` picks the
features whose name field holds it (a township of a county file); without it every feature is
the area. The area is measured inside the polygon, not its bounding box: pixels whose centres lie
outside are set to ``invalid`` and their ground area is taken out of the analysed area, so class
areas, valid shares, change patches and zones all stop at the boundary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyproj import CRS as ProjCRS
from pyproj import Transformer
from rasterio import features
from rasterio.windows import Window
from rasterio.windows import transform as window_transform
from shapely import make_valid, unary_union
from shapely.geometry.base import BaseGeometry

from engine.analysis.geo import reproject
from engine.analysis.vectors import read_vector
from engine.errors import AoiError
from engine.scene.product import Grid
from engine.types import Extent

log = logging.getLogger(__name__)

NAME_FIELDS = ("name", "NAME", "Name", "名称", "XZQMC", "xzqmc", "XZMC", "QHMC", "county", "township")


@dataclass(frozen=True)
class AoiSpec:
    """An AOI file and which of its features make the area."""

    path: Path
    name: str | None = None  # the features whose name field equals this; None: all of them
    name_field: str | None = None  # default: the first of NAME_FIELDS the file has
    crs: str | None = None  # for files that carry none
    label: str | None = None  # its name in the facts (default: the name asked for, the feature's, the file's)


@dataclass(frozen=True)
class Aoi:
    """The area's name and polygon (in ``crs``, the file's own), and how it was read."""

    name: str
    geometry: BaseGeometry
    crs: str
    source: str
    features: int
    notes: tuple[str, ...] = ()

    def in_crs(self, crs) -> BaseGeometry:
        """The polygon in another CRS (e.g. the analysis grid's)."""
        return reproject(self.geometry, Transformer.from_crs(ProjCRS.from_user_input(self.crs), crs, always_xy=True))

    def extent(self, crs) -> Extent:
        """The polygon's bounding box in ``crs``, as an extent to read."""
        return Extent(*self.in_crs(crs).bounds, crs=str(crs))

    def record(self) -> dict[str, object]:
        return {"name": self.name, "source": self.source, "features": self.features, "crs": self.crs}


def name_field_of(fields: list[str], asked: str | None, path: Path) -> str | None:
    if asked:
        if asked not in fields:
            raise AoiError(f"{path.name} has no field {asked!r} (fields: {', '.join(fields) or 'none'})")
        return asked
    return next((f for f in NAME_FIELDS if f in fields), None)


def read_aoi(spec: AoiSpec) -> Aoi:
    """The area of ``spec``: its selected features' union, repaired if invalid."""
    source = read_vector(spec.path, spec.crs, AoiError, "--aoi-crs")
    fields = list(dict.fromkeys(k for props, _ in source.records for k in props))
    field = name_field_of(fields, spec.name_field, spec.path)
    records = source.records
    if spec.name is not None:
        if field is None:
            raise AoiError(f"{spec.path.name} has no name field to find {spec.name!r} in; give --aoi-name-field "
                           f"(fields: {', '.join(fields) or 'none'})")
        records = [(p, g) for p, g in records if str(p.get(field)).strip() == spec.name.strip()]
        if not records:
            known = sorted({str(p.get(field)) for p, _ in source.records})
            shown = ", ".join(known[:20]) + (" …" if len(known) > 20 else "")
            raise AoiError(f"no feature of {spec.path.name} has {field} = {spec.name!r} (it has: {shown})")
    polygons = [g if g.is_valid else make_valid(g) for _, g in records]
    polygons = [g for g in polygons if g.geom_type in ("Polygon", "MultiPolygon", "GeometryCollection") and
                g.area > 0]
    if not polygons:
        raise AoiError(f"{spec.path.name} holds no polygon to measure inside")
    notes = list(source.notes)
    if any(not g.is_valid for _, g in records):
        notes.append(f"{spec.path.name}: invalid polygon geometry repaired")
    if spec.label:
        name = spec.label
    elif spec.name is not None:
        name = spec.name
    elif len(records) == 1 and field is not None and records[0][0].get(field):
        name = str(records[0][0][field])
    else:
        name = spec.path.stem
    return Aoi(name=name, geometry=unary_union(polygons), crs=source.crs, source=spec.path.name,
               features=len(polygons), notes=tuple(notes))


def inside_mask(geometry: BaseGeometry, grid: Grid, window: Window) -> np.ndarray:
    """True where a pixel's centre lies inside ``geometry`` (in the grid's CRS), over ``window``."""
    shape = (int(window.height), int(window.width))
    return features.geometry_mask([geometry], shape, window_transform(window, grid.transform), invert=True,
                                  all_touched=False)
