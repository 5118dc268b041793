"""Findings: change patches as an RFC 7946 GeoJSON FeatureCollection in EPSG:4326.

Each patch outline (pixel edges in the analysed window; unchanged specks
smaller than the minimum mapping unit inside a patch are filled, while the
area properties stay the measured changed pixels) is placed on the map
with the grid's transform, simplified by half a pixel without breaking
topology, reprojected to lon/lat, oriented counter-clockwise (the right-hand
rule of RFC 7946), made valid and rounded to 1e-7 degrees. Properties carry the measured areas in every
unit; ``source`` is ``"measured"``. Features are sorted by area; when capped,
the number left out is stated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import shapely
from pyproj import Transformer
from rasterio.windows import transform as window_transform
from shapely import make_valid
from shapely.affinity import affine_transform
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from engine.analysis.areas import all_units
from engine.analysis.change import Change, Patch
from engine.analysis.geo import reproject
from engine.cachefs import write_atomic
from engine.scene.product import Grid

DEFAULT_CAP = 500
LONLAT_PRECISION = 1e-7  # degrees (about 1 cm): RFC 7946 section 11.2 advises against needless digits

ZoneLookup = Callable[[BaseGeometry], str | None]  # map-CRS geometry -> zone name


def polygonal(geom: BaseGeometry) -> Polygon | MultiPolygon:
    """The polygon parts of ``geom``, valid and counter-clockwise (RFC 7946 right-hand rule)."""
    geom = make_valid(geom)
    parts = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon | MultiPolygon)]
    polygons = [p for g in parts for p in getattr(g, "geoms", [g]) if not p.is_empty]
    oriented = [orient(p, sign=1.0) for p in polygons]
    return oriented[0] if len(oriented) == 1 else MultiPolygon(oriented)


def patch_geometry_map(patch: Patch, change: Change, grid: Grid) -> BaseGeometry:
    """The patch outline in the grid's CRS, simplified by half a pixel."""
    t = window_transform(change.window, grid.transform)
    pixel_m2 = patch.area_m2 / max(1, patch.pixels)
    outline = patch.outline_px(fill_holes_px=int(change.mmu_m2 / pixel_m2) if pixel_m2 > 0 else 0)
    geom = affine_transform(outline, [t.a, t.b, t.d, t.e, t.c, t.f])
    return geom.simplify(min(grid.pixel_size) / 2, preserve_topology=True)


def to_feature_collection(change: Change, grid: Grid, date_from: str, date_to: str,
                          zone_of: ZoneLookup | None = None, cap: int = DEFAULT_CAP) -> dict[str, object]:
    """Change patches as a GeoJSON FeatureCollection (EPSG:4326, lon/lat)."""
    to_lonlat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    features = []
    for patch in change.patches[:cap]:
        in_map = patch_geometry_map(patch, change, grid)
        lonlat = polygonal(shapely.set_precision(reproject(in_map, to_lonlat), LONLAT_PRECISION))
        centre = reproject(in_map.centroid, to_lonlat)
        features.append({
            "type": "Feature",
            "geometry": json.loads(shapely.to_geojson(lonlat)),
            "properties": {
                "class_from": patch.class_from.key,
                "class_to": patch.class_to.key,
                **all_units(patch.area_m2),
                "zone": zone_of(in_map) if zone_of is not None else None,
                "date_from": date_from,
                "date_to": date_to,
                "centroid_lon": centre.x,
                "centroid_lat": centre.y,
                "source": "measured",
            },
        })
    left_out = max(0, len(change.patches) - cap)
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {"count": len(change.patches), "left_out": left_out,
                       "note": f"{left_out} smaller patches left out (cap {cap})" if left_out else None},
    }


def write_geojson(collection: dict[str, object], path: Path) -> Path:
    """Write atomically (a uniquely named temporary file renamed over the target)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(collection, ensure_ascii=False).encode("utf-8"))
    return path
