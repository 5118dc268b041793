"""Land-cover classes used by every measurement, with their codes and Chinese labels.

``invalid`` (nodata, cloud, shadow) is a class so that class maps stay complete,
but it is excluded from every area.
"""

from __future__ import annotations

import enum


class LandCover(enum.IntEnum):
    """Class codes as stored in class maps (uint8)."""

    INVALID = 0
    WATER = 1
    BUILT_UP = 2
    BARE = 3
    CROPLAND = 4  # herbaceous and cultivated vegetation
    FOREST = 5  # woody vegetation

    @property
    def key(self) -> str:
        """The class id used in JSON (``water``, ``built_up``, ...)."""
        return self.name.lower()

    @property
    def label_zh(self) -> str:
        return LABELS_ZH[self]

    @classmethod
    def from_key(cls, key: str) -> LandCover:
        try:
            return cls[key.strip().upper()]
        except KeyError:
            known = ", ".join(c.key for c in cls)
            raise ValueError(f"unknown land-cover class {key!r}; known: {known}") from None


LABELS_ZH = {
    LandCover.INVALID: "无效（无数据/云/阴影）",
    LandCover.WATER: "水体",
    LandCover.BUILT_UP: "建设用地",
    LandCover.BARE: "裸地",
    LandCover.CROPLAND: "耕地/草地",
    LandCover.FOREST: "林地",
}

#: Classes that carry area (everything but invalid), in reporting order.
MEASURED = (LandCover.WATER, LandCover.BUILT_UP, LandCover.BARE, LandCover.CROPLAND, LandCover.FOREST)
