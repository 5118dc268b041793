"""An area measured in chunks of rows, merged into the facts and findings of one ``analyse`` over it.

For an area whose class maps and labels would not fit the memory budget at once. The window is cut
into bands of rows; every number is then made as ``analyse`` makes it:

- each date's thresholds come from a sample of the whole window (``scene_thresholds``), as
  ``classify_window`` chooses them, so every chunk is classified by the same rules;
- class, zone and reference-free areas are sums over the chunks of the same per-pixel areas;
- change components are labelled per chunk and joined across each seam (8-connected, same
  transition), a union-find over the seam rows, before the minimum mapping unit is applied to the
  joined components; each kept patch's mask is assembled from its pieces, so its outline is the one
  ``analyse`` draws;
- zone transitions and violations add up per zone and transition (area, pixels, coordinate sums).

The chunks' transition codes and labels wait on disk between the two passes.
"""

from __future__ import annotations

import itertools
import logging
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rasterio.windows import Window

from engine.analysis import kernels
from engine.analysis.aoi import AoiSpec, inside_mask, read_aoi
from engine.analysis.areas import M2_PER_HA, pixel_areas
from engine.analysis.change import Change, Patch, transition_codes
from engine.analysis.classes import MEASURED, LandCover
from engine.analysis.classify import IndexSums
from engine.analysis.facts import ClassArea, DateFacts, Facts
from engine.analysis.landcover import classify_window, scene_thresholds
from engine.analysis.measure import MIN_VALID_FRACTION, add_change, new_facts
from engine.analysis.zones import clip_zones, finish_zone_change, measure_zones, read_zones, zone_change_sums
from engine.scene import indices
from engine.scene.limits import ANALYSIS_BYTES_PER_PIXEL
from engine.scene.reader import SceneReader
from engine.types import BandRole, Extent, LayerSpec

log = logging.getLogger(__name__)


@dataclass
class _Piece:
    """Per chunk: its rows in the window, its components' statistics and where its codes and labels wait."""

    row0: int
    rows: int
    comp: kernels.Components
    offset: int  # global id of its label 1 is offset + 1
    first_codes: np.ndarray
    first_labels: np.ndarray
    last_codes: np.ndarray
    last_labels: np.ndarray
    saved: Path


