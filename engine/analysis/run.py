"""``analyse``: layers and an extent in, measured facts out.

Dates are sorted by acquisition date and read on the first date's grid; each
date is classified; areas come from per-row pixel areas; change is measured
between the first and the last date after the minimum mapping unit.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rasterio.windows import Window
from rasterio.windows import bounds as window_bounds

from engine.analysis.areas import M2_PER_HA, row_pixel_areas_m2
from engine.analysis.cache import AnalysisCache, file_identity, grid_identity, make_key, product_identity
from engine.analysis.change import Change, detect_change_codes, transition_codes
from engine.analysis.classes import MEASURED, LandCover
from engine.analysis.classify import Thresholds
from engine.analysis.facts import ClassArea, DateFacts, Facts, TransitionFact
from engine.analysis.findings import DEFAULT_CAP, to_feature_collection
from engine.analysis.landcover import ClassMap, classify_window
from engine.analysis.reference import ReferenceSpec, agreement, read_reference
from engine.analysis.zones import ZoneKind, ZoneSet, add_zone_change, measure_zones, read_zones, zone_lookup
from engine.errors import DateOrderWarning, ExtentOutsideError, MetadataError, NoOverlapError
from engine.memory import release_free_heap
from engine.scene.extent import window_for
from engine.scene.layer import open_layer
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
    budget_mb: int = DEFAULT_BUDGET_MB

    def __post_init__(self) -> None:
        if self.mmu_ha < 0:
            raise ValueError(f"the minimum mapping unit must be >= 0 ha, got {self.mmu_ha}")
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
    cached_findings: Callable[[], dict[str, object] | None] | None = None  # loads stored findings
    from_cache: bool = False

    def findings(self, cap: int = DEFAULT_CAP) -> dict[str, object]:
        """The change patches as a GeoJSON FeatureCollection (empty without change)."""
        stored = self.cached_findings() if self.cached_findings is not None else None
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
            keep_class_maps: bool = False) -> Analysis:
    """Measure land cover per date, change between the first and last date, and zones.

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
    window = window_for(grid, extent)
    zone_set = read_zones(zones.path, grid, zones.name_field, zones.kind, zones.crs) if zones else None
    result_key = None
    if cache is not None:
        zone_id = None if zones is None else [file_identity(zones.path), zones.name_field, zones.kind, zones.crs]
        ref_id = None if reference is None else [file_identity(reference.path), reference.date, reference.code_field,
                                                  None if reference.table is None else file_identity(reference.table)]
        result_key = make_key("result", [product_identity(p) for p in products], grid_identity(grid, window),
                              config.thresholds.to_dict(), config.mmu_ha, zone_id, ref_id, CACHED_FINDINGS)
        stored = cache.load_result(result_key, "facts")
        if stored is not None:
            log.info("analysis served from the cache")
            key = result_key
            return Analysis(facts=Facts.from_raw(stored), products=products, class_maps=[], change=None,
                            grid=grid, zones=zone_set, cached_findings=lambda: cache.load_result(key, "findings"),
                            from_cache=True)
    row_areas = row_pixel_areas_m2(grid, window)
    total_area = float(row_areas.sum() * int(window.width))
    maps: list[ClassMap] = []
    per_date: list[DateFacts] = []
    for i, product in enumerate(products):
        label = f"date {i + 1}/{len(products)} {product.acquired}"

        def step(done: int, total: int, label: str = label) -> None:
            if progress is not None:
                progress(label, done, total)

        cmap = _class_map(product, grid, window, config, cache, step)
        maps.append(cmap)
        areas = cmap.counts(row_areas)
        valid_area = total_area - areas[LandCover.INVALID]
        if valid_area <= 0:
            if i > 0 and _overlaps_nothing(product, grid, window):
                raise NoOverlapError(f"{product.name} ({product.acquired}) does not overlap the first date's extent")
            notes.append(f"{product.acquired}: no valid pixels in the extent (nodata, cloud or shadow); "
                         "its areas are not measured and change involving it is not computed")
        per_date.append(_date_facts(product.acquired.isoformat(), product.name, product.sensor.value, cmap,
                                    areas, total_area))
        del cmap  # only ``maps`` holds class maps, so they can be freed before change detection
    reference_facts = None
    if reference is not None:
        ref = read_reference(reference, grid, window)
        ref_map = ClassMap(classes=ref.classes, window=window, thresholds=config.thresholds,
                           method=f"reference layer {ref.name} ({ref.scheme} codes mapped to classes)",
                           index_means={})
        nearest = min(range(len(maps)), key=lambda i: abs(products[i].acquired - ref.date))
        reference_facts = {"name": ref.name, "date": ref.date.isoformat(), "scheme": ref.scheme,
                           "compared_with": per_date[nearest].date,
                           "agreement": agreement(ref.classes, maps[nearest].classes)}
        position = sum(1 for d in per_date if d.date <= ref.date.isoformat())
        maps.insert(position, ref_map)
        per_date.insert(position, _date_facts(ref.date.isoformat(), ref.name, "reference", ref_map,
                                              ref_map.counts(row_areas), total_area))
        notes.append(f"the reference layer {ref.name} is the {ref.date} date; change between it and classified "
                     "dates mixes two methods, so part of it may be method difference")
    zone_records = (measure_zones(zone_set, grid, window, row_areas, [m.classes for m in maps],
                                  [d.date for d in per_date]) if zone_set is not None else [])
    change = None
    first, last = per_date[0], per_date[-1]
    if len(maps) > 1 and first.valid_area_m2 > 0 and last.valid_area_m2 > 0:
        if progress is not None:
            progress("change", 0, 1)
        codes = transition_codes(maps[0].classes, maps[-1].classes)
        if not keep_class_maps:
            maps = []  # the class maps are no longer needed: free them before labelling (10980² fits in 1 GB)
        release_free_heap()  # and the reader's strip buffers
        change = detect_change_codes(codes, window, row_areas, config.mmu_ha * M2_PER_HA)
        if progress is not None:
            progress("change", 1, 1)
    if not keep_class_maps:
        maps = []
    left, bottom, right, top = window_bounds(window, grid.transform)
    facts = Facts(
        dates=[d.date for d in per_date],
        crs=grid.crs.to_string(),
        pixel_size=grid.pixel_size,
        extent={"xmin": left, "ymin": bottom, "xmax": right, "ymax": top, "crs": grid.crs.to_string()},
        area_m2=total_area,
        per_date=per_date,
        mmu_m2=config.mmu_ha * M2_PER_HA,
        notes=list(dict.fromkeys([*notes, *(f"{p.name}: {n}" for p in products for n in p.notes)])),
        reference=reference_facts,
    )
    if change is not None:
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
    if zone_set is not None:
        facts.notes.extend(zone_set.notes)
        if change is not None and change.codes is not None:
            add_zone_change(zone_records, zone_set, grid, window, row_areas, change.codes)
        facts.zones = zone_records
        outside = [z["name"] for z in facts.zones if z.get("outside")]
        if outside:
            facts.notes.append(f"zones outside the analysed extent (nothing measured): {', '.join(outside)}")
    result = Analysis(facts=facts, products=products, class_maps=maps, change=change, grid=grid, zones=zone_set)
    if cache is not None and result_key is not None:
        cache.save_result(result_key, {"facts": facts.to_raw(), "findings": result.findings(CACHED_FINDINGS)})
    return result


