"""Protection zones: reading, repairing, and measuring land cover and violations inside them.

Zones come as GeoJSON or any OGR vector format (``vectors.read_vector``), in
any CRS, with a name field. Each zone has a kind that decides what counts as a
suspected violation:

| kind | suspected violation |
|---|---|
| farmland (基本农田) | gain of built-up or bare land |
| ecological (生态红线, 自然保护区) | gain of built-up or bare land; loss of forest |
| river (河道管理范围) | gain of built-up land |
| other | none (areas and transitions only) |

The kind comes from a ``kind`` field (English or Chinese values) or, failing
that, from words in the zone's name (table ``KIND_WORDS``); ``--zone-kind``
sets it for every zone.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from affine import Affine
from pyproj import CRS as ProjCRS
from pyproj import Transformer
from rasterio import features
from rasterio.windows import Window
from rasterio.windows import bounds as window_bounds
from rasterio.windows import transform as window_transform
from shapely import make_valid
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from engine.analysis.areas import PixelAreas, all_units
from engine.analysis.classes import MEASURED, LandCover
from engine.analysis.geo import reproject
from engine.analysis.vectors import read_vector
from engine.errors import ZonesError
from engine.scene.product import Grid

log = logging.getLogger(__name__)

MAX_ZONES = 5000


class ZoneKind(enum.StrEnum):
    FARMLAND = "farmland"
    ECOLOGICAL = "ecological"
    RIVER = "river"
    OTHER = "other"

    @property
    def label_zh(self) -> str:
        return {ZoneKind.FARMLAND: "基本农田保护区", ZoneKind.ECOLOGICAL: "生态保护红线/自然保护区",
                ZoneKind.RIVER: "河道管理范围", ZoneKind.OTHER: "其他区域"}[self]


KIND_WORDS: tuple[tuple[ZoneKind, tuple[str, ...]], ...] = (
    (ZoneKind.FARMLAND, ("farmland", "基本农田", "永久基本农田", "耕地保护")),
    (ZoneKind.ECOLOGICAL, ("ecological", "ecology", "nature reserve", "protected", "生态", "红线", "保护区",
                           "自然保护")),
    (ZoneKind.RIVER, ("river", "河道", "河流", "水域管理")),
    (ZoneKind.OTHER, ("other", "其他")),
)
NAME_FIELDS = ("name", "NAME", "Name", "名称", "zone", "ZONE", "zone_name")


def kind_from_text(text: str | None) -> ZoneKind | None:
    if not text:
        return None
    lowered = text.strip().lower()
    for kind, words in KIND_WORDS:
        if any(w in lowered for w in words):
            return kind
    return None


@dataclass(frozen=True)
class Zone:
    name: str
    kind: ZoneKind
    geometry: BaseGeometry  # in the analysis grid's CRS
    repaired: bool = False


@dataclass
class ZoneSet:
    zones: list[Zone]
    notes: list[str] = field(default_factory=list)


def read_zones(path: Path, grid: Grid, name_field: str | None = None, kind: ZoneKind | None = None,
               crs_override: str | None = None) -> ZoneSet:
    """Zones from ``path``, transformed into ``grid``'s CRS and repaired where invalid."""
    if not path.exists():
        raise ZonesError(f"zones file not found: {path}")
    source = read_vector(path, crs_override, ZonesError, "--zones-crs")
    records, crs = source.records, source.crs
    if not records:
        raise ZonesError(f"{path.name} holds no zone geometries")
    if len(records) > MAX_ZONES:
        raise ZonesError(f"{path.name} holds {len(records)} zones; at most {MAX_ZONES} are measured at once")
    try:
        to_grid = Transformer.from_crs(ProjCRS.from_user_input(crs), grid.crs, always_xy=True)
    except Exception as exc:  # pyproj.exceptions.CRSError
        raise ZonesError(f"unknown CRS {crs!r} for zones in {path.name}: {exc}") from None
    zones, notes = [], list(source.notes)
    for i, (props, geom) in enumerate(records):
        name = str(props.get(name_field) if name_field else next(
            (props[f] for f in NAME_FIELDS if props.get(f)), f"zone {i + 1}"))
        zone_kind = kind or kind_from_text(str(props.get("kind") or "")) or kind_from_text(name) or ZoneKind.OTHER
        repaired = False
        if not geom.is_valid:
            geom = make_valid(geom)
            repaired = True
            notes.append(f"zone {name!r}: invalid geometry repaired")
        zones.append(Zone(name=name, kind=zone_kind, geometry=reproject(geom, to_grid),
                          repaired=repaired))
    return ZoneSet(zones=zones, notes=notes)


