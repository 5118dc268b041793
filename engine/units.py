"""Area units (m², 公顷, km², 亩): the one definition, light enough for any module to import.

1 亩 = 10000/15 m² = 666.67 m²; 1 公顷 = 10,000 m² = 15 亩. Areas are kept in m²
everywhere and converted only for display (``areas.format_area``).
"""

from __future__ import annotations

import enum

M2_PER_MU = 10000.0 / 15.0  # 1 亩 = 666.67 m²
M2_PER_HA = 10000.0
M2_PER_KM2 = 1_000_000.0


class AreaUnit(enum.StrEnum):
    M2 = "m2"
    HA = "ha"
    KM2 = "km2"
    MU = "mu"

    @property
    def m2(self) -> float:
        return {AreaUnit.M2: 1.0, AreaUnit.HA: M2_PER_HA, AreaUnit.KM2: M2_PER_KM2, AreaUnit.MU: M2_PER_MU}[self]

    @property
    def label_zh(self) -> str:
        return {AreaUnit.M2: "平方米", AreaUnit.HA: "公顷", AreaUnit.KM2: "平方公里", AreaUnit.MU: "亩"}[self]

    @property
    def label_en(self) -> str:
        return {AreaUnit.M2: "m²", AreaUnit.HA: "ha", AreaUnit.KM2: "km²", AreaUnit.MU: "mu"}[self]

    def from_m2(self, area_m2: float) -> float:
        return area_m2 / self.m2


def all_units(area_m2: float) -> dict[str, float]:
    """``area_m2`` in every unit, keyed as in the facts (``area_m2``, ``area_ha``, ...)."""
    return {f"area_{u.value}": u.from_m2(area_m2) for u in AreaUnit}
