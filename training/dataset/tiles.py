"""Each tile's facts, measured by the engine: the same classes, minimum mapping unit and patches as ``analyse``.

The scene is classified once (``analyse`` with its class maps kept); every tile
is then measured with ``engine.analysis.measure.measure_window`` on its part of
those maps and of the scene's pixel areas. So a tile's facts are what
``analyse`` gives over that tile's extent with the scene's thresholds (the
index means excepted: a tile keeps the scene's), and "a built-up patch" means
the same thing in training and in the product.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from rasterio.windows import Window

from engine.analysis.areas import PixelAreas
from engine.analysis.facts import Facts
from engine.analysis.landcover import ClassMap
from engine.analysis.measure import measure_window
from engine.analysis.zones import ZoneSet
from engine.scene.product import Grid


@dataclass(frozen=True)
class TileFacts:
    """One tile (``row``, ``col`` in the tile grid; ``row0``, ``col0`` its first pixel) and its engine facts."""

    row: int
    col: int
    row0: int
    col0: int
    size_px: int
    facts: Facts
    zones_given: bool = False  # protection zones were measured (``facts.zones`` may still be empty)

    @property
    def dates(self) -> tuple[str, ...]:
        return tuple(self.facts.dates)

    def areas(self, date: str) -> dict[str, float]:
        """Class key -> area in m² on ``date``."""
        day = next(d for d in self.facts.per_date if d.date == date)
        return {k: v.area_m2 for k, v in day.classes.items()}

    def transition(self, class_from: str, class_to: str) -> float:
        return sum(t.area_m2 for t in self.facts.transitions if (t.class_from, t.class_to) == (class_from, class_to))

    def gained(self, key: str) -> float:
        """Area that became ``key`` between the first and the last date (patches from the minimum mapping unit)."""
        return sum(t.area_m2 for t in self.facts.transitions if t.class_to == key)

    def new_patches(self, key: str) -> int:
        """Change patches (at least the minimum mapping unit) that became ``key``."""
        return sum(t.patches for t in self.facts.transitions if t.class_to == key)

    @property
    def zone_area_m2(self) -> float | None:
        """Area inside protection zones (None: no zones given)."""
        if not self.zones_given:
            return None
        return sum(float(z.get("area_in_extent_m2", 0.0)) for z in self.facts.zones if not z.get("outside"))

    @property
    def zone_new_built_up_m2(self) -> float:
        """Land that became built-up inside the zones, first to last date."""
        return sum(float(t["area_m2"]) for z in self.facts.zones for t in z.get("transitions", [])
                   if t["to"] == "built_up")

    def to_facts(self) -> dict[str, object]:
        """The tile's facts in the engine's layout (what rewards and the numbers audit read)."""
        return {**self.facts.to_dict(), "tile": {"row": self.row, "col": self.col, "size_px": self.size_px}}


def tile_facts(maps: list[ClassMap], layers: list[tuple[str, str, str]], grid: Grid, window: Window,
               areas: PixelAreas, size_px: int, min_valid: float, mmu_m2: float,
               zone_set: ZoneSet | None = None) -> Iterator[TileFacts]:
    """Facts of each whole ``size_px`` tile of ``window`` whose valid share is at least ``min_valid`` on every date.

    ``maps`` are the scene's class maps over ``window``, ``layers`` (date, name, sensor) per map, ``areas`` the
    scene's pixel areas over ``window``.
    """
    height, width = maps[0].classes.shape
    for r in range(height // size_px):
        rows = slice(r * size_px, (r + 1) * size_px)
        for c in range(width // size_px):
            cols = slice(c * size_px, (c + 1) * size_px)
            sub = Window(int(window.col_off) + cols.start, int(window.row_off) + rows.start, size_px, size_px)
            tile_maps = [ClassMap(classes=m.classes[rows, cols], window=sub, thresholds=m.thresholds, method=m.method,
                                  index_means=m.index_means) for m in maps]
            facts, _ = measure_window(tile_maps, layers, grid, sub, areas.sub(rows, cols), mmu_m2, zone_set)
            if min(d.valid_fraction for d in facts.per_date) < min_valid:
                continue
            yield TileFacts(row=r, col=c, row0=rows.start, col0=cols.start, size_px=size_px, facts=facts,
                            zones_given=zone_set is not None)
