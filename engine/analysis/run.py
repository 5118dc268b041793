"""``analyse``: layers and an extent in, measured facts out.

Dates are sorted by acquisition date and read on the first date's grid; each
date is classified; areas come from per-row pixel areas; change is measured
between the first and the last date after the minimum mapping unit.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rasterio.windows import Window
from rasterio.windows import bounds as window_bounds
from shapely.geometry import box

from engine.analysis.aoi import Aoi, AoiSpec, inside_mask, read_aoi
from engine.analysis.areas import M2_PER_HA, PixelAreas, pixel_areas
from engine.analysis.cache import AnalysisCache, file_identity, grid_identity, make_key, product_identity
from engine.analysis.change import Change
from engine.analysis.classes import MEASURED, LandCover
from engine.analysis.classify import Thresholds
from engine.analysis.facts import DateFacts, Facts
from engine.analysis.findings import DEFAULT_CAP, to_feature_collection
from engine.analysis.landcover import ClassMap, classify_window
from engine.analysis.measure import add_change, changes_between, date_facts, new_facts
from engine.analysis.reference import ReferenceSpec, agreement, read_reference, survey_areas
from engine.analysis.zones import (
    ZoneKind,
    ZoneSet,
    add_zone_change,
    clip_zones,
    measure_zones,
    polygon_parts,
    read_zones,
    zone_lookup,
)
from engine.errors import AoiError, DateOrderWarning, ExtentOutsideError, MetadataError, NoOverlapError
from engine.memory import release_free_heap
from engine.scene.extent import window_for
from engine.scene.layer import open_layer
from engine.scene.limits import DEFAULT_ANALYSIS_MB, check_analysis_memory, check_full_read
from engine.scene.product import Grid, Product
from engine.scene.reader import DEFAULT_BUDGET_MB, SceneReader
from engine.types import Extent, LayerSpec

log = logging.getLogger(__name__)

StageProgress = Callable[[str, int, int], None]  # (stage label, done, total)
CACHED_FINDINGS = 5000  # findings kept with a cached result


@dataclass(frozen=True)
class AnalysisConfig:
    """Analysis settings; areas in ha as users state them."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    mmu_ha: float = 0.5
    budget_mb: int = DEFAULT_BUDGET_MB  # reading
    max_memory_mb: int = DEFAULT_ANALYSIS_MB  # the class maps, codes and labels

    def __post_init__(self) -> None:
        if not math.isfinite(self.mmu_ha) or self.mmu_ha < 0:
            raise ValueError(f"the minimum mapping unit must be a number >= 0 ha, got {self.mmu_ha}")
        if self.budget_mb <= 0:
            raise ValueError("budget_mb must be positive")


@dataclass(frozen=True)
class ZoneSpec:
    """A zones file and how to read it."""

    path: Path
    name_field: str | None = None
    kind: ZoneKind | None = None
    crs: str | None = None  # for formats that carry none


@dataclass
class Analysis:
    """Facts plus the arrays they were measured from (for findings and rendering)."""

    facts: Facts
    products: list[Product]
    class_maps: list[ClassMap]  # empty unless analyse(keep_class_maps=True) computed them
    change: Change | None
    grid: Grid
    zones: ZoneSet | None = None
    stored_findings: dict[str, object] | None = None  # the findings stored with a cached result
    from_cache: bool = False

    def findings(self, cap: int = DEFAULT_CAP) -> dict[str, object]:
        """The change patches as a GeoJSON FeatureCollection (empty without change)."""
        stored = self.stored_findings
        if stored is not None:
            feats = list(stored["features"])
            count = int(stored["properties"]["count"])
            left_out = max(0, count - min(cap, len(feats)))
            return {"type": "FeatureCollection", "features": feats[:cap],
                    "properties": {"count": count, "left_out": left_out,
                                   "note": f"{left_out} smaller patches left out (cap {cap})" if left_out else None}}
        if self.change is None:
            return {"type": "FeatureCollection", "features": [], "properties": {"count": 0, "left_out": 0}}
        lookup = zone_lookup(self.zones) if self.zones is not None else None
        return to_feature_collection(self.change, self.grid, self.facts.dates[0], self.facts.dates[-1], lookup, cap)