def _class_map(product: Product, grid: Grid, window: Window, config: AnalysisConfig, cache: AnalysisCache | None,
               step: Callable[[int, int], None]) -> ClassMap:
    """Classify one date, or load its class map from the cache."""
    key = cache.class_map_key(product, grid, window, config.thresholds) if cache is not None else None
    if cache is not None and key is not None:
        stored = cache.load_class_map(key)
        if stored is not None:
            classes, meta = stored
            step(int(window.height), int(window.height))
            return ClassMap(classes=classes, window=window, thresholds=Thresholds(**meta["thresholds"]),
                            method=str(meta["method"]), index_means=dict(meta["index_means"]))
    with SceneReader(product, grid=grid) as reader:
        cmap = classify_window(product, window, config.thresholds, reader, config.budget_mb, step)
    if cache is not None and key is not None:
        cache.save_class_map(key, cmap.classes, {"thresholds": cmap.thresholds.to_dict(), "method": cmap.method,
                                                 "index_means": cmap.index_means})
    return cmap


def _date_facts(date: str, layer: str, sensor: str, cmap: ClassMap, areas: dict[LandCover, float],
                total_area: float) -> DateFacts:
    valid_area = total_area - areas[LandCover.INVALID]
    return DateFacts(
        date=date, layer=layer, sensor=sensor,
        classes={c.key: ClassArea(areas[c], areas[c] / valid_area if valid_area > 0 else 0.0) for c in MEASURED},
        valid_fraction=valid_area / total_area if total_area else 0.0, valid_area_m2=valid_area,
        invalid_area_m2=areas[LandCover.INVALID], thresholds=cmap.thresholds.to_dict(), method=cmap.method,
        indices=cmap.index_means,
    )


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

