"""Reading land-use answers: question types, yes/no, counts and quantities with units, in Chinese and English.

The pieces the rewards (``training.rewards``) and the evaluation score with.
Everything here is pure: strings in, typed values out, never an exception
on odd text. Question types follow RSVQA (presence, count, comparison,
rural/urban, area) plus the seed's numeric questions, routed on whole words
so that "county" is not a *count* and a bare "m" does not make a question
numeric (the seed's misfires).
"""

from __future__ import annotations

import enum
import re

from engine.answer.quantities import Dimension, Quantity, read_quantities  # the one quantity reader


class QuestionType(enum.StrEnum):
    YES_NO = "yes_no"
    COUNT = "count"
    NUMERIC = "numeric"  # a quantity with a unit: area, length, percentage
    CLASS = "class"  # a category: which land-cover class, rural or urban
    OPEN = "open"

    @classmethod
    def parse(cls, value: str | None) -> QuestionType | None:
        """A dataset's ``question_type`` (ours, or RSVQA's presence/comp/count/area/rural_urban) or None."""
        if not value:
            return None
        text = str(value).strip().lower().replace("-", "_")
        return _ALIASES.get(text) or (cls(text) if text in cls._value2member_map_ else None)


_ALIASES = {"presence": QuestionType.YES_NO, "comp": QuestionType.YES_NO, "comparison": QuestionType.YES_NO,
            "yesno": QuestionType.YES_NO, "rural_urban": QuestionType.CLASS, "area": QuestionType.NUMERIC,
            "change": QuestionType.NUMERIC, "percent": QuestionType.NUMERIC,
            "share": QuestionType.NUMERIC, "number": QuestionType.COUNT, "violation": QuestionType.YES_NO,
            "zone": QuestionType.YES_NO}

_COUNT_EN = re.compile(r"\bhow\s+many\b|\bnumber\s+of\b|\bcount\s+(?:the|of)\b", re.IGNORECASE)
_COUNT_ZH = re.compile(r"几个|几处|几块|多少个|多少处|多少块|多少座|数量")
_NUMERIC_EN = re.compile(
    r"\b(?:area|areas|size|length|width|distance|percentage|percent|proportion|share)\b|\bhow\s+(?:much|large|big|"
    r"long|far|wide)\b", re.IGNORECASE)
_NUMERIC_ZH = re.compile(r"面积|多少平方|多少公顷|多少亩|多大|多长|多远|多宽|百分之|比例|占比|百分比|长度|距离")
_YES_NO_EN = re.compile(r"^\s*(?:is|are|was|were|does|do|did|has|have|had|can|could|will|would|should)\b",
                        re.IGNORECASE)
_YES_NO_ZH = re.compile(r"是否|是不是|有没有|有无|能否|可否|吗\s*[？?]?\s*$")
_CLASS_EN = re.compile(r"^\s*(?:what|which)\b.*\b(?:class|type|kind|land\s*cover|land\s*use|category)\b|"
                       r"\brural\s+or\s+urban\b|\burban\s+or\s+rural\b", re.IGNORECASE)
_CLASS_ZH = re.compile(r"什么(?:地类|类型|用地)|哪种|哪类|哪一类|农村还是城市|城市还是农村|城镇还是乡村")


def question_type(question: str) -> QuestionType:
    """The type of ``question``, from its words (count and numeric before yes/no: "是否超过多少亩" is numeric)."""
    q = question or ""
    if _COUNT_EN.search(q) or _COUNT_ZH.search(q):
        return QuestionType.COUNT
    if _NUMERIC_EN.search(q) or _NUMERIC_ZH.search(q):
        if not (_YES_NO_EN.search(q) or _YES_NO_ZH.search(q)):
            return QuestionType.NUMERIC
    if _YES_NO_EN.search(q) or _YES_NO_ZH.search(q):
        return QuestionType.YES_NO
    if _CLASS_EN.search(q) or _CLASS_ZH.search(q):
        return QuestionType.CLASS
    return QuestionType.OPEN


