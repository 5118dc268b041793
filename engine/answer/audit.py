"""The numbers audit: every figure in an answer must be one the engine measured.

Figures are read with the project's one quantity reader (``quantities``): in
Arabic digits or Chinese numerals, with units, measure words, percentages and
approximation words. Dates, years and quarters are not figures. Each figure is
held only to measured values of its own kind: an area (converted from its
unit) to measured areas, a percentage to shares and changes, percentage points
to share changes, a count to measured counts (patches, findings); a bare number
to any measured value. When the clause before a figure names land-cover
classes or a protection zone, only values measured for those are candidates,
so the water's 30 公顷 does not support "新增建设用地三十公顷". A figure matches
when the measured value, rounded as the figure was written, gives it (``12.5``
covers 12.45-12.55; ``500`` covers 475-525 and never more than 5 % off); 多/余/
超过 and 近/不到 bound it from one side. Figures the question itself states
are echoes. Each checked figure names the place in the facts it comes from.

The verdict says "all measured" only when at least one figure was checked and
every one was supported.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field

from engine.analysis.areas import AreaUnit
from engine.analysis.classes import MEASURED, LandCover
from engine.answer.quantities import Bound, Dimension, Quantity, read_quantities
from engine.errors import FactsError

RELATIVE_CAP = 0.05  # a rounded figure is never accepted more than 5 % off the measurement
BOUND_REACH = 0.2  # 超过/多 and 近/不到 reach at most one written step, and never more than 20 %
ZONE = "zone"
MAX_DEPTH = 12  # facts records nest 6 levels deep; anything much deeper is not one
# words that name a class or a zone, longest first (基本农田 is a zone, 农田 cropland)
_MENTIONS: tuple[tuple[str, str], ...] = (
    (r"基本农田|保护区|保护范围|生态红线|红线|管理范围|(?i:protect\w*\s+(?:zone|area)s?|farmland\s+zones?|"
     r"red\s+lines?|reserves?|zones?)", ZONE),
    (r"水体|水域|水面|河流|湖泊|(?i:water|rivers?|lakes?)", "water"),
    (r"建设用地|建筑|建成区|违建|违规建设|违法建设|房屋|(?i:built[- ]?up|buildings?|construction|urban)", "built_up"),
    (r"裸地|裸土|(?i:bare)", "bare"),
    (r"耕地|农田|草地|(?i:cropland|farmland|grassland|arable)", "cropland_grassland"),
    (r"林地|森林|树林|(?i:forests?|woodland|trees?)", "forest"),
)
_MENTION = re.compile("|".join(f"(?P<m{i}>{p})" for i, (p, _) in enumerate(_MENTIONS)))
_DIRECTION = re.compile(  # the words that say which way a change went (the last one before a figure counts)
    r"(?P<up>增加|增长|新增|上升|扩大|提高|增多|净增|(?i:increas\w*|grew|grow\w*|rose|rise\w*|gain\w*|expand\w*|up\b))"
    r"|(?P<down>减少|下降|流失|缩小|降低|净减|萎缩|(?i:decreas\w*|fell|fall\w*|lost|los[se]\w*|declin\w*|"
    r"shr[iau]nk\w*|down\b))")
_NEGATION = re.compile(r"没有|没|未|不|无|(?i:\bnot\b|\bno\b|\bnever\b|n't)")
_BOXES = re.compile(r"\"bbox_2d\"\s*:\s*\[[^\]]*\]|\"image\"\s*:\s*\d+")  # grounding JSON: no figures
_OPEN, _CLOSE = "(（[【", ")）]】"
_CLAUSE_END = re.compile(r"[。；;！!？?\n]|[，,、](?!\d)|\.(?=\s|$)")
# GB/T 21010 first-level classes in a survey reference, as the engine's classes
_SURVEY_CLASS = {"01": "cropland_grassland", "02": "cropland_grassland", "03": "forest",
                 "04": "cropland_grassland", "11": "water", "12": "bare"}


class Verdict(enum.StrEnum):
    ALL_MEASURED = "all_measured"  # at least one figure, all supported
    UNSUPPORTED = "unsupported"  # at least one figure not supported by the facts
    NO_FIGURES = "no_figures"  # nothing to check: the answer states no figure


@dataclass(frozen=True)
class Measured:
    """One measured value an answer may quote."""

    value: float
    kind: str  # area_m2 | percent | pp | count | length_m | value
    source: str  # where in the facts it comes from
    tags: frozenset[str] = frozenset()  # the classes (and "zone") it is about; empty: about the whole extent
    direction: int = 0  # +1 a gain or rise, -1 a loss or fall (its absolute value included), 0 neither
    moves: tuple[str, str] | None = None  # a transition (from, to): a gain for "to", a loss for "from"

    def direction_for(self, named: frozenset[str]) -> int:
        """The direction as the clause sees it: a transition is a gain of the class it names as its end."""
        if self.moves is None or not named:
            return self.direction
        start, end = self.moves[0] in named, self.moves[1] in named
        return 1 if end and not start else -1 if start and not end else self.direction


@dataclass
class AuditedNumber:
    text: str  # as written, with its unit and qualifier words
    value: float  # in the written unit
    unit: str | None  # km2, m2, ha, mu, m, km, percent, pp, count or None
    supported: bool
    source: str | None = None  # the measured value it matches, or "repeats the question"
    approximate: bool = False
    checked: bool = True  # False for an echo of the question


@dataclass
class Audit:
    """What the numbers audit found in one answer."""

    numbers: list[AuditedNumber] = field(default_factory=list)

    @property
    def unsupported(self) -> list[AuditedNumber]:
        return [n for n in self.numbers if not n.supported]

    @property
    def checked(self) -> int:
        return sum(n.checked for n in self.numbers)

    @property
    def ok(self) -> bool:
        return not self.unsupported

    @property
    def verdict(self) -> Verdict:
        if self.unsupported:
            return Verdict.UNSUPPORTED
        return Verdict.ALL_MEASURED if self.checked else Verdict.NO_FIGURES

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "verdict": self.verdict.value, "checked": self.checked,
                "unsupported": [n.text for n in self.unsupported], "numbers": [asdict(n) for n in self.numbers]}

    def lines(self, language: str = "zh") -> list[str]:
        """A line per figure and a verdict line, for people (``engine audit`` without ``--json``)."""
        zh = language == "zh"
        out = []
        for n in self.numbers:
            mark = "✔" if n.supported else "✘"
            why = n.source if n.supported else ("测量结果中没有此数" if zh else "not in the measurements")
            out.append(f"{mark} {n.text}  ({why})")
        verdict = {Verdict.ALL_MEASURED: ("回答中的数字均来自测量", "every figure is measured"),
                   Verdict.UNSUPPORTED: (f"{len(self.unsupported)} 个数字没有测量依据",
                                         f"{len(self.unsupported)} figure(s) not supported by the measurements"),
                   Verdict.NO_FIGURES: ("回答中没有可核对的数字", "the text states no figure to check")}[self.verdict]
        out.append(verdict[0] if zh else verdict[1])
        return out


def check_facts(data: object) -> Mapping[str, object]:
    """``data`` if it is a facts record (``Facts.to_dict()``, what ``analyse --json`` prints), else ``FactsError``."""
    if not isinstance(data, Mapping):
        raise FactsError(f"the facts must be a JSON object as `analyse --json` prints, not {type(data).__name__}")
    if _depth(data) > MAX_DEPTH:
        raise FactsError(f"the facts nest deeper than {MAX_DEPTH} levels; give what `analyse --json` prints")
    missing = [k for k in ("dates", "classes") if k not in data]
    if missing or not isinstance(data.get("dates"), list) or not isinstance(data.get("classes"), Mapping):
        raise FactsError("not a facts record (what `python -m engine analyse --json` prints): "
                         + (f"no {', '.join(missing)}" if missing else "dates must be a list, classes an object"))
    return data


def audit(answer: str, facts: Mapping[str, object], question: str = "") -> Audit:
    """Check every figure of ``answer`` against ``facts`` (``Facts.to_dict()``); the question's own are echoes."""
    measured = measured_values(facts)
    asked = {(q.unit, round(q.value, 9)) for q in read_quantities(question or "")}
    result = Audit()
    text = _BOXES.sub(lambda m: " " * len(m.group(0)), answer or "")  # same length: offsets stay valid
    starts = _clause_starts(text)
    for q in read_quantities(text):
        before = _without_asides(text[starts[q.start]:q.start])
        if (q.unit, round(q.value, 9)) in asked and _NEGATION.search(before):  # "没有超过2000亩": an echo, denied
            result.numbers.append(AuditedNumber(q.text, q.value, q.unit, True, "repeats the question",
                                                q.approximate, checked=False))
            continue
        named = _mentions(before)
        direction = _direction(before)
        candidates = [m for m in measured if (not named or m.tags & named)
                      and m.direction_for(named) * direction >= 0]
        source = _match(q, candidates)
        result.numbers.append(AuditedNumber(q.text, q.value, q.unit, source is not None, source, q.approximate))
    return result


