"""The analytics answerer: a short answer in the question's language, from the facts alone.

It is the answer when no vision-language model is configured and the fallback
when the model fails. Every number it writes is read from ``Facts`` and
formatted by ``areas.format_area``; it never computes a new figure except
sums and differences of measured areas, which it labels as such.

Answers are shaped to the question: the scenario is chosen with the keyword
table ``SCENARIO_WORDS`` (first match wins: encroachment of a protected area,
suspected illegal construction, new built-up land, cropland change, land-use
structure trend, else a summary); the unit is the one the question names
(read by the project's quantity reader). It also says when the question names
years the layers do not cover, when a date is too cloudy to measure (never
"0 亩" for it), and that the classifier's 耕地和草地 is cropland and grassland
together, unless a 三调 reference separates them.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from engine.analysis.areas import AreaUnit, format_area
from engine.analysis.classes import MEASURED, LandCover
from engine.analysis.facts import DateFacts, Facts
from engine.answer.quantities import area_unit_named, years_named


class Scenario(enum.StrEnum):
    ENCROACHMENT = "encroachment"
    ILLEGAL_CONSTRUCTION = "illegal_construction"
    NEW_BUILT_UP = "new_built_up"
    CROPLAND_CHANGE = "cropland_change"
    STRUCTURE_TREND = "structure_trend"
    GENERIC = "generic"


SCENARIO_WORDS: tuple[tuple[Scenario, tuple[str, ...]], ...] = (
    (Scenario.ENCROACHMENT, ("侵占", "边界", "保护区", "红线", "encroach", "boundary", "reserve", "protected area")),
    (Scenario.ILLEGAL_CONSTRUCTION, ("违规", "违法", "违建", "illegal", "violation", "unauthori")),
    (Scenario.NEW_BUILT_UP, ("建设用地", "建设", "建筑", "built-up", "built up", "construction", "building")),
    (Scenario.CROPLAND_CHANGE, ("耕地", "农田", "草地", "cropland", "farmland", "arable", "grassland")),
    (Scenario.STRUCTURE_TREND, ("趋势", "结构", "trend", "structure", "composition")),
)
_CROPLAND_ONLY = re.compile(r"耕地(?!和草地)|农田|\bcropland\b(?!\s+and\s+grassland)|\bfarmland\b|\barable\b", re.I)
_CJK = re.compile(r"[\u4e00-\u9fff]")
LOW_VALID = 0.8  # below this valid share, a date's areas cover only part of the extent: said in the caveats


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
    """The area unit the question names (亩, 公顷, km², ...), else ``default``, else 亩 in Chinese and ha in English."""
    named = area_unit_named(question)
    if named is not None:
        return AreaUnit(named)
    return default or (AreaUnit.MU if language == "zh" else AreaUnit.HA)


def _label(key: str, zh: bool) -> str:
    cls = LandCover.from_key(key)
    return cls.label_zh if zh else cls.label_en


class _Writer:
    """The sentences of an answer, in one language and one unit."""

    def __init__(self, facts: Facts, unit: AreaUnit, zh: bool):
        self.f, self.unit, self.zh = facts, unit, zh

    def t(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def area(self, m2: float) -> str:
        return format_area(m2, self.unit, "zh" if self.zh else "en")

    def period(self, a: str | None = None, b: str | None = None) -> str:
        a, b = a or self.f.dates[0], b or self.f.dates[-1]
        return self.t(f"{a}至{b}", f"from {a} to {b}")

    def unmeasurable(self, days: list[DateFacts]) -> str:
        listed = self.t("、", ", ").join(f"{d.date}（{d.valid_fraction * 100:.0f}%）" if self.zh else
                                         f"{d.date} ({d.valid_fraction * 100:.0f}% valid)" for d in days)
        return self.t(f"{listed}的影像有效像元太少（云、阴影或无数据），无法测量，不报告其面积和变化。",
                      f"{listed}: too few valid pixels (cloud, shadow or nodata) to measure; no areas or change are "
                      "reported for it.")

    def single_date(self) -> str:
        d = self.f.per_date[-1]
        crop, built = d.classes["cropland_grassland"].area_m2, d.classes["built_up"].area_m2
        return self.t(f"只提供了一个时相（{d.date}），无法计算变化。该时相有效范围内耕地和草地{self.area(crop)}，"
                      f"建设用地{self.area(built)}。请再加入一个日期的影像以分析变化。",
                      f"Only one date ({d.date}) was given, so change cannot be measured. Within the valid extent it "
                      f"has cropland and grassland {self.area(crop)} and built-up land {self.area(built)}. Add a "
                      "second date to measure change.")

    def _sources(self, items: list[tuple[str, float]], into: bool) -> str:
        if not items:
            return ""
        sep = self.t("、", ", ")
        listed = sep.join(f"{_label(k, self.zh)}{'' if self.zh else ' '}{self.area(a)}" for k, a in items)
        return self.t(f"（{'来源' if into else '转为'}：{listed}）", f" ({'from' if into else 'to'} {listed})")

    def cropland(self) -> str:
        key = "cropland_grassland"
        gains = [(t.class_from, t.area_m2) for t in self.f.transitions if t.class_to == key]
        losses = [(t.class_to, t.area_m2) for t in self.f.transitions if t.class_from == key]
        gain, loss = sum(a for _, a in gains), sum(a for _, a in losses)
        if self.zh:
            return (f"{self.period()}，新增耕地和草地{self.area(gain)}{self._sources(gains, True)}，减少耕地和草地"
                    f"{self.area(loss)}{self._sources(losses, False)}，净变化{self.area(gain - loss)}。")
        return (f"{self.period().capitalize()}, new cropland and grassland {self.area(gain)}"
                f"{self._sources(gains, True)}"
                f"; cropland and grassland lost {self.area(loss)}{self._sources(losses, False)}; net change "
                f"{self.area(gain - loss)}.")

    def new_built_up(self) -> str:
        gains = [t for t in self.f.transitions if t.class_to == "built_up"]
        total, patches = sum(t.area_m2 for t in gains), sum(t.patches for t in gains)
        items = [(t.class_from, t.area_m2) for t in gains]
        mmu = self.area(self.f.mmu_m2)
        return self.t(f"{self.period()}，新增建设用地{self.area(total)}{self._sources(items, True)}，共{patches}个图斑"
                      f"（每个不小于最小制图单元{mmu}）。",
                      f"{self.period().capitalize()}, new built-up land {self.area(total)}"
                      f"{self._sources(items, True)} in {patches} patches (each at least the minimum mapping unit, "
                      f"{mmu}).")

    def zone_violations(self, kinds: tuple[str, ...]) -> list[tuple[dict, dict]]:
        return [(z, v) for z in self.f.zones if z.get("kind") in kinds and not z.get("outside")
                for v in z["violations"]]

    def illegal_construction(self) -> str:
        if not self.f.zones:
            return self.t("未提供保护区范围，无法判断是否违规。", "No protection zones were given, so legality "
                          "cannot be judged. ") + self.new_built_up() + self.t(
                "请加载基本农田或生态红线图层后再判断。", " Load farmland or ecological zones to check.")
        hits = [(z, v) for z, v in self.zone_violations(("farmland", "ecological", "river"))
                if v["class_to"] in ("built_up", "bare")]
        if not hits:
            return self.t(f"{self.period()}，保护区内未发现新增建设用地或裸地。",
                          f"{self.period().capitalize()}, no new built-up or bare land was found inside the zones.")
        lines = []
        for z, v in hits:
            where = f"{v['centroid_lon']:.5f}, {v['centroid_lat']:.5f}"
            a, b = _label(v["class_from"], self.zh), _label(v["class_to"], self.zh)
            lines.append(self.t(f"{z['name']}内{a}转为{b}{self.area(v['area_m2'])}（{v['area_m2']:,.0f} 平方米，"
                                f"位置约 {where}）",
                                f"in {z['name']}: {a} to {b} {self.area(v['area_m2'])} ({v['area_m2']:,.0f} m², "
                                f"near {where})"))
        return self.t(f"{self.period()}，发现疑似违规建设{len(hits)}处：" + "；".join(lines) + "。建议实地核查。",
                      f"{self.period().capitalize()}, {len(hits)} suspected illegal construction sites: "
                      + "; ".join(lines) + ". A field check is recommended.")

    def encroachment(self) -> str:
        zones = [z for z in self.f.zones if z.get("kind") == "ecological"] or list(self.f.zones)
        if not zones:
            return self.t("未提供保护区边界图层，无法判断是否被侵占。",
                          "No protected-area boundary was given, so encroachment cannot be judged.")
        out = []
        for z in zones:
            if z.get("outside"):
                out.append(self.t(f"{z['name']}不在分析范围内", f"{z['name']} lies outside the extent"))
            elif not z["violations"]:
                out.append(self.t(f"{z['name']}：{self.period()}未发现侵占迹象",
                                  f"{z['name']}: no sign of encroachment {self.period()}"))
            else:
                detail = self.t("、", ", ").join(
                    f"{_label(v['class_from'], self.zh)}{self.t('转为', ' to ')}{_label(v['class_to'], self.zh)}"
                    f"{self.t('', ' ')}{self.area(v['area_m2'])}" for v in z["violations"])
                out.append(self.t(f"{z['name']}内疑似被侵占：{detail}，建议实地核查",
                                  f"{z['name']} shows suspected encroachment: {detail}; a field check is recommended"))
        return self.t("；".join(out) + "。", "; ".join(out) + ".")

    def shares(self, d: DateFacts) -> str:
        return self.t("；", "; ").join(
            f"{_label(c.key, self.zh)}{self.t('', ' ')}{self.area(d.classes[c.key].area_m2)}"
            f"{self.t('（', ' (')}{d.classes[c.key].fraction * 100:.1f}%{self.t('）', ')')}" for c in MEASURED)

    def structure(self) -> str:
        """One measurable date: the class structure, and that a trend needs two dates."""
        d = next(d for d in reversed(self.f.per_date) if d.measurable)
        return self.t(f"{d.date}有效范围内土地利用结构：{self.shares(d)}。只有一个可测量的时相，"
                      "趋势需再加入一个日期的影像。",
                      f"Land-use structure on {d.date} (valid extent): {self.shares(d)}. A trend needs a second "
                      "measurable date.")

    def trend(self) -> str:
        measurable = [d for d in self.f.per_date if d.measurable]  # an unmeasurable date is never an endpoint
        first, last = measurable[0], measurable[-1]
        parts, changes = [], []
        for cls in MEASURED:
            a, b = first.classes[cls.key], last.classes[cls.key]
            changes.append(((b.fraction - a.fraction) * 100, cls.key))
            arrow = "→" if self.zh else " -> "
            parts.append(self.t(f"{_label(cls.key, True)}{self.area(a.area_m2)}→{self.area(b.area_m2)}"
                                f"（占比{a.fraction * 100:.1f}%→{b.fraction * 100:.1f}%）",
                                f"{_label(cls.key, False)} {self.area(a.area_m2)}{arrow}{self.area(b.area_m2)} "
                                f"({a.fraction * 100:.1f}%{arrow}{b.fraction * 100:.1f}%)"))
        up, down = max(changes), min(changes)
        span = self.period(first.date, last.date)
        text = self.t(f"{span}土地利用结构（有效范围内）：" + "；".join(parts) +
                      f"。占比上升最多的是{_label(up[1], True)}（{up[0]:+.1f}个百分点），"
                      f"下降最多的是{_label(down[1], True)}（{down[0]:+.1f}个百分点）。",
                      f"Land-use structure {span} (valid extent): " + "; ".join(parts) +
                      f". The largest rise in share is {_label(up[1], False)} ({up[0]:+.1f} points), the largest "
                      f"fall {_label(down[1], False)} ({down[0]:+.1f} points).")
        return text + self.intervals()

    def intervals(self) -> str:
        """With three or more dates: each interval's largest share changes, so the trend is not first-to-last only."""
        if not self.f.intervals:
            return ""
        out = []
        for step in self.f.intervals:
            span = self.period(str(step["date_from"]), str(step["date_to"]))
            if not step["measurable"]:
                out.append(self.t(f"{span}：有一期无法测量", f"{span}: a date is not measurable"))
                continue
            moves = sorted(((v["share_change_points"], k) for k, v in step["classes"].items()),
                           key=lambda m: -abs(m[0]))
            listed = self.t("、", ", ").join(f"{_label(k, self.zh)}{'' if self.zh else ' '}{p:+.1f}"
                                             f"{self.t('个百分点', ' points')}" for p, k in moves[:2])
            out.append(f"{span}{self.t('：', ': ')}{listed}")
        return self.t("分期变化：" + "；".join(out) + "。", " Per interval: " + "; ".join(out) + ".")

    def generic(self) -> str:
        d = next((d for d in reversed(self.f.per_date) if d.measurable), self.f.per_date[-1])
        top = sorted(MEASURED, key=lambda c: d.classes[c.key].area_m2, reverse=True)[:3]
        text = self.t(f"{d.date}有效范围内主要地类：", f"On {d.date} the main classes in the valid extent are ") + \
            self.t("，", ", ").join(f"{_label(c.key, self.zh)}{self.t('', ' ')}{self.area(d.classes[c.key].area_m2)}"
                                    for c in top)
        if len(self.f.per_date) > 1 and self.f.transitions:
            t = self.f.transitions[0]
            a, b = _label(t.class_from, self.zh), _label(t.class_to, self.zh)
            text += self.t(f"。{self.period()}面积最大的变化为{a}转为{b}{self.area(t.area_m2)}",
                           f". The largest change {self.period()} is {a} to {b}, {self.area(t.area_m2)}")
        return text + self.t("。", ".")

    def years_note(self, question: str) -> str:
        covered = range(int(self.f.dates[0][:4]), int(self.f.dates[-1][:4]) + 1)
        outside = sorted({y for y in years_named(question) if y not in covered})
        if not outside:
            return ""
        listed = self.t("、", ", ").join(str(y) for y in outside)
        return self.t(f"问题提到的{listed}年不在影像日期（{self.period()}）范围内，以下是影像日期之间的测量结果。",
                      f"The question names {listed}, which the layers ({self.period()}) do not cover; what follows is "
                      "measured between the layers' dates. ")

    def survey(self) -> str:
        """耕地 and 草地 as a 三调 reference surveys them, apart."""
        ref = self.f.reference or {}
        classes = ref.get("survey_classes") or {}
        items = [(classes[k]["name_zh"] if self.zh else classes[k]["name_en"], classes[k]["area_m2"])
                 for k in ("01", "04") if k in classes]
        listed = self.t("，", ", ").join(f"{n}{self.t('', ' ')}{self.area(a)}" for n, a in items)
        return self.t(f"按三调图层{ref.get('name')}（{ref.get('date')}），{listed}；"
                      "影像分类不区分耕地和草地，上述变化为两者合计。",
                      f" The survey {ref.get('name')} ({ref.get('date')}) gives {listed}; the imagery's class is "
                      "cropland and grassland together, and the change above is for both.")

    def caveats(self, question: str) -> str:
        notes = []
        if _CROPLAND_ONLY.search(question):
            if (self.f.reference or {}).get("survey_classes"):
                return self.survey() + self._other_caveats(notes)
            notes.append(self.t("遥感分类无法区分耕地与草地，“耕地和草地”为两者合计；需要单独的耕地面积时请加载三调图层",
                                "the imagery cannot tell cropland from grassland, so \"cropland and grassland\" is "
                                "both together; load the land survey (三调) for cropland alone"))
        return self._other_caveats(notes)

    def _other_caveats(self, notes: list[str]) -> str:
        low = [d for d in self.f.per_date if d.measurable and d.valid_fraction < LOW_VALID]
        if low:
            notes.append(self.t("，".join(f"{d.date}仅{d.valid_fraction * 100:.0f}%像元有效（云/阴影/无数据）"
                                         for d in low),
                                ", ".join(f"only {d.valid_fraction * 100:.0f}% of pixels are valid on {d.date} "
                                          "(cloud, shadow or nodata)" for d in low)))
        fractions = [d.valid_fraction for d in self.f.per_date if d.measurable]
        if len(fractions) > 1 and max(fractions) - min(fractions) > 0.02:
            shares = " / ".join(f"{f * 100:.1f}%" for f in fractions)
            notes.append(self.t(f"各期有效像元比例不同（{shares}），各期面积只统计各自有效范围，比较请以占比为准",
                                f"the dates have different valid shares ({shares}): each date's areas cover its own "
                                "valid pixels, so compare shares"))
        repeated = sorted({d for d in self.f.dates if self.f.dates.count(d) > 1})
        if repeated:
            notes.append(self.t(f"有两个图层日期相同（{'、'.join(repeated)}），它们之间的差异不是时间上的变化，请核对日期",
                                f"two layers share the date {', '.join(repeated)}: differences between them are not "
                                "change over time; check the dates"))
        if not notes:
            return ""
        return self.t("注意：" + "；".join(notes) + "。", " Note: " + "; ".join(notes) + ".")