def _sorted_products(specs: list[LayerSpec]) -> tuple[list[Product], list[str]]:
    products = [open_layer(s) for s in specs]
    undated = [p.name for p in products if p.acquired is None]
    if undated:
        raise MetadataError(
            f"acquisition date unknown for {', '.join(undated)}; put the date in the file name "
            "(e.g. scene_2024-05-01.tif) or tag ACQUISITION_DATE=YYYY-MM-DD"
        )
    ordered = sorted(products, key=lambda p: p.acquired)
    notes = []
    if [p.name for p in ordered] != [p.name for p in products]:
        msg = "layers were given out of date order and were sorted by acquisition date: " + ", ".join(
            f"{p.name} ({p.acquired})" for p in ordered)
        warnings.warn(msg, DateOrderWarning, stacklevel=3)
        notes.append(msg)
    return ordered, notes


def analyse(specs: list[LayerSpec], extent: Extent | None = None, config: AnalysisConfig | None = None,
            progress: StageProgress | None = None, zones: ZoneSpec | None = None,
            cache: AnalysisCache | None = None, reference: ReferenceSpec | None = None,
            keep_class_maps: bool = False, aoi: AoiSpec | None = None) -> Analysis:
    """Measure land cover per date, change between the first and last date, and zones.

    With ``aoi``, measurement is clipped to the AOI polygon (read over its bounding box; cut to
    ``extent`` too when both are given).

    With ``cache``, a repeated call with the same files, extent and settings
    returns the stored facts and findings without reading a pixel, and class
    maps are reused across different zones or minimum mapping units. The class
    maps are dropped once measured unless ``keep_class_maps`` (they are the
    largest arrays; the cache keeps them on disk).
    """
    config = config or AnalysisConfig()
    if not specs:
        raise ValueError("give at least one layer")
    products, notes = _sorted_products(specs)
    grid = products[0].grid
    area = read_aoi(aoi) if aoi is not None else None
    clip = _aoi_geometry(area, extent, grid) if area is not None else None
    try:
        window = window_for(grid, Extent(*clip.bounds, crs=grid.crs.to_string()) if clip is not None else extent)
    except ExtentOutsideError as exc:
        if area is None:
            raise
        first = products[0]
        raise ExtentOutsideError(f"the area {area.name!r} ({area.source}) lies outside {first.name} "
                                 f"({first.acquired}), the first date's layer, on whose grid every date is read: "
                                 f"{exc}") from None
    check_full_read(window, "measuring this extent")  # before anything is read or allocated
    check_analysis_memory(window, len(products) + (reference is not None) + (area is not None),
                          config.max_memory_mb)
    zone_set = read_zones(zones.path, grid, zones.name_field, zones.kind, zones.crs) if zones else None
    inside = None
    if area is not None:
        inside = inside_mask(clip, grid, window)
        if not inside.any():
            raise AoiError(f"the area {area.name!r} holds no whole pixel of the layers ({grid.pixel_size[0]:g} "
                           "m pixels); measure a larger area")
        notes.extend(area.notes)
        zone_set = clip_zones(zone_set, clip) if zone_set is not None else None
    clipped = _Clip(area, inside) if area is not None else None
    if cache is None:
        return _measure(products, notes, grid, window, config, progress, zone_set, None, reference, keep_class_maps,
                        clipped)
    zone_id = None if zones is None else [file_identity(zones.path), zones.name_field, zones.kind, zones.crs]
    aoi_id = None if aoi is None else [file_identity(aoi.path), aoi.name, aoi.name_field, aoi.crs, aoi.label,
                                       None if extent is None else extent.to_dict()]
    ref_id = None if reference is None else [file_identity(reference.path), reference.date, reference.code_field,
                                              None if reference.table is None else file_identity(reference.table)]
    key = make_key("result", [product_identity(p) for p in products], grid_identity(grid, window),
                   config.thresholds.to_dict(), config.mmu_ha, zone_id, ref_id, CACHED_FINDINGS,
                   *([aoi_id] if aoi_id is not None else []))  # (keys made without an AOI stay as they were)
    with cache.lock(key):  # a second process waits here for the first one's entry, then reads it
        stored = None if keep_class_maps else cache.load_result(key)  # class maps come from their own entries
        facts = _stored_facts(cache, key, stored) if stored is not None else None
        if facts is not None:
            log.info("analysis served from the cache")
            return Analysis(facts=facts, products=products, class_maps=[], change=None, grid=grid, zones=zone_set,
                            stored_findings=stored["findings"], from_cache=True)
        result = _measure(products, notes, grid, window, config, progress, zone_set, cache, reference,
                          keep_class_maps, clipped)
        cache.save_result(key, {"facts": result.facts.to_raw(), "findings": result.findings(CACHED_FINDINGS)})
    cache.evict()  # with no lock held, so the entries just written can be weighed like the others
    return result