# -- yes / no ----------------------------------------------------------------------------------------
_YES = re.compile(r"^\s*(?:yes|yeah|true|correct|是的|是|有|对|存在|正确)(?![a-z])", re.IGNORECASE)
_NO = re.compile(r"^\s*(?:no|not|false|none|否|不是|没有|无|不存在|不对|不(?=$|[\s，。,.！!]))(?![a-z])", re.IGNORECASE)


def yes_no(text: str) -> bool | None:
    """True for a yes, False for a no, None when the text starts with neither."""
    t = _strip(text)
    if _NO.match(t):  # before yes: "不是" starts with neither 是 nor 有, but "没有" contains 有
        return False
    if _YES.match(t):
        return True
    return None


# -- classes: closed answers, read from a sentence in either language ------------------------------------
_CLASS_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("urban", re.compile(r"城镇|城市|urban", re.IGNORECASE)),
    ("rural", re.compile(r"乡村|农村|rural", re.IGNORECASE)),
    ("water", re.compile(r"水体|水域|\bwater\b", re.IGNORECASE)),
    ("built_up", re.compile(r"建设用地|built[- ]?up", re.IGNORECASE)),
    ("bare", re.compile(r"裸地|\bbare\b", re.IGNORECASE)),
    ("cropland_grassland", re.compile(r"耕地|草地|cropland|grassland", re.IGNORECASE)),
    ("forest", re.compile(r"林地|森林|forest", re.IGNORECASE)),
)


def answer_class(text: str) -> str | None:
    """The one closed-set class a text names ("It is a rural area" -> rural; 这里是乡村 -> rural), else None."""
    found = {name for name, pattern in _CLASS_WORDS if pattern.search(text or "")}
    return found.pop() if len(found) == 1 else None


# -- numbers: the engine's one quantity reader --------------------------------------------------------
def quantities(text: str) -> list[Quantity]:
    """Every figure in ``text`` with its unit (``engine.answer.quantities``): "1.2万亩", "5 km", "三百平方米"."""
    return read_quantities(text or "")


def first_quantity(text: str, dimension: str | None = None) -> Quantity | None:
    """The first figure in ``text`` of ``dimension`` (or, failing that, the first bare number or count)."""
    qs = quantities(text)
    if dimension is not None:
        for q in qs:
            if q.dimension == dimension:
                return q
        for q in qs:
            if q.dimension in (None, Dimension.COUNT):
                return q
        return None
    return qs[0] if qs else None


# -- counts, as RSVQA bins them ---------------------------------------------------------------------
COUNT_BINS = ((0, 0, "0"), (1, 10, "between 1 and 10"), (11, 100, "between 11 and 100"),
              (101, 1000, "between 101 and 1000"), (1001, float("inf"), "more than 1000"))


def count_bin(count: float) -> str:
    for low, high, label in COUNT_BINS:
        if low <= count <= high:
            return label
    return COUNT_BINS[0][2]


def is_bin_label(text: str) -> bool:
    return _strip(text).lower() in {label for _, _, label in COUNT_BINS}


# RSVQA-HR bins areas in m² the same way
AREA_BINS = ((0, 0, "0m2"), (1, 10, "between 1m2 and 10m2"), (11, 100, "between 11m2 and 100m2"),
             (101, 1000, "between 101m2 and 1000m2"), (1001, float("inf"), "more than 1000m2"))


def area_bin(area_m2: float) -> str:
    value = round(area_m2)
    for low, high, label in AREA_BINS:
        if low <= value <= high:
            return label
    return AREA_BINS[0][2]


def is_area_bin(text: str) -> bool:
    return _strip(text).lower().replace(" ", "") in {label.replace(" ", "") for _, _, label in AREA_BINS}


def _strip(text: str) -> str:
    return (text or "").strip().strip("。.!！,，:：\"'“”").strip()