def analyse_in_chunks(specs: list[LayerSpec], aoi: AoiSpec, config, zones=None, chunk_rows: int | None = None,
                      max_findings: int = 5000) -> tuple[Facts, dict[str, object]]:
    """The facts and findings ``analyse(specs, config=config, zones=zones, aoi=aoi)`` gives, made chunk by chunk.

    ``chunk_rows``: rows per chunk; by default as many as ``config.max_memory_mb`` holds (class maps of every
    date, the area's mask, transition codes and labels).
    """
    from engine.analysis.findings import to_feature_collection
    from engine.analysis.run import _aoi_geometry, _sorted_products
    from engine.analysis.zones import zone_lookup
    from engine.scene.extent import window_for

    products, notes = _sorted_products(specs)
    grid = products[0].grid
    area = read_aoi(aoi)
    clip = _aoi_geometry(area, None, grid)
    window = window_for(grid, Extent(*clip.bounds, crs=grid.crs.to_string()))
    notes.extend(area.notes)
    zone_set = None
    if zones is not None:
        zone_set = clip_zones(read_zones(zones.path, grid, zones.name_field, zones.kind, zones.crs), clip)
    areas = pixel_areas(grid, window)
    if chunk_rows is None:
        row_bytes = int(window.width) * (len(products) + 1 + ANALYSIS_BYTES_PER_PIXEL)
        chunk_rows = max(1, int(config.max_memory_mb * 2**20 // row_bytes))
    log.info("measuring %s in chunks of %d rows", area.name, chunk_rows)
    adapted, sums = [], []
    for product in products:
        with SceneReader(product, grid=grid) as reader:
            adapted.append(scene_thresholds(product, window, config.thresholds, reader))
        sums.append(IndexSums())
    by_class = [dict.fromkeys((LandCover.INVALID, *MEASURED), 0.0) for _ in products]
    outside_m2 = 0.0
    zone_records: list[dict[str, object]] | None = None
    dates = [p.acquired.isoformat() for p in products]
    pieces: list[_Piece] = []
    height, offset = int(window.height), 0
    with tempfile.TemporaryDirectory(prefix="chunks-") as folder:
        for row0 in range(0, height, chunk_rows):
            rows = min(chunk_rows, height - row0)
            chunk = Window(window.col_off, window.row_off + row0, window.width, rows)
            inside = inside_mask(clip, grid, chunk)
            chunk_areas = areas.sub(slice(row0, row0 + rows), slice(None))
            outside_m2 += chunk_areas.of_mask(~inside)
            maps = []
            for i, product in enumerate(products):
                with SceneReader(product, grid=grid) as reader:
                    cmap = classify_window(product, chunk, config.thresholds, reader, config.budget_mb,
                                           adapted=adapted[i], index_sums=sums[i])
                cmap.classes[~inside] = LandCover.INVALID
                for cls, value in cmap.counts(chunk_areas).items():
                    by_class[i][cls] += value
                maps.append(cmap.classes)
            if zone_set is not None:
                zone_records = _add_zone_records(zone_records, measure_zones(zone_set, grid, chunk, chunk_areas,
                                                                             maps, dates))
            codes = transition_codes(maps[0], maps[-1]) if len(maps) > 1 else np.zeros_like(maps[0])
            del maps
            labels = np.zeros(codes.shape, np.int32)
            comp = kernels.label_same_code(codes, chunk_areas, labels)
            saved = Path(folder) / f"{row0}.npz"
            np.savez(saved, codes=codes, labels=labels)
            pieces.append(_Piece(row0, rows, comp, offset, codes[0].copy(), labels[0].copy(), codes[-1].copy(),
                                 labels[-1].copy(), saved))
            offset += len(comp.code)
            del codes, labels
        per_date = [_date_facts(product, by_class[i], areas.total_m2 - outside_m2, outside_m2, adapted[i], sums[i])
                    for i, product in enumerate(products)]
        facts = new_facts(grid, window, areas, per_date, config.mmu_ha * M2_PER_HA,
                          list(dict.fromkeys([*notes, *(f"{p.name}: {n}" for p in products for n in p.notes)])),
                          outside_m2)
        facts.aoi = area.record()
        change = None
        if len(products) > 1 and per_date[0].valid_area_m2 > 0 and per_date[-1].valid_area_m2 > 0:
            change, zone_sums = _join(pieces, offset, window, facts.mmu_m2, zone_set, grid, areas)
            add_change(facts, change)
        if zone_set is not None:
            if change is not None:
                finish_zone_change(zone_records, zone_set, grid, window, zone_sums)
            facts.notes.extend(zone_set.notes)
            facts.zones = zone_records
            outside = [z["name"] for z in facts.zones if z.get("outside")]
            if outside:
                facts.notes.append(f"zones outside the analysed extent (nothing measured): {', '.join(outside)}")
    if change is None:
        findings = {"type": "FeatureCollection", "features": [], "properties": {"count": 0, "left_out": 0}}
    else:
        lookup = zone_lookup(zone_set) if zone_set is not None else None
        findings = to_feature_collection(change, grid, facts.dates[0], facts.dates[-1], lookup, max_findings)
    return facts, findings


def _date_facts(product, by_class: dict[LandCover, float], total_m2: float, outside_m2: float, adapted,
                sums: IndexSums) -> DateFacts:
    """As ``measure.date_facts``, from class areas summed over the chunks."""
    valid_area = sum(by_class[c] for c in MEASURED)
    valid_fraction = valid_area / total_m2 if total_m2 else 0.0
    roles = tuple(r for r in BandRole if r in product.bands)
    return DateFacts(
        date=product.acquired.isoformat(), layer=product.name, sensor=product.sensor.value,
        classes={c.key: ClassArea(by_class[c], by_class[c] / valid_area if valid_area > 0 else 0.0) for c in MEASURED},
        valid_fraction=valid_fraction, valid_area_m2=valid_area,
        invalid_area_m2=max(0.0, by_class[LandCover.INVALID] - outside_m2), thresholds=adapted[0].to_dict(),
        method=adapted[1],
        indices=sums.means(indices.available(roles)), measurable=valid_fraction >= MIN_VALID_FRACTION)


def _add_zone_records(total, chunk):
    """Zone records of one more chunk added to those of the chunks before (areas add; outside only if all are)."""
    if total is None:
        return chunk
    for i, (t, c) in enumerate(zip(total, chunk, strict=True)):
        if c.get("outside"):
            continue
        if t.get("outside"):
            total[i] = c
            continue
        t["area_in_extent_m2"] += c["area_in_extent_m2"]
        for date, classes in c["classes"].items():
            for key, units in classes.items():
                t["classes"][date][key] = _add_units(t["classes"][date][key], units)
    return total


def _add_units(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    from engine.analysis.areas import all_units

    return all_units(a["area_m2"] + b["area_m2"])


def _join(pieces: list[_Piece], count: int, window: Window, mmu_m2: float, zone_set, grid, areas):
    """Components joined across the seams, the minimum mapping unit applied to them, patches and zone sums."""
    parent = np.arange(count + 1)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for above, below in itertools.pairwise(pieces):
        codes_a, labels_a = above.last_codes, above.last_labels
        codes_b, labels_b = below.first_codes, below.first_labels
        width = codes_a.size
        for dx in (-1, 0, 1):
            xa = np.arange(max(0, -dx), min(width, width - dx))
            xb = xa + dx
            same = (codes_a[xa] != 0) & (codes_a[xa] == codes_b[xb])
            for la, lb in zip(labels_a[xa[same]], labels_b[xb[same]], strict=True):
                ra, rb = find(above.offset + int(la)), find(below.offset + int(lb))
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(count + 1)])
    # joined statistics per root
    area = np.zeros(count + 1)
    pixels = np.zeros(count + 1, np.int64)
    code = np.zeros(count + 1, np.int64)
    bbox = np.array([[math.inf, -math.inf, math.inf, -math.inf]] * (count + 1))
    row_sum, col_sum = np.zeros(count + 1), np.zeros(count + 1)
    for piece in pieces:
        ids = roots[piece.offset + 1: piece.offset + 1 + len(piece.comp.code)]
        c = piece.comp
        np.add.at(area, ids, c.area_m2)
        np.add.at(pixels, ids, c.pixels)
        code[ids] = c.code
        np.minimum.at(bbox[:, 0], ids, c.row_min + piece.row0)
        np.maximum.at(bbox[:, 1], ids, c.row_max + piece.row0)
        np.minimum.at(bbox[:, 2], ids, c.col_min)
        np.maximum.at(bbox[:, 3], ids, c.col_max)
        np.add.at(row_sum, ids, c.row_sum + c.pixels * piece.row0)
        np.add.at(col_sum, ids, c.col_sum)
    joined = np.flatnonzero((roots == np.arange(count + 1)) & (pixels > 0))
    kept = {int(j) for j in joined if area[j] >= mmu_m2}
    change = Change(window=window, transitions={}, mmu_m2=mmu_m2,
                    speckle_m2=float(sum(area[j] for j in joined if int(j) not in kept)))
    order = sorted(kept)
    per_code = np.bincount(code[order], weights=area[order], minlength=64) if kept else np.zeros(64)
    for c in np.flatnonzero(per_code):  # in code order, as ``detect_change_codes`` makes them
        pair = (LandCover(int(c) // kernels.SHIFT), LandCover(int(c) % kernels.SHIFT))
        change.transitions[pair] = float(per_code[c])
    masks = {j: np.zeros((int(bbox[j, 1] - bbox[j, 0]) + 1, int(bbox[j, 3] - bbox[j, 2]) + 1), bool) for j in kept}
    zone_sums = [{} for _ in zone_set.zones] if zone_set is not None else None
    for piece in pieces:
        with np.load(piece.saved) as saved:
            codes, labels = saved["codes"], saved["labels"]
        ids = roots[piece.offset + 1: piece.offset + 1 + len(piece.comp.code)]
        keep = np.concatenate([[False], np.array([int(r) in kept for r in ids], bool)])
        codes = codes.copy()
        kernels.clear_unkept(codes, labels, keep)
        for local, root in enumerate(ids, start=1):
            if int(root) not in kept:
                continue
            c = piece.comp
            r0, r1 = int(c.row_min[local - 1]), int(c.row_max[local - 1]) + 1
            c0, c1 = int(c.col_min[local - 1]), int(c.col_max[local - 1]) + 1
            top, left = piece.row0 + r0 - int(bbox[root, 0]), c0 - int(bbox[root, 2])
            masks[int(root)][top:top + r1 - r0, left:left + c1 - c0] |= labels[r0:r1, c0:c1] == local
        if zone_set is not None:
            chunk = Window(window.col_off, window.row_off + piece.row0, window.width, piece.rows)
            zone_change_sums(zone_set, grid, chunk, areas.sub(slice(piece.row0, piece.row0 + piece.rows),
                                                              slice(None)), codes, piece.row0, zone_sums)
    for j in kept:
        rows = slice(int(bbox[j, 0]), int(bbox[j, 1]) + 1)
        cols = slice(int(bbox[j, 2]), int(bbox[j, 3]) + 1)
        change.patches.append(Patch(
            LandCover(int(code[j]) // kernels.SHIFT), LandCover(int(code[j]) % kernels.SHIFT), float(area[j]),
            int(pixels[j]), rows, cols, (float(col_sum[j]) / pixels[j] + 0.5, float(row_sum[j]) / pixels[j] + 0.5),
            masks[j]))
    change.patches.sort(key=lambda p: (-p.area_m2, p.rows.start, p.cols.start))
    return change, zone_sums