def clip_zones(zone_set: ZoneSet, area: BaseGeometry) -> ZoneSet:
    """The zones cut to ``area`` (an AOI polygon in the grid's CRS): their polygon parts only, so a zone that merely
    touches the area (a shared edge: a line) is outside, with an empty shape."""
    return ZoneSet(zones=[replace(z, geometry=polygon_parts(z.geometry.intersection(area))) for z in zone_set.zones],
                   notes=list(zone_set.notes))


def polygon_parts(geometry: BaseGeometry) -> BaseGeometry:
    """The polygons of ``geometry`` (a collection may also hold lines and points); an empty polygon if none."""
    from shapely.geometry import MultiPolygon, Polygon

    parts = [g for g in getattr(geometry, "geoms", [geometry]) if isinstance(g, Polygon | MultiPolygon) and
             not g.is_empty]
    polygons = [p for g in parts for p in getattr(g, "geoms", [g])]
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons) if polygons else Polygon()


def _violation(kind: ZoneKind, a: LandCover, b: LandCover) -> str | None:
    sealed = (LandCover.BUILT_UP, LandCover.BARE)
    if kind in (ZoneKind.FARMLAND, ZoneKind.ECOLOGICAL) and b in sealed and a not in sealed:
        return "built_up_or_bare_gain"
    if kind is ZoneKind.ECOLOGICAL and a is LandCover.FOREST:
        return "forest_loss"
    if kind is ZoneKind.RIVER and b is LandCover.BUILT_UP:
        return "built_up_gain"
    return None


def _zone_pixels(zone: Zone, grid: Grid, window: Window) -> tuple[slice, slice, np.ndarray] | None:
    """The zone's bounding box in the window (row and column slices) and its pixel mask there."""
    t = window_transform(window, grid.transform)
    if not zone.geometry.intersects(box(*window_bounds(window, grid.transform))):
        return None
    xmin, ymin, xmax, ymax = zone.geometry.bounds
    inv = ~t
    cols_rows = [inv @ (x, y) for x in (xmin, xmax) for y in (ymin, ymax)]
    c0 = max(0, int(np.floor(min(c for c, _ in cols_rows))))
    c1 = min(int(window.width), int(np.ceil(max(c for c, _ in cols_rows))))
    r0 = max(0, int(np.floor(min(r for _, r in cols_rows))))
    r1 = min(int(window.height), int(np.ceil(max(r for _, r in cols_rows))))
    if c1 <= c0 or r1 <= r0:
        return None
    sub = t @ Affine.translation(c0, r0)
    inside = features.geometry_mask([zone.geometry], (r1 - r0, c1 - c0), sub, invert=True, all_touched=False)
    return slice(r0, r1), slice(c0, c1), inside


def measure_zones(zone_set: ZoneSet, grid: Grid, window: Window, pixel_areas: PixelAreas,
                  class_maps: list[np.ndarray], dates: list[str]) -> list[dict[str, object]]:
    """Per zone: kind, area in the extent and class areas per date (change is added by ``add_zone_change``)."""
    out = []
    for zone in zone_set.zones:
        record: dict[str, object] = {"name": zone.name, "kind": zone.kind.value, "kind_zh": zone.kind.label_zh,
                                     "repaired": zone.repaired, "violations": [], "transitions": []}
        pixels = _zone_pixels(zone, grid, window)
        if pixels is None:
            record["outside"] = True
            record["note"] = "zone lies outside the analysed extent; nothing measured"
            out.append(record)
            continue
        rows, cols, inside = pixels
        record["outside"] = False
        record["area_in_extent_m2"] = pixel_areas.of_mask(inside, rows, cols)
        record["classes"] = {
            date: {c.key: all_units(pixel_areas.of_mask((cmap[rows, cols] == c) & inside, rows, cols))
                   for c in MEASURED}
            for date, cmap in zip(dates, class_maps, strict=True)
        }
        out.append(record)
    return out