def measured_values(facts: Mapping[str, object]) -> list[Measured]:
    """Every number in a facts record, with its kind and classes, plus the gains, losses and changes derived."""
    skip_dates = {str(d.get("date")) for d in _list(facts.get("per_date"))
                  if isinstance(d, Mapping) and d.get("measurable") is False}
    out: list[Measured] = []
    for path, key, value, tags, moves in _leaves(facts, "", frozenset(), None):
        if path.startswith("classes.") and path.split(".")[1] in skip_dates:
            continue  # a date too cloudy to measure: its areas are not figures to quote
        if key.endswith("_m2"):
            sign = _sign(value) if path.startswith(("net_change", "intervals")) else 0
            out.append(Measured(value, "area_m2", path, tags, sign, moves))
            out.append(Measured(abs(value), "area_m2", path + " (absolute)", tags, sign, moves))
        elif key.startswith("area_") or key in ("centroid_px",):
            continue  # the same area in another unit: matched through m²
        elif "fraction" in key:
            out.append(Measured(value * 100, "percent", path, tags))
        elif key == "share_change_points":
            out += [Measured(value, "pp", path, tags, _sign(value)),
                    Measured(abs(value), "pp", path + " (absolute)", tags, _sign(value))]
        elif key in ("patches", "findings_count", "count", "left_out") or key.endswith("_count"):
            out.append(Measured(value, "count", path, tags))
        elif path.startswith("pixel_size"):
            out.append(Measured(value, "length_m", path, tags))
        else:
            out.append(Measured(value, "value", path, tags))
    out += _derived(facts, skip_dates)
    # changes first: a number that is both a change and a class area is reported as the change
    order = ("transitions", "gain", "loss", "net_change", "zones")
    out.sort(key=lambda m: next((i for i, p in enumerate(order) if m.source.startswith(p)), len(order)))
    return out


