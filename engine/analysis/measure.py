"""Facts from class maps: the measuring steps that ``analyse`` and the dataset builder's tiles share.

Given class maps over a window and every pixel's ground area, these functions
give the per-date class areas, the change between the first and the last date
after the minimum mapping unit, the per-interval series when there are three
or more dates, and the zone records. ``analyse`` calls them while it streams
dates (so class maps can be freed early); ``measure_window`` calls them on any
sub-window of maps already in memory, which is how a training tile gets the
same facts as ``analyse`` over that tile's extent.
"""

from __future__ import annotations

import itertools

from rasterio.windows import Window
from rasterio.windows import bounds as window_bounds

from engine.analysis.areas import PixelAreas
from engine.analysis.change import Change, detect_change_codes, transition_codes
from engine.analysis.classes import MEASURED, LandCover
from engine.analysis.facts import ClassArea, DateFacts, Facts, TransitionFact
from engine.analysis.landcover import ClassMap
from engine.analysis.zones import ZoneSet, add_zone_change, measure_zones
from engine.scene.product import Grid

MIN_VALID_FRACTION = 0.2  # a date with less valid area (cloud, shadow, nodata) is not measurable


def date_facts(date: str, layer: str, sensor: str, cmap: ClassMap, areas: PixelAreas,
               outside_m2: float = 0.0) -> DateFacts:
    """Class areas of one date over the window (valid pixels only), and how they were classified.

    ``outside_m2``: the window's area outside the AOI polygon (its pixels are ``invalid`` in ``cmap``),
    which is no part of the measured area.
    """
    by_class = cmap.counts(areas)
    by_class[LandCover.INVALID] = max(0.0, by_class[LandCover.INVALID] - outside_m2)
    valid_area = sum(by_class[c] for c in MEASURED)  # not total - invalid: exactly 0 when all is invalid
    total_area = areas.total_m2 - outside_m2
    valid_fraction = valid_area / total_area if total_area else 0.0
    return DateFacts(
        date=date, layer=layer, sensor=sensor,
        classes={c.key: ClassArea(by_class[c], by_class[c] / valid_area if valid_area > 0 else 0.0)
                 for c in MEASURED},
        valid_fraction=valid_fraction, valid_area_m2=valid_area, invalid_area_m2=by_class[LandCover.INVALID],
        thresholds=cmap.thresholds.to_dict(), method=cmap.method, indices=cmap.index_means,
        measurable=valid_fraction >= MIN_VALID_FRACTION,
    )


def new_facts(grid: Grid, window: Window, areas: PixelAreas, per_date: list[DateFacts], mmu_m2: float,
              notes: list[str], outside_m2: float = 0.0) -> Facts:
    """The facts record of a window before change and zones are added (``outside_m2``: as ``date_facts``)."""
    left, bottom, right, top = window_bounds(window, grid.transform)
    facts = Facts(
        dates=[d.date for d in per_date], crs=grid.crs.to_string(), pixel_size=grid.pixel_size,
        extent={"xmin": left, "ymin": bottom, "xmax": right, "ymax": top, "crs": grid.crs.to_string()},
        area_m2=areas.total_m2 - outside_m2, area_method=areas.method, per_date=per_date, mmu_m2=mmu_m2,
        notes=notes)
    facts.intervals = interval_series(per_date)
    unmeasurable = [d for d in per_date if not d.measurable]
    if unmeasurable:
        facts.notes.append("not measurable (less than {:.0%} of the extent valid: cloud, shadow or nodata): {}".format(
            MIN_VALID_FRACTION, ", ".join(f"{d.date} ({d.valid_fraction:.0%} valid)" for d in unmeasurable)))
    same = sorted({d.date for d in per_date if sum(e.date == d.date for e in per_date) > 1})
    if same:
        facts.notes.append("two or more layers share the date " + ", ".join(same) + "; change between them "
                           "is not a change in time (check the layers' dates)")
    return facts


def interval_series(per_date: list[DateFacts]) -> list[dict[str, object]]:
    """With three or more dates: per consecutive pair, each class's change in area and in share of valid area."""
    if len(per_date) < 3:
        return []
    out = []
    for a, b in itertools.pairwise(per_date):
        out.append({
            "date_from": a.date, "date_to": b.date, "measurable": a.measurable and b.measurable,
            "classes": {c.key: {"change_m2": b.classes[c.key].area_m2 - a.classes[c.key].area_m2,
                                "share_change_points": (b.classes[c.key].fraction - a.classes[c.key].fraction) * 100}
                        for c in MEASURED},
        })
    return out


def changes_between(first: ClassMap, last: ClassMap, window: Window, areas: PixelAreas, mmu_m2: float) -> Change:
    """Change patches and transitions from the first to the last class map, after the minimum mapping unit."""
    return detect_change_codes(transition_codes(first.classes, last.classes), window, areas, mmu_m2)


def add_change(facts: Facts, change: Change) -> None:
    """Transitions (with patch counts), net change, speckle and index change into ``facts``."""
    first, last = facts.per_date[0], facts.per_date[-1]
    counts: dict[tuple[LandCover, LandCover], int] = {}
    for patch in change.patches:
        counts[(patch.class_from, patch.class_to)] = counts.get((patch.class_from, patch.class_to), 0) + 1
    facts.transitions = sorted(
        (TransitionFact(a.key, b.key, area, first.date, last.date, counts.get((a, b), 0))
         for (a, b), area in change.transitions.items()),
        key=lambda t: t.area_m2, reverse=True)
    facts.net_change = {c.key: v for c, v in change.net_change_m2().items()}
    facts.speckle_m2 = change.speckle_m2
    facts.findings_count = len(change.patches)
    facts.index_change = {
        k: (last.indices[k] - first.indices[k])
        if first.indices.get(k) is not None and last.indices.get(k) is not None else None
        for k in first.indices
    }


def measure_window(maps: list[ClassMap], layers: list[tuple[str, str, str]], grid: Grid, window: Window,
                   areas: PixelAreas, mmu_m2: float, zone_set: ZoneSet | None = None) -> tuple[Facts, Change | None]:
    """Facts of class maps already in memory over ``window``; ``layers`` is (date, name, sensor) per map."""
    per_date = [date_facts(date, name, sensor, cmap, areas)
                for (date, name, sensor), cmap in zip(layers, maps, strict=True)]
    facts = new_facts(grid, window, areas, per_date, mmu_m2, [])
    records = (measure_zones(zone_set, grid, window, areas, [m.classes for m in maps], facts.dates)
               if zone_set is not None else [])
    change = None
    if len(maps) > 1 and per_date[0].valid_area_m2 > 0 and per_date[-1].valid_area_m2 > 0:
        change = changes_between(maps[0], maps[-1], window, areas, mmu_m2)
        add_change(facts, change)
    if zone_set is not None:
        if change is not None and change.codes is not None:
            add_zone_change(records, zone_set, grid, window, areas, change.codes)
        facts.zones = records
    return facts, change