def answer(question: str, facts: Facts, unit: AreaUnit | None = None, language: str | None = None) -> Answer:
    """A short answer to ``question`` stating only measured numbers from ``facts``."""
    lang = language or language_of(question)
    scenario = scenario_of(question)
    chosen = unit_of(question, unit, lang)
    w = _Writer(facts, chosen, lang == "zh")
    first, last = facts.per_date[0], facts.per_date[-1]
    unmeasurable = [d for d in facts.per_date if not d.measurable]
    needs_change = scenario in (Scenario.CROPLAND_CHANGE, Scenario.ILLEGAL_CONSTRUCTION, Scenario.NEW_BUILT_UP)
    if len(unmeasurable) == len(facts.per_date):
        body = w.unmeasurable(unmeasurable)
    elif scenario is Scenario.STRUCTURE_TREND and len(facts.per_date) - len(unmeasurable) < 2:
        body = (w.unmeasurable(unmeasurable) if unmeasurable else "") + w.structure()
    elif (needs_change or scenario is Scenario.STRUCTURE_TREND) and len(facts.dates) < 2:
        body = w.single_date()
    elif needs_change and not (first.measurable and last.measurable):
        body = w.unmeasurable(unmeasurable) + w.t("因此无法计算变化。", " So change cannot be measured.")
    elif scenario is Scenario.STRUCTURE_TREND:
        body = w.trend()  # with each interval's changes
    else:  # with three or more dates, each interval's measured changes too (a time-lapse without a model)
        write = {Scenario.CROPLAND_CHANGE: w.cropland, Scenario.NEW_BUILT_UP: w.new_built_up,
                 Scenario.ILLEGAL_CONSTRUCTION: w.illegal_construction,
                 Scenario.ENCROACHMENT: w.encroachment}.get(scenario, w.generic)
        body = write() + w.intervals()
    return Answer(text=w.years_note(question) + body + w.caveats(question), language=lang, scenario=scenario,
                  unit=chosen)