@dataclass(frozen=True)
class _Clip:
    """The AOI measurement is clipped to, and which pixels of the window lie inside it."""

    aoi: Aoi
    inside: np.ndarray  # (height, width) bool


def _aoi_geometry(area: Aoi, extent: Extent | None, grid: Grid):
    """The AOI polygon in the grid's CRS, cut to ``extent`` when one is given too."""
    geometry = area.in_crs(grid.crs)
    if extent is not None:
        bounds = box(*window_bounds(window_for(grid, extent), grid.transform))
        geometry = polygon_parts(geometry.intersection(bounds))
        if geometry.is_empty:
            raise AoiError(f"the area {area.name!r} lies outside the extent")
    return geometry


def _stored_facts(cache: AnalysisCache, key: str, stored: dict[str, dict[str, object]]) -> Facts | None:
    try:
        return Facts.from_raw(stored["facts"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # e.g. {} or an older layout
        cache.store.damaged(key, f"its facts cannot be read: {type(exc).__name__}: {exc}")
        return None


def _measure(products: list[Product], notes: list[str], grid: Grid, window: Window, config: AnalysisConfig,
             progress: StageProgress | None, zone_set: ZoneSet | None, cache: AnalysisCache | None,
             reference: ReferenceSpec | None, keep_class_maps: bool, clip: _Clip | None = None) -> Analysis:
    """Classify each date (or load its class map), then measure areas, change and zones."""
    areas_px = pixel_areas(grid, window)
    outside_m2 = areas_px.of_mask(~clip.inside) if clip is not None else 0.0
    maps: list[ClassMap] = []
    per_date: list[DateFacts] = []
    for i, product in enumerate(products):
        label = f"date {i + 1}/{len(products)} {product.acquired}"

        def step(done: int, total: int, label: str = label) -> None:
            if progress is not None:
                progress(label, done, total)

        cmap = _class_map(product, grid, window, config, cache, step)
        if clip is not None:
            cmap.classes[~clip.inside] = LandCover.INVALID  # outside the AOI: no part of any area
        maps.append(cmap)
        day = date_facts(product.acquired.isoformat(), product.name, product.sensor.value, cmap, areas_px,
                         outside_m2)
        if day.valid_area_m2 <= 0:
            if i > 0 and _overlaps_nothing(product, grid, window):
                raise NoOverlapError(f"{product.name} ({product.acquired}) does not overlap the first date's extent")
            notes.append(f"{product.acquired}: no valid pixels in the extent (nodata, cloud or shadow); "
                         "its areas are not measured and change involving it is not computed")
        per_date.append(day)
        del cmap  # only ``maps`` holds class maps, so they can be freed before change detection
    reference_facts = None
    if reference is not None:
        reference_facts = _add_reference(reference, grid, window, areas_px, config, products, maps, per_date, notes,
                                          clip, outside_m2)
    zone_records = (measure_zones(zone_set, grid, window, areas_px, [m.classes for m in maps],
                                  [d.date for d in per_date]) if zone_set is not None else [])
    change = None
    if len(maps) > 1 and per_date[0].valid_area_m2 > 0 and per_date[-1].valid_area_m2 > 0:
        if progress is not None:
            progress("change", 0, 1)
        first_map, last_map = maps[0], maps[-1]
        if not keep_class_maps:
            maps = []  # the class maps are no longer needed: free them before labelling (10980² fits in 1 GB)
        release_free_heap()  # and the reader's strip buffers
        change = changes_between(first_map, last_map, window, areas_px, config.mmu_ha * M2_PER_HA)
        del first_map, last_map
        if progress is not None:
            progress("change", 1, 1)
    if not keep_class_maps:
        maps = []
    facts = new_facts(grid, window, areas_px, per_date, config.mmu_ha * M2_PER_HA,
                      list(dict.fromkeys([*notes, *(f"{p.name}: {n}" for p in products for n in p.notes)])),
                      outside_m2)
    facts.reference = reference_facts
    facts.aoi = clip.aoi.record() if clip is not None else None
    if change is not None:
        add_change(facts, change)
    if zone_set is not None:
        facts.notes.extend(zone_set.notes)
        if change is not None and change.codes is not None:
            add_zone_change(zone_records, zone_set, grid, window, areas_px, change.codes)
        facts.zones = zone_records
        outside = [z["name"] for z in facts.zones if z.get("outside")]
        if outside:
            facts.notes.append(f"zones outside the analysed extent (nothing measured): {', '.join(outside)}")
    return Analysis(facts=facts, products=products, class_maps=maps, change=change, grid=grid, zones=zone_set)


def _class_map(product: Product, grid: Grid, window: Window, config: AnalysisConfig, cache: AnalysisCache | None,
               step: Callable[[int, int], None]) -> ClassMap:
    """Classify one date, or load its class map from the cache."""
    if cache is None:
        with SceneReader(product, grid=grid) as reader:
            return classify_window(product, window, config.thresholds, reader, config.budget_mb, step)
    key = cache.class_map_key(product, grid, window, config.thresholds)
    with cache.lock(key):
        stored = cache.load_class_map(key, (int(window.height), int(window.width)))
        if stored is not None:
            classes, meta = stored
            step(int(window.height), int(window.height))
            return ClassMap(classes=classes, window=window, thresholds=Thresholds(**meta["thresholds"]),
                            method=str(meta["method"]), index_means=dict(meta["index_means"]))
        with SceneReader(product, grid=grid) as reader:
            cmap = classify_window(product, window, config.thresholds, reader, config.budget_mb, step)
        cache.save_class_map(key, cmap.classes, {"thresholds": cmap.thresholds.to_dict(), "method": cmap.method,
                                                 "index_means": cmap.index_means})
        return cmap


def _add_reference(reference: ReferenceSpec, grid: Grid, window: Window, areas: PixelAreas, config: AnalysisConfig,
                   products: list[Product], maps: list[ClassMap], per_date: list[DateFacts],
                   notes: list[str], clip: _Clip | None = None, outside_m2: float = 0.0) -> dict[str, object]:
    """Insert the reference layer as a date (class map and facts, in date order); its record for the facts."""
    ref = read_reference(reference, grid, window)
    if clip is not None:
        ref.classes[~clip.inside] = LandCover.INVALID
        if ref.survey is not None:
            ref.survey[~clip.inside] = 0
    ref_map = ClassMap(classes=ref.classes, window=window, thresholds=config.thresholds,
                       method=f"reference layer {ref.name} ({ref.scheme} codes mapped to classes)", index_means={})
    nearest = min(range(len(maps)), key=lambda i: abs(products[i].acquired - ref.date))
    record: dict[str, object] = {"name": ref.name, "date": ref.date.isoformat(), "scheme": ref.scheme,
                                 "compared_with": per_date[nearest].date,
                                 "agreement": agreement(ref.classes, maps[nearest].classes)}
    if ref.survey is not None:  # GB/T 21010 first-level classes as surveyed: 耕地 and 草地 apart
        record["survey_classes"] = survey_areas(ref.survey, areas)
    position = sum(1 for d in per_date if d.date <= ref.date.isoformat())
    maps.insert(position, ref_map)
    per_date.insert(position, date_facts(ref.date.isoformat(), ref.name, "reference", ref_map, areas, outside_m2))
    notes.append(f"the reference layer {ref.name} is the {ref.date} date; change between it and classified "
                 "dates mixes two methods, so part of it may be method difference")
    return record


def _overlaps_nothing(product: Product, grid: Grid, window: Window) -> bool:
    """True when ``window`` of ``grid`` lies wholly outside ``product``."""
    try:
        window_for(product.grid, Extent(*window_bounds(window, grid.transform), crs=grid.crs.to_string()))
    except ExtentOutsideError:
        return True
    return False


def class_fraction_table(facts: Facts) -> dict[str, list[float]]:
    """Share of each class per date (rows: classes, columns: dates), for trend answers."""
    return {c.key: [d.classes[c.key].fraction for d in facts.per_date] for c in MEASURED}

