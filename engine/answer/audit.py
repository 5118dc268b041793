"""The numbers audit: every number in an answer must be one the engine measured.

Numbers are read from the answer with their unit (亩, 公顷, km², m², %, ...).
An area is converted to m² and compared with every measured area; a
percentage with every measured share, valid fraction and between-date change;
a bare number with every measured value in any unit. A number matches when the
measured value, rounded as the answer wrote it, gives the number written
(``12.5`` covers 12.45-12.55; ``120`` covers 115-125 but never more than 5 %
off). Dates, years, quarters and numbers the question itself contains are not
figures to audit. Anything else is listed as unsupported, so a user sees when
the model invented a figure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field

from engine.analysis.areas import AreaUnit

_UNITS: tuple[tuple[str, str], ...] = (  # (pattern, kind) - longest alternatives first
    (r"平方公里|平方千米|km²|km2|square kilomet(?:re|er)s?", "km2"),
    (r"平方米|m²|m2|square met(?:re|er)s?", "m2"),
    (r"公顷|hectares?|ha\b", "ha"),
    (r"亩|mu\b", "mu"),
    (r"个百分点|percentage points?", "pp"),
    (r"%|％|percent\b|per cent\b", "percent"),
)
_UNIT_M2 = {"km2": AreaUnit.KM2.m2, "m2": 1.0, "ha": AreaUnit.HA.m2, "mu": AreaUnit.MU.m2}
_NUMBER = re.compile(
    r"(?<![0-9A-Za-z_.])(?P<pct>百分之)?(?P<num>[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*(?P<unit>"
    + "|".join(f"(?:{p})" for p, _ in _UNITS) + r")?", re.IGNORECASE)
_NOT_FIGURES = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}(?:\s*[-/.月]\s*\d{1,2}\s*日?)?"  # dates
    r"|\d{4}\s*年|\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?|\d{1,2}\s*日"
    r"|第\s*[一二三四1-4]\s*季度|\bQ[1-4]\b|[一二三四1-4]\s*季度"
    r"|(?m:^\s*\d{1,2}[.)、]\s)"  # list markers
    r"|\b(?:EPSG|epsg):\d+|\bB\d{1,2}A?\b|Landsat\s*\d|Sentinel-?\s*2[AB]?|\bL[1-2]\b|\bS2\b"
    r"|Qwen[\w.-]*|\b\d+\s*[×x]\s*\d+\b"  # model names, image sizes
    r"|\"bbox_2d\"\s*:\s*\[[^\]]*\]")
RELATIVE_CAP = 0.05  # a rounded figure is never accepted more than 5 % off the measurement


@dataclass(frozen=True)
class Measured:
    """One measured value the answer may quote."""

    value: float
    kind: str  # area_m2 | percent | count | value
    source: str  # where in the facts it comes from


@dataclass
class AuditedNumber:
    text: str  # as written, with its unit
    value: float
    unit: str | None  # km2, m2, ha, mu, percent, pp or None
    supported: bool
    source: str | None = None  # the measured value it matches, or why it is not a figure


@dataclass
class Audit:
    """What the numbers audit found in one answer."""

    numbers: list[AuditedNumber] = field(default_factory=list)

    @property
    def unsupported(self) -> list[AuditedNumber]:
        return [n for n in self.numbers if not n.supported]

    @property
    def ok(self) -> bool:
        return not self.unsupported

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "checked": len(self.numbers),
                "unsupported": [n.text for n in self.unsupported],
                "numbers": [asdict(n) for n in self.numbers]}


def measured_values(facts: Mapping[str, object]) -> list[Measured]:
    """Every number in a facts record (``Facts.to_dict()``), plus the shares and changes derived from them."""
    out: list[Measured] = []
    for path, key, value in _leaves(facts, ""):
        if key.endswith("_m2") or key == "area_m2":
            out.append(Measured(value, "area_m2", path))
            out.append(Measured(abs(value), "area_m2", path + " (absolute)"))
        elif key.startswith("area_"):
            continue  # the same area in another unit: matched through m²
        elif "fraction" in key:
            out.append(Measured(value * 100, "percent", path))
        elif key in ("patches", "findings_count", "count", "left_out") or key.endswith("_count"):
            out.append(Measured(value, "count", path))
        else:
            out.append(Measured(value, "value", path))
    gains: dict[str, float] = {}
    losses: dict[str, float] = {}
    for t in facts.get("transitions") or []:  # gross gain and loss per class, as the answers state them
        if isinstance(t, Mapping) and isinstance(t.get("area_m2"), int | float):
            gains[str(t.get("to"))] = gains.get(str(t.get("to")), 0.0) + float(t["area_m2"])
            losses[str(t.get("from"))] = losses.get(str(t.get("from")), 0.0) + float(t["area_m2"])
    out += [Measured(v, "area_m2", f"gain of {k}") for k, v in gains.items()]
    out += [Measured(v, "area_m2", f"loss of {k}") for k, v in losses.items()]
    # changes first: a number that is both a change and a class area is reported as the change
    out.sort(key=lambda m: 0 if m.source.startswith(("transitions", "gain", "loss", "net_change", "zones")) else 1)
    classes = facts.get("classes")
    dates = facts.get("dates")
    if isinstance(classes, Mapping) and isinstance(dates, list) and len(dates) > 1:
        first, last = classes.get(dates[0], {}), classes.get(dates[-1], {})
        for key, before in first.items():
            after = last.get(key)
            if not (isinstance(before, Mapping) and isinstance(after, Mapping)):
                continue
            a, b = float(before.get("area_m2", 0.0)), float(after.get("area_m2", 0.0))
            if a > 0:
                change = (b - a) / a * 100
                out.append(Measured(change, "percent", f"classes.{key} change {dates[0]}->{dates[-1]}"))
                out.append(Measured(abs(change), "percent", f"classes.{key} change (absolute)"))
            fa, fb = before.get("fraction"), after.get("fraction")
            if isinstance(fa, int | float) and isinstance(fb, int | float):
                out.append(Measured(abs(fb - fa) * 100, "pp", f"classes.{key} share change (points)"))
    return out


def audit(answer: str, facts: Mapping[str, object], question: str = "") -> Audit:
    """Check every number of ``answer`` against ``facts``; numbers in ``question`` are echoes, not figures."""
    measured = measured_values(facts)
    asked = {_value(m.group("num")) for m in _NUMBER.finditer(_NOT_FIGURES.sub(" ", question))}
    asked |= {_value(m) for m in re.findall(r"\d+(?:\.\d+)?", question)}
    result = Audit()
    text = _NOT_FIGURES.sub(lambda m: " " * len(m.group(0)), answer)
    for m in _NUMBER.finditer(text):
        raw, unit_text = m.group("num"), m.group("unit")
        value = _value(raw)
        unit = "percent" if m.group("pct") else _unit_kind(unit_text)
        written = m.group(0).strip()
        if unit is None and value in asked:
            result.numbers.append(AuditedNumber(written, value, unit, True, "repeats the question"))
            continue
        source = _match(value, _decimals(raw), _trailing_zeros(raw), unit, measured)
        result.numbers.append(AuditedNumber(written, value, unit, source is not None, source))
    return result


def _leaves(node: object, path: str) -> Iterator[tuple[str, str, float]]:
    if isinstance(node, Mapping):
        for k, v in node.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list | tuple):
        for i, v in enumerate(node):
            yield from _leaves(v, f"{path}[{i}]")
    elif isinstance(node, int | float) and not isinstance(node, bool) and math.isfinite(node):
        yield path, path.rsplit(".", 1)[-1].split("[")[0], float(node)


def _value(raw: str) -> float:
    return float(raw.replace(",", "").replace("−", "-"))


def _decimals(raw: str) -> int:
    return len(raw.split(".", 1)[1]) if "." in raw else 0


def _trailing_zeros(raw: str) -> int:
    if "." in raw:
        return 0
    digits = raw.replace(",", "").lstrip("+-−")
    return len(digits) - len(digits.rstrip("0")) if digits.strip("0") else 0


def _unit_kind(text: str | None) -> str | None:
    if not text:
        return None
    for pattern, kind in _UNITS:
        if re.fullmatch(pattern, text, re.IGNORECASE):
            return kind
    return None


def _close(written: float, measured: float, decimals: int, zeros: int) -> bool:
    """``measured``, rounded as ``written`` was written, gives ``written``."""
    step = 10.0 ** (-decimals) if decimals else 10.0 ** zeros
    tolerance = 0.5 * step * (1 + 1e-9)
    if zeros:
        tolerance = min(tolerance, RELATIVE_CAP * abs(measured))
        tolerance = max(tolerance, 0.5 * (1 + 1e-9))  # plain integer rounding is always fine
    return abs(written - measured) <= tolerance


def _match(value: float, decimals: int, zeros: int, unit: str | None, measured: list[Measured]) -> str | None:
    if unit in _UNIT_M2:
        factor = _UNIT_M2[unit]
        for m in measured:
            if m.kind == "area_m2" and _close(value, m.value / factor, decimals, zeros):
                return m.source
        return None
    if unit in ("percent", "pp"):
        kinds = ("percent", "pp") if unit == "pp" else ("percent",)
        for m in measured:
            if m.kind in kinds and _close(value, m.value, decimals, zeros):
                return m.source
        return None
    for m in measured:  # a bare number: any measured value, or an area in any unit
        if m.kind == "area_m2":
            for u in AreaUnit:
                if _close(value, m.value / u.m2, decimals, zeros):
                    return f"{m.source} in {u.value}"
        elif _close(value, m.value, decimals, zeros):
            return m.source
    return None
