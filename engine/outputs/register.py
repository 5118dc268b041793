"""The patch register (图斑台账): every change patch of an analysis as a typed row, in CGCS2000.

One row per patch, numbered from the largest. Each row carries the measured areas (m², 亩, 公顷, from
``areas.all_units``), the centroid in CGCS2000 longitude/latitude (EPSG:4490) and in the 3-degree
Gauss-Krüger zone of the area (EPSG:4513-4533, easting with the zone number in front, as China's
land survey writes it), the protection zone it overlaps most, the date pair and the layers.

The polygon is the patch's pixel edges, unsimplified and with no hole filled, so its area on the
ellipsoid is the measured area (the findings GeoJSON simplifies by half a pixel for display).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyproj import CRS, Transformer
from rasterio.windows import transform as window_transform
from shapely.affinity import affine_transform
from shapely.geometry.base import BaseGeometry

from engine.analysis.areas import all_units
from engine.analysis.findings import polygonal
from engine.analysis.geo import reproject
from engine.analysis.zones import zone_lookup
from engine.errors import ReportError

CGCS2000 = "EPSG:4490"
GK3_FIRST_ZONE, GK3_LAST_ZONE, GK3_FIRST_EPSG = 25, 45, 4513  # CGCS2000 / 3-degree Gauss-Kruger zone 25 .. 45


@dataclass(frozen=True)
class GaussKruger:
    """A CGCS2000 3-degree Gauss-Krüger zone."""

    zone: int
    epsg: int
    central_meridian: float

    @property
    def name(self) -> str:
        return f"CGCS2000 / 3-degree Gauss-Kruger zone {self.zone} (EPSG:{self.epsg})"


def gauss_kruger_zone(lon: float) -> GaussKruger:
    """The 3-degree zone whose central meridian is nearest ``lon`` (zone n: central meridian 3n degrees E)."""
    zone = round(lon / 3.0)
    if not GK3_FIRST_ZONE <= zone <= GK3_LAST_ZONE:
        raise ReportError(f"longitude {lon:.3f} lies outside China's 3-degree Gauss-Kruger zones "
                          f"{GK3_FIRST_ZONE}-{GK3_LAST_ZONE} (73.5-136.5 E); CGCS2000 plane coordinates need an "
                          "area inside them")
    return GaussKruger(zone, GK3_FIRST_EPSG + zone - GK3_FIRST_ZONE, 3.0 * zone)


@dataclass(frozen=True)
class PatchRow:
    """One change patch of the register."""

    number: int
    class_from: str  # class keys (``LandCover.key``)
    class_to: str
    area_m2: float
    area_mu: float
    area_ha: float
    lon: float  # centroid, CGCS2000 degrees
    lat: float
    gk_x_m: float | None  # centroid northing in the zone (None outside China's zones)
    gk_y_m: float | None  # centroid easting, zone number in front (e.g. 35512345.67)
    zone: str | None  # the protection zone it overlaps most
    date_from: str
    date_to: str
    source: str  # the layers compared
    geometry: BaseGeometry  # CGCS2000 lon/lat polygon
    map_geometry: BaseGeometry  # the same outline in the analysis grid's CRS (for pictures)


@dataclass(frozen=True)
class Register:
    rows: list[PatchRow]
    gauss_kruger: GaussKruger | None  # None: the area lies outside China's zones (no plane coordinates)
    total_m2: float  # the measured change (the facts' transitions), which the rows add up to
    notes: tuple[str, ...] = ()

    @property
    def total_mu(self) -> float:
        return all_units(self.total_m2)["area_mu"]


def patch_register(analysis) -> Register:  # analysis: engine.analysis.run.Analysis, measured (not from the cache)
    """Every change patch of ``analysis`` as a register row, largest first."""
    facts = analysis.facts
    change = analysis.change
    if change is None and facts.findings_count:
        raise ReportError("the register needs the change patches themselves: measure again without the stored "
                          "result (analyse(..., keep_class_maps=True))")
    grid = analysis.grid
    to_cgcs = Transformer.from_crs(grid.crs, CGCS2000, always_xy=True)
    notes: tuple[str, ...] = ()
    try:
        gk = gauss_kruger_zone(_centre_lon(facts, grid.crs))
        to_gk = Transformer.from_crs(grid.crs, CRS.from_epsg(gk.epsg), always_xy=True)
    except ReportError as exc:
        gk, to_gk, notes = None, None, (f"{exc}: the register's plane coordinates are left empty",)
    zone_of = zone_lookup(analysis.zones) if analysis.zones is not None else None
    source = " → ".join(f"{d.layer} ({d.date})" for d in (facts.per_date[0], facts.per_date[-1]))
    rows = []
    patches = sorted(change.patches, key=lambda p: -p.area_m2) if change is not None else []
    t = window_transform(change.window, grid.transform) if change is not None else None
    for number, patch in enumerate(patches, start=1):
        in_map = affine_transform(patch.outline_px(), [t.a, t.b, t.d, t.e, t.c, t.f])
        middle = in_map.centroid
        lon, lat = to_cgcs.transform(middle.x, middle.y)
        easting, northing = to_gk.transform(middle.x, middle.y) if to_gk is not None else (None, None)
        units = all_units(patch.area_m2)
        rows.append(PatchRow(number, patch.class_from.key, patch.class_to.key, patch.area_m2, units["area_mu"],
                             units["area_ha"], lon, lat, northing, easting,
                             zone_of(in_map) if zone_of is not None else None, facts.dates[0], facts.dates[-1],
                             source, polygonal(reproject(in_map, to_cgcs)), in_map))
    return Register(rows, gk, sum(tr.area_m2 for tr in facts.transitions), notes)


def _centre_lon(facts, crs) -> float:
    e = facts.extent
    to_lonlat = Transformer.from_crs(crs, CGCS2000, always_xy=True)
    lon, _ = to_lonlat.transform((float(e["xmin"]) + float(e["xmax"])) / 2, (float(e["ymin"]) + float(e["ymax"])) / 2)
    return lon