ZoneChangeSums = list[dict[int, list[float]]]  # per zone: code -> [area_m2, pixels, sum of cols, sum of rows]


def zone_change_sums(zone_set: ZoneSet, grid: Grid, window: Window, pixel_areas: PixelAreas, codes: np.ndarray,
                     row_shift: int = 0, into: ZoneChangeSums | None = None) -> ZoneChangeSums:
    """Per zone and transition code inside it: area, pixels and pixel coordinate sums (rows + ``row_shift``:
    a chunk's rows in its whole window), added to ``into`` when given (the chunks of one window)."""
    sums = into if into is not None else [{} for _ in zone_set.zones]
    for zone_sums, zone in zip(sums, zone_set.zones, strict=True):
        pixels = _zone_pixels(zone, grid, window)
        if pixels is None:
            continue
        rows, cols, inside = pixels
        zone_codes = np.where(inside, codes[rows, cols], 0)
        for code in np.flatnonzero(np.bincount(zone_codes.ravel(), minlength=64)[1:]) + 1:
            hit = zone_codes == code
            ys, xs = np.nonzero(hit)
            entry = zone_sums.setdefault(int(code), [0.0, 0, 0, 0])
            entry[0] += pixel_areas.of_mask(hit, rows, cols)
            entry[1] += int(xs.size)
            entry[2] += int(xs.sum()) + xs.size * cols.start
            entry[3] += int(ys.sum()) + ys.size * (rows.start + row_shift)
    return sums


def finish_zone_change(records: list[dict[str, object]], zone_set: ZoneSet, grid: Grid, window: Window,
                       sums: ZoneChangeSums) -> None:
    """Transitions and suspected violations (with their centroids) of each zone, from ``zone_change_sums``."""
    t = window_transform(window, grid.transform)
    to_lonlat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    for record, zone, zone_sums in zip(records, zone_set.zones, sums, strict=True):
        if record.get("outside"):
            continue
        transitions, violations = [], []
        for code in sorted(zone_sums):
            area, n, sum_x, sum_y = zone_sums[code]
            a, b = LandCover(code // 8), LandCover(code % 8)
            transitions.append({"from": a.key, "to": b.key, **all_units(area)})
            kind = _violation(zone.kind, a, b)
            if kind is not None:
                x, y = t @ (sum_x / n + 0.5, sum_y / n + 0.5)
                lon, lat = to_lonlat.transform(x, y)
                violations.append({"kind": kind, "class_from": a.key, "class_to": b.key, **all_units(area),
                                   "centroid_lon": lon, "centroid_lat": lat})
        record["transitions"] = sorted(transitions, key=lambda r: r["area_m2"], reverse=True)
        record["violations"] = sorted(violations, key=lambda r: r["area_m2"], reverse=True)


def add_zone_change(records: list[dict[str, object]], zone_set: ZoneSet, grid: Grid, window: Window,
                    pixel_areas: PixelAreas, codes: np.ndarray) -> None:
    """Add transitions and suspected violations (with locations) inside each zone, from transition codes."""
    finish_zone_change(records, zone_set, grid, window, zone_change_sums(zone_set, grid, window, pixel_areas, codes))


def zone_lookup(zone_set: ZoneSet) -> Callable[[BaseGeometry], str | None]:
    """A function naming the zone that overlaps a map geometry most (None when none does)."""
    def name_of(geom: BaseGeometry) -> str | None:
        best, best_area = None, 0.0
        for zone in zone_set.zones:
            if zone.geometry.intersects(geom):
                area = zone.geometry.intersection(geom).area
                if area > best_area:
                    best, best_area = zone.name, area
        return best
    return name_of
