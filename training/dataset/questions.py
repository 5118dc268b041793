"""Questions and answers from a tile's measured facts, in Chinese and English (RSVQA's kinds plus change).

Every answer is read from the tile's engine facts (``TileFacts``); classes are
named as the engine names them (耕地和草地 / cropland and grassland: the spectral
rules cannot separate the two), and counts are the engine's change patches (at
least the minimum mapping unit). A question whose answer would be
ambiguous (a class barely present, two areas nearly equal, a built-up share
between rural and urban) is not asked.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from engine.analysis.areas import AreaUnit, format_area
from engine.analysis.classes import MEASURED
from training.answers import count_bin
from training.dataset.tiles import TileFacts

NAMES = {c.key: (c.label_zh, c.label_en) for c in MEASURED}
UNITS = (AreaUnit.KM2, AreaUnit.HA, AreaUnit.MU)
PRESENT_SHARE = 0.01  # a class is "there" from 1 % of the tile's valid area; absent only at zero
CLEAR_RATIO = 1.2  # a comparison is asked only when one area is at least 20 % larger
URBAN_SHARE, RURAL_SHARE = 0.30, 0.05  # built-up share: urban from 30 %, rural up to 5 %
SUSPECT_M2 = 5000.0  # cropland turned built-up from 0.5 ha is suspected illegal construction (the engine's MMU)

# question_type -> what kind of answer it is (training.answers.QuestionType.parse reads these names)
TYPES = ("presence", "comparison", "rural_urban", "count", "area", "change", "violation", "zone")


@dataclass(frozen=True)
class QA:
    question: str
    answer: str
    question_type: str  # one of TYPES
    language: str  # zh | en
    both_dates: bool  # shown the first and the last date's images (change questions), else the last only


def _yes(value: bool, language: str) -> str:
    return ("是" if value else "否") if language == "zh" else ("yes" if value else "no")


def questions(tile: TileFacts, rng: random.Random) -> list[QA]:
    """A few questions of every kind the tile's facts can answer unambiguously, in both languages."""
    last = tile.dates[-1]
    areas = tile.areas(last)
    valid = sum(areas.values())
    out: list[QA] = []
    # presence: one class present, one absent when there is one
    present = [k for k, a in areas.items() if a >= PRESENT_SHARE * valid]
    absent = [k for k, a in areas.items() if a == 0]
    for pool, there in ((present, True), (absent, False)):
        if pool:
            k = rng.choice(sorted(pool))
            out.append(QA(f"图中是否有{NAMES[k][0]}？", _yes(there, "zh"), "presence", "zh", False))
            out.append(QA(f"Is there {NAMES[k][1]} in the image?", _yes(there, "en"), "presence", "en", False))
    # comparison between two classes, when clearly different
    a, b = rng.sample(sorted(areas), 2)
    big, small = max(areas[a], areas[b]), min(areas[a], areas[b])
    if big > 0 and (small == 0 or big / small >= CLEAR_RATIO):
        more = areas[a] > areas[b]
        out.append(QA(f"{NAMES[a][0]}面积是否大于{NAMES[b][0]}？", _yes(more, "zh"), "comparison", "zh", False))
        out.append(QA(f"Is there more {NAMES[a][1]} than {NAMES[b][1]}?", _yes(more, "en"), "comparison", "en",
                      False))
    # rural or urban
    share = areas["built_up"] / valid if valid else 0.0
    if share >= URBAN_SHARE or share <= RURAL_SHARE:
        urban = share >= URBAN_SHARE
        out.append(QA("这里是城镇还是乡村？", "城镇" if urban else "乡村", "rural_urban", "zh", False))
        out.append(QA("Is it a rural or an urban area?", "urban" if urban else "rural", "rural_urban", "en", False))
    # area of one class, in a unit a county report uses
    k, unit = rng.choice(sorted(areas)), rng.choice(UNITS)
    out.append(QA(f"{NAMES[k][0]}面积是多少{unit.label_zh}？", format_area(areas[k], unit, "zh"), "area", "zh", False))
    out.append(QA(f"What is the area of {NAMES[k][1]} in {unit.label_en}?", format_area(areas[k], unit, "en"),
                  "area", "en", False))
    if len(tile.dates) > 1:
        # count of new built-up patches (the engine's change patches): exact in Chinese, binned in English as RSVQA
        patches = tile.new_patches("built_up")
        out.append(QA("新增建设用地图斑有多少个？", str(patches), "count", "zh", True))
        out.append(QA("How many new built-up patches are there?", count_bin(patches), "count", "en", True))
        unit = rng.choice(UNITS)
        gained = tile.gained("built_up")
        out.append(QA(f"新增建设用地面积是多少{unit.label_zh}？", format_area(gained, unit, "zh"), "change", "zh",
                      True))
        out.append(QA(f"How much new built-up land appeared, in {unit.label_en}?", format_area(gained, unit, "en"),
                      "change", "en", True))
        taken = tile.transition("cropland_grassland", "built_up")
        if taken == 0 or taken >= SUSPECT_M2:
            out.append(QA("是否存在疑似违规建设（耕地和草地变为建设用地）？", _yes(taken > 0, "zh"), "violation", "zh",
                          True))
            out.append(QA("Is there suspected illegal construction on cropland and grassland?", _yes(taken > 0, "en"),
                          "violation", "en", True))
    if tile.zone_area_m2 and len(tile.dates) > 1:  # the tile lies (partly) in a protection zone
        gain = tile.zone_new_built_up_m2
        if gain == 0 or gain >= SUSPECT_M2:
            out.append(QA("保护区内是否有新增建设用地？", _yes(gain > 0, "zh"), "zone", "zh", True))
            out.append(QA("Is there new built-up land inside a protection zone?", _yes(gain > 0, "en"), "zone", "en",
                          True))
    return out
