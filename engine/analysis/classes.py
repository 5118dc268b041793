"""Land-cover classes used by every measurement, with their codes and names in Chinese and English.

``invalid`` (nodata, cloud, shadow) is a class so that class maps stay complete,
but it is excluded from every area. The spectral rules cannot tell cultivated
land from grassland (both are herbaceous vegetation), so that class is named
for both, ``cropland_grassland`` / 耕地和草地, wherever it is shown: a bureau
must not quote grassland as cropland. Only a reference survey (三调) separates
them (``reference.py``).
"""

from __future__ import annotations

import enum


class LandCover(enum.IntEnum):
    """Class codes as stored in class maps (uint8)."""

    INVALID = 0
    WATER = 1
    BUILT_UP = 2
    BARE = 3
    CROPLAND_GRASSLAND = 4  # herbaceous vegetation: cultivated land and grassland together
    FOREST = 5  # woody vegetation

    @property
    def key(self) -> str:
        """The class id used in JSON (``water``, ``built_up``, ...)."""
        return self.name.lower()

    @property
    def label_zh(self) -> str:
        return LABELS_ZH[self]

    @property
    def label_en(self) -> str:
        return LABELS_EN[self]

    @classmethod
    def from_key(cls, key: str) -> LandCover:
        name = key.strip().lower()
        try:
            return cls[ALIASES.get(name, name).upper()]
        except KeyError:
            known = ", ".join(c.key for c in cls)
            raise ValueError(f"unknown land-cover class {key!r}; known: {known}") from None


LABELS_ZH = {
    LandCover.INVALID: "无效（无数据/云/阴影）",
    LandCover.WATER: "水体",
    LandCover.BUILT_UP: "建设用地",
    LandCover.BARE: "裸地",
    LandCover.CROPLAND_GRASSLAND: "耕地和草地",
    LandCover.FOREST: "林地",
}

LABELS_EN = {
    LandCover.INVALID: "invalid (nodata, cloud or shadow)",
    LandCover.WATER: "water",
    LandCover.BUILT_UP: "built-up land",
    LandCover.BARE: "bare land",
    LandCover.CROPLAND_GRASSLAND: "cropland and grassland",
    LandCover.FOREST: "forest",
}
#: Other names users and reference tables give the classes (``from_key`` accepts them).
ALIASES = {"cropland": "cropland_grassland", "grassland": "cropland_grassland", "built-up": "built_up"}

#: Classes that carry area (everything but invalid), in reporting order.
MEASURED = (LandCover.WATER, LandCover.BUILT_UP, LandCover.BARE, LandCover.CROPLAND_GRASSLAND, LandCover.FOREST)
