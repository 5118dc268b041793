"""Measured facts of each tile: class areas per date, built-up patch count, transitions first to last date."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from engine.analysis.areas import all_units
from engine.analysis.change import transition_codes
from engine.analysis.classes import MEASURED, LandCover
from engine.analysis.kernels import SHIFT as N_CODES  # class codes fit in 3 bits (LandCover)


@dataclass(frozen=True)
class TileFacts:
    """What was measured in one tile (``row``, ``col``: its place in the tile grid; pixels: ``row0``, ``col0``)."""

    row: int
    col: int
    row0: int
    col0: int
    size_px: int
    dates: tuple[str, ...]
    areas_m2: dict[str, dict[str, float]]  # date -> class key -> area
    valid_fraction: dict[str, float]  # date -> share of the tile's area with valid pixels
    built_up_patches: int  # 8-connected built-up patches on the last date
    transitions_m2: dict[tuple[str, str], float]  # (from, to) -> area, first to last date, valid on both
    zone_area_m2: float | None = None  # area inside protection zones (None: no zones given)
    zone_new_built_up_m2: float | None = None  # land that became built-up inside the zones, first to last date

    def area(self, date: str, key: str) -> float:
        return self.areas_m2[date][key]

    def gained(self, key: str) -> float:
        """Area that became ``key`` between the first and the last date."""
        return sum(a for (f, t), a in self.transitions_m2.items() if t == key and f != key)

    def to_facts(self) -> dict[str, object]:
        """The tile's facts in the engine's layout (what rewards and the numbers audit read)."""
        classes = {d: {k: {**all_units(a), "fraction": a / max(sum(self.areas_m2[d].values()), 1e-9)}
                       for k, a in self.areas_m2[d].items()} for d in self.dates}
        transitions = [{"from": f, "to": t, **all_units(a), "from_date": self.dates[0], "to_date": self.dates[-1]}
                       for (f, t), a in sorted(self.transitions_m2.items(), key=lambda kv: -kv[1])]
        facts = {"dates": list(self.dates), "classes": classes, "transitions": transitions,
                 "built_up_patches": self.built_up_patches,
                 "tile": {"row": self.row, "col": self.col, "size_px": self.size_px}}
        if self.zone_area_m2 is not None:
            facts["protection_zones"] = {"inside": all_units(self.zone_area_m2),
                                         "new_built_up": all_units(self.zone_new_built_up_m2 or 0.0)}
        return facts


def tile_facts(class_maps: list[np.ndarray], dates: list[str], row_areas_m2: np.ndarray, size_px: int,
               min_valid: float, zone_mask: np.ndarray | None = None) -> Iterator[TileFacts]:
    """Facts of each whole ``size_px`` tile whose valid share is at least ``min_valid`` on every date.

    ``zone_mask`` (True inside protection zones, same shape as the class maps) adds the zone facts.
    """
    from scipy import ndimage

    height, width = class_maps[0].shape
    eight = np.ones((3, 3), bool)
    for r in range(height // size_px):
        rows = slice(r * size_px, (r + 1) * size_px)
        weights = np.repeat(row_areas_m2[rows], size_px)  # each pixel's area, row by row
        tile_area = float(weights.sum())
        for c in range(width // size_px):
            cols = slice(c * size_px, (c + 1) * size_px)
            tiles = [m[rows, cols] for m in class_maps]
            per_date = [np.bincount(t.ravel(), weights=weights, minlength=N_CODES) for t in tiles]
            valid = {d: 1.0 - a[LandCover.INVALID] / tile_area for d, a in zip(dates, per_date, strict=True)}
            if min(valid.values()) < min_valid:
                continue
            areas = {d: {k.key: float(a[k]) for k in MEASURED} for d, a in zip(dates, per_date, strict=True)}
            pixel_m2 = weights.reshape(size_px, size_px)
            # the engine's change codes: from * SHIFT + to where both dates are valid and differ, else 0
            codes = transition_codes(tiles[0], tiles[-1]) if len(tiles) > 1 else np.zeros_like(tiles[0], np.int32)
            moved = np.bincount(codes.ravel(), weights=weights, minlength=N_CODES * N_CODES)
            transitions = {(LandCover(code // N_CODES).key, LandCover(code % N_CODES).key): float(moved[code])
                           for code in np.flatnonzero(moved) if code}
            zone_area = zone_gain = None
            if zone_mask is not None:
                inside = zone_mask[rows, cols]
                zone_area = float(pixel_m2[inside].sum())
                became = (codes != 0) & (codes % N_CODES == LandCover.BUILT_UP) & inside
                zone_gain = float(pixel_m2[became].sum())
            _, patches = ndimage.label(tiles[-1] == LandCover.BUILT_UP, structure=eight)
            yield TileFacts(row=r, col=c, row0=r * size_px, col0=c * size_px, size_px=size_px, dates=tuple(dates),
                            areas_m2=areas, valid_fraction=valid, built_up_patches=int(patches),
                            transitions_m2=transitions, zone_area_m2=zone_area, zone_new_built_up_m2=zone_gain)
