"""Facts: the one typed, JSON-serialisable record of what was measured.

It is the only source of numbers for answers, findings and training data. Every
area is stored in m² and also given in ha, km² and 亩 (``areas.all_units``), so
nothing downstream converts units on its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from engine.analysis.areas import all_units


@dataclass
class ClassArea:
    area_m2: float
    fraction: float  # of the valid area of that date

    def to_dict(self) -> dict[str, float]:
        return {**all_units(self.area_m2), "fraction": self.fraction}


@dataclass
class DateFacts:
    date: str  # ISO YYYY-MM-DD
    layer: str
    sensor: str
    classes: dict[str, ClassArea]
    valid_fraction: float
    valid_area_m2: float
    invalid_area_m2: float
    thresholds: dict[str, float | None]
    method: str
    indices: dict[str, float | None]  # mean over valid pixels
    measurable: bool = True  # False when too little of the extent is valid (``measure.MIN_VALID_FRACTION``)


@dataclass
class TransitionFact:
    class_from: str
    class_to: str
    area_m2: float
    date_from: str
    date_to: str
    patches: int

    def to_dict(self) -> dict[str, object]:
        return {"from": self.class_from, "to": self.class_to, **all_units(self.area_m2),
                "date_from": self.date_from, "date_to": self.date_to, "patches": self.patches}


@dataclass
class Facts:
    """Everything measured over one extent of one or more dates."""

    dates: list[str]
    crs: str
    pixel_size: tuple[float, float]
    extent: dict[str, float | str]  # analysed window bounds in the grid CRS
    area_m2: float  # the analysed area (valid or not): the extent, or the AOI polygon's pixels inside it
    per_date: list[DateFacts]
    area_method: str = ""  # how pixel areas were computed (``areas.pixel_areas``)
    transitions: list[TransitionFact] = field(default_factory=list)
    net_change: dict[str, float] = field(default_factory=dict)  # class -> m² (last vs first date)
    index_change: dict[str, float | None] = field(default_factory=dict)  # last minus first date means
    mmu_m2: float = 0.0
    speckle_m2: float = 0.0
    findings_count: int = 0
    zones: list[dict[str, object]] = field(default_factory=list)
    reference: dict[str, object] | None = None  # reference layer and its agreement with the nearest date
    intervals: list[dict[str, object]] = field(default_factory=list)  # 3+ dates: change per consecutive pair
    notes: list[str] = field(default_factory=list)
    aoi: dict[str, object] | None = None  # the polygon measurement was clipped to (``aoi.Aoi.record``)

    def to_dict(self) -> dict[str, object]:
        """The facts as JSON-ready data; keys as in the CLI contract (``dates``, ``classes``, ...)."""
        return {
            "dates": self.dates,
            "crs": self.crs,
            "pixel_size": list(self.pixel_size),
            "extent": self.extent,
            "aoi": self.aoi,
            **{f"analysed_{k}": v for k, v in all_units(self.area_m2).items()},
            "area_method": self.area_method,
            "classes": {d.date: {k: v.to_dict() for k, v in d.classes.items()} for d in self.per_date},
            "per_date": [
                {**{k: v for k, v in asdict(d).items() if k != "classes"},
                 **{f"valid_{k}": v for k, v in all_units(d.valid_area_m2).items()}}
                for d in self.per_date
            ],
            "transitions": [t.to_dict() for t in self.transitions],
            "net_change": {k: all_units(v) for k, v in self.net_change.items()},
            "intervals": self.intervals,
            "index_change": self.index_change,
            "mmu_m2": self.mmu_m2,
            "speckle_m2": self.speckle_m2,
            "zones": self.zones,
            "reference": self.reference,
            "findings_count": self.findings_count,
            "notes": self.notes,
        }

    def to_raw(self) -> dict[str, object]:
        """Field-for-field data (for the cache); ``from_raw`` rebuilds the same ``Facts``."""
        return asdict(self)

    @classmethod
    def from_raw(cls, raw: dict[str, object]) -> Facts:
        data = dict(raw)
        data["pixel_size"] = tuple(data["pixel_size"])
        data["per_date"] = [
            DateFacts(**{**d, "classes": {k: ClassArea(**v) for k, v in d["classes"].items()}})
            for d in data["per_date"]
        ]
        data["transitions"] = [TransitionFact(**t) for t in data["transitions"]]
        return cls(**data)
