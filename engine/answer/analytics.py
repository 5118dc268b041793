"""The analytics-only answerer: a short answer in the question's language, from the facts alone.

It is the answer when no vision-language model is configured and the fallback
when the model fails. Every number it writes is read from ``Facts`` and
formatted by ``areas.format_area``; it never computes a new figure except
sums and differences of measured areas, which it labels as such.

Scenarios (the seed's four, plus a generic summary) are chosen with the
keyword table ``SCENARIO_WORDS``, first match wins, in this order:
encroachment of a protected area, suspected illegal construction, cropland
change, land-use structure trend.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from engine.analysis.areas import AreaUnit, format_area
from engine.analysis.classes import MEASURED, LandCover
from engine.analysis.facts import Facts


class Scenario(enum.StrEnum):
    ENCROACHMENT = "encroachment"
    ILLEGAL_CONSTRUCTION = "illegal_construction"
    CROPLAND_CHANGE = "cropland_change"
    STRUCTURE_TREND = "structure_trend"
    GENERIC = "generic"


SCENARIO_WORDS: tuple[tuple[Scenario, tuple[str, ...]], ...] = (
    (Scenario.ENCROACHMENT, ("侵占", "边界", "保护区", "红线", "encroach", "boundary", "reserve", "protected area")),
    (Scenario.ILLEGAL_CONSTRUCTION, ("违规", "违法", "违建", "建设", "建筑", "illegal", "construction", "building")),
    (Scenario.CROPLAND_CHANGE, ("耕地", "农田", "cropland", "farmland", "arable")),
    (Scenario.STRUCTURE_TREND, ("趋势", "结构", "trend", "structure", "composition")),
)
UNIT_PATTERNS: tuple[tuple[AreaUnit, re.Pattern[str]], ...] = (
    (AreaUnit.KM2, re.compile(r"平方公里|平方千米|km²|\bkm2\b|square kilomet", re.IGNORECASE)),
    (AreaUnit.MU, re.compile(r"亩|\bmu\b", re.IGNORECASE)),
    (AreaUnit.HA, re.compile(r"公顷|hectare|\bha\b", re.IGNORECASE)),
    (AreaUnit.M2, re.compile(r"平方米|m²|\bm2\b|square met", re.IGNORECASE)),
)
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Answer:
    text: str
    language: str  # "zh" or "en"
    scenario: Scenario
    unit: AreaUnit


def language_of(question: str) -> str:
    return "zh" if _CJK.search(question) else "en"


def scenario_of(question: str) -> Scenario:
    q = question.lower()
    for scenario, words in SCENARIO_WORDS:
        if any(w in q for w in words):
            return scenario
    return Scenario.GENERIC


def unit_of(question: str, default: AreaUnit | None, language: str) -> AreaUnit:
    for unit, pattern in UNIT_PATTERNS:
        if pattern.search(question):
            return unit
    return default or (AreaUnit.MU if language == "zh" else AreaUnit.HA)


def _label(key: str, zh: bool) -> str:
    cls = LandCover.from_key(key)
    return cls.label_zh if zh else key.replace("_", "-")


class _Writer:
    def __init__(self, facts: Facts, unit: AreaUnit, zh: bool):
        self.f, self.unit, self.zh = facts, unit, zh

    def area(self, m2: float) -> str:
        return format_area(m2, self.unit, "zh" if self.zh else "en")

    def period(self) -> str:
        a, b = self.f.dates[0], self.f.dates[-1]
        return f"{a}至{b}" if self.zh else f"from {a} to {b}"

    def single_date(self) -> str:
        d = self.f.per_date[-1]
        if self.zh:
            return (f"只提供了一个时相（{d.date}），无法计算变化。该时相有效范围内耕地/草地"
                    f"{self.area(d.classes['cropland'].area_m2)}，建设用地{self.area(d.classes['built_up'].area_m2)}。"
                    "请再加入一个日期的影像以分析变化。")
        return (f"Only one date ({d.date}) was given, so change cannot be measured. Within the valid extent it has "
                f"cropland {self.area(d.classes['cropland'].area_m2)} and built-up "
                f"{self.area(d.classes['built_up'].area_m2)}. Add a second date to measure change.")

    def cropland(self) -> str:
        gains = [t for t in self.f.transitions if t.class_to == "cropland"]
        losses = [t for t in self.f.transitions if t.class_from == "cropland"]
        gain = sum(t.area_m2 for t in gains)
        loss = sum(t.area_m2 for t in losses)
        if self.zh:
            parts = [f"{self.period()}，新增耕地{self.area(gain)}"]
            if gains:
                parts.append("（来源：" + "、".join(f"{_label(t.class_from, True)}{self.area(t.area_m2)}"
                                                 for t in gains) + "）")
            parts.append(f"，减少耕地{self.area(loss)}")
            if losses:
                parts.append("（转为：" + "、".join(f"{_label(t.class_to, True)}{self.area(t.area_m2)}"
                                                 for t in losses) + "）")
            parts.append(f"，净变化{self.area(gain - loss)}。")
            return "".join(parts)
        text = f"{self.period().capitalize()}, new cropland {self.area(gain)}"
        if gains:
            text += " (from " + ", ".join(f"{_label(t.class_from, False)} {self.area(t.area_m2)}" for t in gains) + ")"
        text += f"; cropland lost {self.area(loss)}"
        if losses:
            text += " (to " + ", ".join(f"{_label(t.class_to, False)} {self.area(t.area_m2)}" for t in losses) + ")"
        return text + f"; net change {self.area(gain - loss)}."

    def zone_violations(self, kinds: tuple[str, ...]) -> list[tuple[dict, dict]]:
        return [(z, v) for z in self.f.zones if z.get("kind") in kinds and not z.get("outside")
                for v in z["violations"]]

    def illegal_construction(self) -> str:
        hits = [(z, v) for z, v in self.zone_violations(("farmland", "ecological", "river"))
                if v["class_to"] in ("built_up", "bare")]
        if not self.f.zones:
            gains = [t for t in self.f.transitions if t.class_to == "built_up"]
            total = sum(t.area_m2 for t in gains)
            if self.zh:
                return (f"未提供保护区范围，无法判断是否违规。{self.period()}，新增建设用地{self.area(total)}，"
                        f"共{sum(t.patches for t in gains)}个图斑（不小于最小制图单元）。"
                        "请加载基本农田或生态红线图层后再判断。")
            return (f"No protection zones were given, so legality cannot be judged. {self.period().capitalize()}, "
                    f"built-up land grew by {self.area(total)} in {sum(t.patches for t in gains)} patches. "
                    "Load farmland or ecological zones to check.")
        if not hits:
            return (f"{self.period()}，保护区内未发现新增建设用地或裸地。" if self.zh else
                    f"{self.period().capitalize()}, no new built-up or bare land was found inside the zones.")
        lines = []
        for z, v in hits:
            where = f"{v['centroid_lon']:.5f}, {v['centroid_lat']:.5f}"
            if self.zh:
                lines.append(f"{z['name']}内{_label(v['class_from'], True)}转为{_label(v['class_to'], True)}"
                             f"{self.area(v['area_m2'])}（{v['area_m2']:,.0f} 平方米，"
                             f"位置约 {where}）")
            else:
                lines.append(f"in {z['name']}: {_label(v['class_from'], False)} to {_label(v['class_to'], False)} "
                             f"{self.area(v['area_m2'])} ({v['area_m2']:,.0f} m², near {where})")
        if self.zh:
            return f"{self.period()}，发现疑似违规建设{len(hits)}处：" + "；".join(lines) + "。建议实地核查。"
        return (f"{self.period().capitalize()}, {len(hits)} suspected illegal construction sites: "
                + "; ".join(lines) + ". A field check is recommended.")

    def encroachment(self) -> str:
        zones = [z for z in self.f.zones if z.get("kind") == "ecological"] or list(self.f.zones)
        if not zones:
            return ("未提供保护区边界图层，无法判断是否被侵占。" if self.zh else
                    "No protected-area boundary was given, so encroachment cannot be judged.")
        out = []
        for z in zones:
            if z.get("outside"):
                out.append(f"{z['name']}不在分析范围内" if self.zh else f"{z['name']} lies outside the extent")
                continue
            if not z["violations"]:
                out.append(f"{z['name']}：{self.period()}未发现侵占迹象" if self.zh
                           else f"{z['name']}: no sign of encroachment {self.period()}")
                continue
            items = "、".join if self.zh else ", ".join
            detail = items(
                f"{_label(v['class_from'], self.zh)}{'转为' if self.zh else ' to '}{_label(v['class_to'], self.zh)}"
                f"{'' if self.zh else ' '}{self.area(v['area_m2'])}" for v in z["violations"])
            out.append(f"{z['name']}内疑似被侵占：{detail}，建议实地核查" if self.zh
                       else f"{z['name']} shows suspected encroachment: {detail}; a field check is recommended")
        return ("；".join(out) + "。") if self.zh else ("; ".join(out) + ".")

    def structure(self) -> str:
        """One date: the class structure, and that a trend needs two dates."""
        d = self.f.per_date[-1]
        if self.zh:
            parts = "；".join(
                f"{c.label_zh}{self.area(d.classes[c.key].area_m2)}（{d.classes[c.key].fraction * 100:.1f}%）"
                for c in MEASURED)
            return f"{d.date}有效范围内土地利用结构：{parts}。只有一个时相，趋势需再加入一个日期的影像。"
        parts = "; ".join(f"{c.key.replace('_', '-')} {self.area(d.classes[c.key].area_m2)} "
                          f"({d.classes[c.key].fraction * 100:.1f}%)" for c in MEASURED)
        return f"Land-use structure on {d.date} (valid extent): {parts}. A trend needs a second date."

    def trend(self) -> str:
        first, last = self.f.per_date[0], self.f.per_date[-1]
        parts, changes = [], []
        for cls in MEASURED:
            a, b = first.classes[cls.key], last.classes[cls.key]
            pct = (b.fraction - a.fraction) * 100
            changes.append((pct, cls))
            if self.zh:
                parts.append(f"{cls.label_zh}{self.area(a.area_m2)}→{self.area(b.area_m2)}"
                             f"（占比{a.fraction * 100:.1f}%→{b.fraction * 100:.1f}%）")
            else:
                parts.append(f"{cls.key.replace('_', '-')} {self.area(a.area_m2)} -> {self.area(b.area_m2)} "
                             f"({a.fraction * 100:.1f}% -> {b.fraction * 100:.1f}%)")
        up, down = max(changes, key=lambda c: c[0]), min(changes, key=lambda c: c[0])
        if self.zh:
            return (f"{self.period()}土地利用结构（有效范围内）：" + "；".join(parts) +
                    f"。占比上升最多的是{up[1].label_zh}（{up[0]:+.1f}个百分点），"
                    f"下降最多的是{down[1].label_zh}（{down[0]:+.1f}个百分点）。")
        return (f"Land-use structure {self.period()} (valid extent): " + "; ".join(parts) +
                f". The largest rise in share is {up[1].key.replace('_', '-')} ({up[0]:+.1f} points), the largest "
                f"fall {down[1].key.replace('_', '-')} ({down[0]:+.1f} points).")

    def generic(self) -> str:
        d = self.f.per_date[-1]
        top = sorted(MEASURED, key=lambda c: d.classes[c.key].area_m2, reverse=True)[:3]
        if self.zh:
            text = f"{d.date}有效范围内主要地类：" + "，".join(
                f"{c.label_zh}{self.area(d.classes[c.key].area_m2)}" for c in top)
            if len(self.f.per_date) > 1 and self.f.transitions:
                t = self.f.transitions[0]
                text += (f"。{self.period()}面积最大的变化为{_label(t.class_from, True)}转为"
                         f"{_label(t.class_to, True)}{self.area(t.area_m2)}")
            return text + "。"
        text = f"On {d.date} the main classes in the valid extent are " + ", ".join(
            f"{c.key.replace('_', '-')} {self.area(d.classes[c.key].area_m2)}" for c in top)
        if len(self.f.per_date) > 1 and self.f.transitions:
            t = self.f.transitions[0]
            text += (f". The largest change {self.period()} is {_label(t.class_from, False)} to "
                     f"{_label(t.class_to, False)}, {self.area(t.area_m2)}")
        return text + "."

    def caveats(self) -> str:
        notes = []
        low = [d for d in self.f.per_date if d.valid_fraction < 0.8]
        if low:
            notes.append("，".join(f"{d.date}仅{d.valid_fraction * 100:.0f}%像元有效（云/阴影/无数据）" for d in low)
                         if self.zh else ", ".join(f"only {d.valid_fraction * 100:.0f}% of pixels are valid on "
                                                   f"{d.date} (cloud, shadow or nodata)" for d in low))
        fractions = [d.valid_fraction for d in self.f.per_date]
        if len(fractions) > 1 and max(fractions) - min(fractions) > 0.02:
            shares = " / ".join(f"{f * 100:.1f}%" for f in fractions)
            notes.append(f"各期有效像元比例不同（{shares}），各期面积只统计各自有效范围，比较请以占比为准"
                         if self.zh else f"the dates have different valid shares ({shares}): each date's areas "
                                         "cover its own valid pixels, so compare shares")
        if not notes:
            return ""
        return ("注意：" + "；".join(notes) + "。") if self.zh else (" Note: " + "; ".join(notes) + ".")


def answer(question: str, facts: Facts, unit: AreaUnit | None = None, language: str | None = None) -> Answer:
    """A short answer to ``question`` stating only measured numbers from ``facts``."""
    lang = language or language_of(question)
    scenario = scenario_of(question)
    chosen = unit_of(question, unit, lang)
    w = _Writer(facts, chosen, lang == "zh")
    needs_change = scenario in (Scenario.CROPLAND_CHANGE, Scenario.STRUCTURE_TREND, Scenario.ILLEGAL_CONSTRUCTION)
    if scenario is Scenario.STRUCTURE_TREND and len(facts.dates) < 2:
        body = w.structure()
    elif needs_change and len(facts.dates) < 2:
        body = w.single_date()
    elif scenario is Scenario.CROPLAND_CHANGE:
        body = w.cropland()
    elif scenario is Scenario.ILLEGAL_CONSTRUCTION:
        body = w.illegal_construction()
    elif scenario is Scenario.ENCROACHMENT:
        body = w.encroachment()
    elif scenario is Scenario.STRUCTURE_TREND:
        body = w.trend()
    else:
        body = w.generic()
    return Answer(text=body + w.caveats(), language=lang, scenario=scenario, unit=chosen)