def _derived(facts: Mapping[str, object], skip_dates: set[str]) -> list[Measured]:
    """Gross gains and losses per class, class changes in % and in share points, and violation counts."""
    out: list[Measured] = []
    # with two dates and no transition of a class, its gain and loss were measured as zero
    days = [d for d in _list(facts.get("per_date")) if isinstance(d, Mapping)]
    ends = days[:1] + days[-1:]
    two_dates = (len(_list(facts.get("dates"))) > 1 and "transitions" in facts
                 and all(d.get("measurable") is not False for d in ends))
    gains: dict[str, float] = {c.key: 0.0 for c in MEASURED} if two_dates else {}
    losses: dict[str, float] = dict(gains)
    gain_patches: dict[str, float] = dict(gains)
    loss_patches: dict[str, float] = dict(gains)
    for t in _list(facts.get("transitions")):
        if not isinstance(t, Mapping) or (area := _number(t.get("area_m2"))) is None:
            continue
        patches = _number(t.get("patches"))
        to, frm = str(t.get("to")), str(t.get("from"))
        gains[to], losses[frm] = gains.get(to, 0.0) + area, losses.get(frm, 0.0) + area
        gain_patches[to] = gain_patches.get(to, 0.0) + (patches or 0.0)
        loss_patches[frm] = loss_patches.get(frm, 0.0) + (patches or 0.0)
    out += [Measured(v, "area_m2", f"gain of {k} (sum of transitions to it)", frozenset({k}), 1)
            for k, v in gains.items()]
    out += [Measured(v, "area_m2", f"loss of {k} (sum of transitions from it)", frozenset({k}), -1)
            for k, v in losses.items()]
    out += [Measured(v, "count", f"patches that became {k}", frozenset({k})) for k, v in gain_patches.items()]
    out += [Measured(v, "count", f"patches that were {k}", frozenset({k})) for k, v in loss_patches.items()]
    violations = [v for z in _list(facts.get("zones")) if isinstance(z, Mapping)
                  for v in _list(z.get("violations")) if isinstance(v, Mapping)]
    if violations:
        tags = frozenset({ZONE, *(str(v.get(k)) for v in violations for k in ("class_from", "class_to"))})
        out.append(Measured(float(len(violations)), "count", "zones: suspected violations", tags))
        for to in {str(v.get("class_to")) for v in violations}:  # e.g. the built-up ones an answer lists
            n = sum(1 for v in violations if str(v.get("class_to")) == to)
            out.append(Measured(float(n), "count", f"zones: suspected violations to {to}", tags))
        hard = [v for v in violations if v.get("class_to") in ("built_up", "bare")]
        out.append(Measured(float(len(hard)), "count", "zones: new built-up or bare land (sites)", tags))
    classes = facts.get("classes")
    dates = [d for d in facts.get("dates") or [] if isinstance(d, str) and d not in skip_dates]
    if isinstance(classes, Mapping) and len(dates) > 1:
        first, last = classes.get(dates[0]), classes.get(dates[-1])
        first, last = (first if isinstance(first, Mapping) else {}), (last if isinstance(last, Mapping) else {})
        for key, before in first.items():
            after = last.get(key)
            if not (isinstance(before, Mapping) and isinstance(after, Mapping)):
                continue
            tags = frozenset({key})
            a, b = _number(before.get("area_m2")), _number(after.get("area_m2"))
            if a is None or b is None:
                continue
            out.append(Measured(abs(b - a), "area_m2", f"classes.{key} change {dates[0]}->{dates[-1]}", tags,
                                _sign(b - a)))
            if a > 0:
                change = (b - a) / a * 100
                out.append(Measured(change, "percent", f"classes.{key} change {dates[0]}->{dates[-1]} (%)", tags,
                                    _sign(change)))
                out.append(Measured(abs(change), "percent", f"classes.{key} change (%, absolute)", tags,
                                    _sign(change)))
            fa, fb = _number(before.get("fraction")), _number(after.get("fraction"))
            if fa is not None and fb is not None:
                points = (fb - fa) * 100
                out.append(Measured(points, "pp", f"classes.{key} share change (points)", tags, _sign(points)))
                out.append(Measured(abs(points), "pp", f"classes.{key} share change (points, absolute)", tags,
                                    _sign(points)))
    return out


def _depth(node: object, level: int = 0) -> int:
    """How deep ``node`` nests (stops counting past ``MAX_DEPTH``)."""
    if level > MAX_DEPTH:
        return level
    if isinstance(node, Mapping):
        return max((_depth(v, level + 1) for v in node.values()), default=level + 1)
    if isinstance(node, list | tuple):
        return max((_depth(v, level + 1) for v in node), default=level + 1)
    return level


def _number(value: object) -> float | None:
    """A finite number from the facts, or None for anything else (facts from elsewhere may hold anything)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _leaves(node: object, path: str, tags: frozenset[str],
            moves: tuple[str, str] | None) -> Iterator[tuple[str, str, float, frozenset[str], tuple[str, str] | None]]:
    if isinstance(node, Mapping):
        tags = tags | _tags_of(node, path)
        keys = ("from", "to") if "from" in node else ("class_from", "class_to")
        ends = [_class_key(str(node.get(k))) for k in keys]
        moves = (ends[0], ends[1]) if None not in ends else moves
        for k, v in node.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k), tags, moves)
    elif isinstance(node, list | tuple):
        for i, v in enumerate(node):
            yield from _leaves(v, f"{path}[{i}]", tags, moves)
    elif isinstance(node, int | float) and not isinstance(node, bool) and math.isfinite(node):
        yield path, path.rsplit(".", 1)[-1].split("[")[0], float(node), tags, moves


def _tags_of(node: Mapping[str, object], path: str) -> frozenset[str]:
    """The classes (and zone) a record of the facts is about, from its own keys or its place."""
    tags = {k for k in (_class_key(str(node[k])) for k in ("from", "to", "class_from", "class_to")
                        if isinstance(node.get(k), str)) if k is not None}
    if path.startswith("zones[") and path.count(".") == 0:
        tags.add(ZONE)
    parts = path.split(".")
    if len(parts) >= 2 and parts[-2] == "survey_classes" and parts[-1] in _SURVEY_CLASS:
        tags.add(_SURVEY_CLASS[parts[-1]])
    elif any(p in ("classes", "net_change") for p in parts[:-1]):  # classes.<date>.<class>, net_change.<class>
        key = _class_key(parts[-1])
        if key is not None:
            tags.add(key)
    return frozenset(tags)


def _class_key(name: str) -> str | None:
    try:
        return LandCover.from_key(name).key
    except ValueError:
        return None


def _clause_starts(text: str) -> list[int]:
    """For each position, where its clause starts: after the last clause end before it at its own depth of
    parentheses (an aside's commas do not end the sentence around it; inside an aside, after its opening)."""
    starts = [0] * (len(text) + 1)
    start, outer = 0, []  # the clause starts of the levels outside the open asides
    for i, ch in enumerate(text):
        starts[i] = start
        if ch in _OPEN:
            outer.append(start)
            start = i + 1
        elif ch in _CLOSE and outer:
            start = outer.pop()
        elif _CLAUSE_END.match(text, i):
            start = i + 1
    starts[len(text)] = start
    return starts


def _without_asides(clause: str) -> str:
    """``clause`` with its closed parentheses blanked (same length): names and words in an aside are its own."""
    out, opened = list(clause), []
    for i, ch in enumerate(clause):
        if ch in _OPEN:
            opened.append(i)
        elif ch in _CLOSE and opened:
            first = opened.pop()
            out[first:i + 1] = " " * (i + 1 - first)
    return "".join(out)


def _direction(clause: str) -> int:
    """+1 when the last direction word of the clause says a rise, -1 a fall, 0 when it has none."""
    found = list(_DIRECTION.finditer(clause))
    if not found:
        return 0
    return 1 if found[-1].lastgroup == "up" else -1


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _mentions(clause: str) -> frozenset[str]:
    """Classes and zones named in ``clause``."""
    named = set()
    for m in _MENTION.finditer(clause):
        named.add(_MENTIONS[int(next(k for k, v in m.groupdict().items() if v)[1:])][1])
    return frozenset(named)


def _unit_m2(unit: str | None) -> float | None:
    return {u.value: u.m2 for u in AreaUnit}.get(unit or "")


def _close(q: Quantity, measured: float) -> bool:
    """``measured``, in the figure's unit, gives the figure as written (rounded, or within its bound)."""
    value, step = q.value, q.step
    slack = 1e-9 * max(1.0, abs(value))
    if q.bound is Bound.ABOVE:
        return value - slack <= measured <= value + min(step, BOUND_REACH * abs(value)) + slack
    if q.bound is Bound.BELOW:
        return value - min(step, BOUND_REACH * abs(value)) - slack <= measured <= value + slack
    tolerance = 0.5 * step * (1 + 1e-9)
    if step >= 10:  # a round figure (500, 1.2万): never more than 5 % off, but plain rounding always fine
        tolerance = max(min(tolerance, RELATIVE_CAP * abs(measured)), 0.5 * (1 + 1e-9))
    return abs(value - measured) <= tolerance


def _match(q: Quantity, measured: list[Measured]) -> str | None:
    """The source of the first measured value that supports ``q``, or None."""
    if q.dimension is Dimension.AREA:
        factor = _unit_m2(q.unit) or 1.0
        return next((m.source for m in measured if m.kind == "area_m2" and _close(q, m.value / factor)), None)
    if q.dimension is Dimension.LENGTH:  # a pixel size: 10米分辨率
        metres = q.base_value / q.value if q.value else 1.0  # per written unit
        return next((m.source for m in measured if m.kind == "length_m" and _close(q, m.value / metres)), None)
    kinds = {Dimension.PERCENT: ("percent",), Dimension.POINTS: ("pp",), Dimension.COUNT: ("count",)}
    if q.dimension in kinds:
        return next((m.source for m in measured if m.kind in kinds[q.dimension] and _close(q, m.value)), None)
    for m in measured:  # a bare number: any measured value, an area in any unit
        if m.kind == "area_m2":
            for u in AreaUnit:
                if _close(q, m.value / u.m2):
                    return f"{m.source} in {u.value}"
        elif _close(q, m.value):
            return m.source
    return None
