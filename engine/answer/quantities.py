"""The one quantity reader: every figure in a text, with its unit, dimension, precision and qualifier.

The numbers audit, the analytics answers and training's rewards all read numbers
here. Chinese and English: Arabic digits (full-width too, with thousands
separators), Chinese numerals (一千二百, 十二点五, 1.2万), percentages (百分之三十,
三成, 5 个百分点), area and length units, counts with measure words (7个图斑,
4 patches) and bound words (约, 近, 超过, 多, 余, about, more than, nearly).
Dates, years, quarters and identifiers (EPSG:4326, B8A, Landsat 8, list
markers) are not figures. A Chinese numeral in prose (一些, 统一, 第一, 千万)
is read only when a unit, a measure word or a decimal point makes it a
quantity, or when it is a longer numeral on its own (一千二百): a model's
Chinese prose must not produce spurious figures.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass
from decimal import Decimal

from engine.units import AreaUnit

logger = logging.getLogger(__name__)


class Dimension(enum.StrEnum):
    AREA = "area"  # base unit m²
    LENGTH = "length"  # base unit m
    PERCENT = "percent"  # base unit %
    POINTS = "pp"  # percentage points
    COUNT = "count"  # things counted with a measure word (个, 处, 图斑, patches)


class Bound(enum.StrEnum):
    ABOUT = "about"  # 约, 左右, about
    ABOVE = "above"  # 超过, 多, 余, more than
    BELOW = "below"  # 近, 不到, nearly, less than


@dataclass(frozen=True)
class Quantity:
    """One figure as written; ``text == source[start:end]``."""

    text: str  # with its unit and qualifier words, e.g. "约五百亩"
    start: int
    end: int
    value: float  # in the written unit (1.2万亩 -> 12000.0)
    unit: str | None  # m2 ha km2 mu | m km cm mm | percent | pp | count | None for a bare number
    dimension: Dimension | None
    base_value: float  # in the dimension's base unit (m², m, %, points, count)
    step: float  # place value of the last written significant digit, in the written unit
    approximate: bool  # any approximation or bound word
    bound: Bound | None

    @property
    def is_count(self) -> bool:
        return self.dimension is Dimension.COUNT


_WRITE_DIGITS = "零一二三四五六七八九"
_ZH_DIGIT = {c: i for i, c in enumerate(_WRITE_DIGITS)} | {"〇": 0, "两": 2}
_ZH_PLACE = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG = {"万": 10**4, "亿": 10**8}
_BIG_FACTOR = {"百": 100, "千": 1000, **_ZH_BIG}
_NUMERALS = "零〇一二两三四五六七八九十百千万亿"
_LATIN_END = r"(?![A-Za-z0-9])"
# (key, pattern, dimension, factor to the base unit); longest first: 个百分点 before 个, 平方米 before 米
_UNITS: tuple[tuple[str, str, Dimension, float], ...] = (
    ("pp", r"个百分点|百分点|(?i:percentage[ -]?points?|pp)" + _LATIN_END, Dimension.POINTS, 1.0),
    ("percent", r"%|％|(?i:per[ ]?cent)" + _LATIN_END, Dimension.PERCENT, 1.0),
    ("km2", r"平方公里|平方千米|㎢|(?i:km(?:²|\^?2)|sq\.?[ ]?km|square[ ]kilomet(?:re|er)s?)" + _LATIN_END,
     Dimension.AREA, AreaUnit.KM2.m2),
    ("m2", r"平方米|㎡|(?i:m(?:²|\^?2)|sq\.?[ ]?m|square[ ]met(?:re|er)s?)" + _LATIN_END, Dimension.AREA,
     AreaUnit.M2.m2),
    ("ha", r"公顷|(?i:hectares?|ha|hm(?:²|\^?2))" + _LATIN_END, Dimension.AREA, AreaUnit.HA.m2),
    ("mu", r"亩|(?i:mu)" + _LATIN_END, Dimension.AREA, AreaUnit.MU.m2),
    ("mm", r"毫米|(?i:mm|millimet(?:re|er)s?)" + _LATIN_END, Dimension.LENGTH, 1e-3),
    ("cm", r"厘米|(?i:cm|centimet(?:re|er)s?)" + _LATIN_END, Dimension.LENGTH, 1e-2),
    ("km", r"公里|千米|(?i:km|kilomet(?:re|er)s?)" + _LATIN_END, Dimension.LENGTH, 1e3),
    ("m", r"米|(?:m|(?i:met(?:re|er)s?))" + _LATIN_END, Dimension.LENGTH, 1.0),
    ("count", r"个图斑|图斑|个|处|块|宗|座|栋|幢|片|(?i:patch(?:es)?|sites?|places?|polygons?|parcels?|buildings?)"
     + _LATIN_END, Dimension.COUNT, 1.0),
)
_UNIT_INFO = {key: (dimension, factor) for key, _, dimension, factor in _UNITS}
_ANY_UNIT = "|".join(f"(?:{pattern})" for _, pattern, _, _ in _UNITS)
_ARABIC = (r"(?<![0-9A-Za-z_.#])(?<![A-Za-z][-−])[-−+]?(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])"
           r"|[0-9]{1,3}(?:[ \u00a0][0-9]{3})+(?![0-9])|[0-9]+)(?:\.[0-9]+)?")
_ZH = rf"[{_NUMERALS}]+(?:点[零〇一二三四五六七八九]+(?![零〇一二两三四五六七八九点]))?"
_CHENG = r"[一二两三四五六七八九]成(?:[一二三四五六七八九](?![十百千万亿点成]))?(?!不变)"
_BIG = r"[百千]?[万亿]|百|千(?!米)"


def _words(*words: str) -> str:
    """English words, any case, that start and end at a word's edges."""
    return r"(?i:(?<![A-Za-z])(?:" + "|".join(w.replace(" ", "[ ]") for w in words) + r")(?![A-Za-z]))"


_PRE = (r"(?P<pre_about>大约|大概|大致|约合|约为|(?<![节制契合条公签预违])约|近似|"
        + _words("about", "around", "approximately", r"approx\.?", "roughly", "circa") + r"|(?<![0-9])[~～≈])"
        r"|(?P<pre_above>超过|超出|多于|大于|高于|不少于|不低于|不小于|逾|至少|"
        + _words("more than", "over", "above", "at least", "greater than", "exceeding") + r"|(?<![-=])[>≥＞])"
        r"|(?P<pre_below>将近|接近|(?<![最附靠邻远将接])近|不到|不足|少于|小于|低于|不超过|不多于|不高于|不大于|至多|"
        + _words("less than", "fewer than", "under", "below", "nearly", "almost", "up to", "at most")
        + r"|[<≤＜](?![-=]))")
_POST = (r"(?P<post_about>左右|上下|" + _words("or so") + r")"
         r"|(?P<post_above>以上|有余|之多|" + _words("or more", "and above") + r")"
         r"|(?P<post_below>以下|以内|之内|" + _words("or less", "or fewer", "and below") + ")")
_SP = r"[^\S\n]*"
_QUANTITY = re.compile(
    rf"(?:(?:{_PRE}){_SP})?(?P<pct>百分之)?(?P<num>(?P<cheng>{_CHENG})|(?P<arabic>{_ARABIC})|(?P<zh>{_ZH}))"
    rf"(?P<big>{_BIG})?(?:{_SP}(?P<more>多|余|\+(?![0-9]))(?P<big2>[万亿])?)?"
    rf"(?:{_SP}(?P<unit>" + "|".join(f"(?P<u_{key}>{pattern})" for key, pattern, _, _ in _UNITS) + "))?"
    rf"(?:{_SP}(?:{_POST}))?")
_ONE_NUMBER = re.compile(rf"(?P<num>(?P<arabic>{_ARABIC})|(?P<zh>{_ZH}))(?P<big>{_BIG})?")
_ARTICLE_UNITS = {"个", "片", "块", "座"}  # 一个, 一片, 一块, 一座: "a", not a count
_WORD_BEFORE_ONE = "统唯之同万逐单划合专均任某的中另每这那"  # 统一, 唯一, 之一, 最大的一处, 其中一处

_YEAR = r"(?:19[0-9]{2}|20[0-9]{2}|2100)"
_ZH_YEAR = r"[零〇一二三四五六七八九]{4}"
_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?"
          r"|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_NO_UNIT = rf"(?!{_SP}(?:{_ANY_UNIT}))"
_NOT_FIGURES: tuple[re.Pattern[str], ...] = tuple(re.compile(p) for p in (
    # year ranges: 2023–2024年, 2023至2024年, 2019 to 2024 (both years)
    rf"(?:{_YEAR}|{_ZH_YEAR}){_SP}年?{_SP}(?:[-–—~～至到]|(?i:to|and|through|until)){_SP}"
    rf"(?:{_YEAR}|{_ZH_YEAR})(?![0-9])(?:{_SP}年|{_NO_UNIT})",
    rf"(?<![0-9]){_YEAR}(?:[-/](?:0?[1-9]|1[0-2])(?:[-/][0-3]?[0-9])?|\.[01][0-9]\.[0-3][0-9])(?![0-9])",
    # any number right before 年, 月, 日, 号, 季度: 2024年, 二〇二四年, 5月, 1日, 第二季度, 3个月
    rf"第?(?:(?<![0-9A-Za-z.])[0-9]+(?:\.[0-9]+)?|(?<![{_NUMERALS}])[{_NUMERALS}]+)"
    rf"{_SP}(?:个?[多余]?(?:年|月|季度)|[日号]|周年)",
    rf"(?:{_YEAR}[^\S\n]*-?[^\S\n]*)?(?<![A-Za-z])Q[1-4](?![0-9A-Za-z])(?:{_SP}{_YEAR}(?![0-9]))?",
    r"[上下]半年",
    rf"(?i:(?<![A-Za-z])(?:in|from|to|since|between|and|until|till|through|during|years?)[^\S\n]+)(?P<y>{_YEAR})"
    rf"(?![0-9]|[.,][0-9]){_NO_UNIT}",
    rf"(?:{_YEAR}[^\S\n]+|(?<![0-9])[0-3]?[0-9](?:st|nd|rd|th)?[^\S\n]+(?:of[^\S\n]+)?)?(?<![A-Za-z]){_MONTH}(?![A-Za-z])\.?"
    rf"(?:[^\S\n]+[0-3]?[0-9](?:st|nd|rd|th)?(?![0-9A-Za-z]))?(?:,?[^\S\n]+{_YEAR}(?![0-9]))?",
    # identifiers: EPSG:4326, B8A, band 4, Landsat 8, Sentinel-2, GF-2, Qwen2.5-VL, 1008×1008, GB/T 21010-2017
    r"(?<![A-Za-z])(?:(?i:EPSG)[^\S\n]*:?[^\S\n]*[0-9]+|B[0-9]{1,2}A?(?![0-9A-Za-z])|(?i:band)[^\S\n]*[0-9]{1,2}(?![0-9]))",
    r"(?i:Landsat|Sentinel)(?:[^\S\n]|-)*[0-9]+[A-C]?|(?<![A-Za-z])(?:GF|ZY|HJ|CBERS|SPOT)(?:[^\S\n]|-)*[0-9]+[A-Z]?",
    r"(?i:Qwen)[0-9A-Za-z.-]*|(?<![0-9])[0-9]{2,5}[^\S\n]*[×xX*][^\S\n]*[0-9]{2,5}(?![0-9])",
    r"(?<![A-Za-z])GB(?:/T)?[^\S\n]*[0-9]+(?:[-—.][0-9]+)*",
    # list markers: "1. " "2) " "3、" at a line's start, "(1)" "（二）" anywhere
    r"(?m:^[^\S\n]*(?:[-*>#]+[^\S\n]*)?\**(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})\**[.)、．）](?![0-9]))",
    r"[（(][^\S\n]*(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})[^\S\n]*[）)]",
))
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")
_FULL_WIDTH_COMMA = re.compile(r"(?<=[０-９])，(?=[０-９]{3}(?![０-９]))")


def parse_number(text: str) -> float | None:
    """One number in Arabic digits, Chinese numerals or both (1.2万); None when ``text`` is not one number.

    >>> parse_number("一千二百"), parse_number("1,234.5"), parse_number("1.2万"), parse_number("一些")
    (1200.0, 1234.5, 12000.0, None)
    """
    m = _ONE_NUMBER.fullmatch(_normalise(text or "").strip())
    if m is None:
        return None
    parsed = _number(m)
    return None if parsed is None else float(parsed[0])


def read_quantities(text: str) -> list[Quantity]:
    """Every figure in ``text``, left to right, without dates, years, quarters and identifiers.

    >>> [(q.text, q.value, q.unit, q.bound) for q in read_quantities("新增约五百亩，占3.5%")]
    [('约五百亩', 500.0, 'mu', <Bound.ABOUT: 'about'>), ('3.5%', 3.5, 'percent', None)]
    """
    if not text:
        return []
    normal = _normalise(text)
    scan = list(normal)
    for start, end in _spans(normal):  # blanked, not removed: offsets stay those of ``text``
        scan[start:end] = "\x00" * (end - start)
    blanked = "".join(scan)
    found = []
    for m in _QUANTITY.finditer(blanked):
        reason = _not_a_figure(m, blanked)
        parsed = None if reason else _number(m)
        if parsed is None:
            logger.debug("not a figure: %r (%s)", m.group(0), reason or "unparsable")
            continue
        found.append(_quantity(m, text, *parsed))
    return found


def date_spans(text: str) -> list[tuple[int, int]]:
    """Sorted, merged spans of dates, years, months, quarters and identifiers: text that is not a figure."""
    return _spans(_normalise(text or ""))


def area_unit_named(text: str) -> str | None:
    """The first area unit a text names, with or without a number ("多少公顷" -> "ha"); None when it names none."""
    best: tuple[int, str] | None = None
    for key, pattern, dimension, _ in _UNITS:
        if dimension is Dimension.AREA:
            m = re.search(rf"(?<![A-Za-z])(?:{pattern})", text or "")
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), key)
    return None if best is None else best[1]


def years_named(text: str) -> list[int]:
    """The years a text names, in Arabic or Chinese digits (2024年, 二〇二四年, 2023–2024, in 2019), in order."""
    normal = _normalise(text or "")
    years = []
    for start, end in _spans(normal):
        for m in re.finditer(rf"(?<![0-9]){_YEAR}(?![0-9])|{_ZH_YEAR}", normal[start:end]):
            raw = m.group(0)
            year = int(raw) if raw.isdigit() else int("".join(str(_ZH_DIGIT[c]) for c in raw))
            if 1900 <= year <= 2100:
                years.append(year)
    return years


def to_chinese_numeral(value: int) -> str:
    """``value`` (0 <= value < 10**12) in standard Chinese numerals: 1205 -> 一千二百零五, 10 -> 十, 20000 -> 二万."""
    if not 0 <= value < 10**12:
        raise ValueError(f"to_chinese_numeral takes 0 <= value < 10**12, not {value}")
    if value == 0:
        return "零"
    out, gap = "", False
    for group, big in ((value // 10**8, "亿"), (value // 10**4 % 10**4, "万"), (value % 10**4, "")):
        if group == 0:
            gap = gap or bool(out)
            continue
        if out and (gap or group < 1000):
            out += "零"
        out, gap = out + _section_text(group) + big, False
    return out[1:] if out.startswith("一十") else out


def _section_text(group: int) -> str:
    out, zero = "", False
    for place, char in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = group // place % 10
        if digit == 0:
            zero = bool(out)
            continue
        out, zero = out + ("零" if zero else "") + _WRITE_DIGITS[digit] + char, False
    return out


def _normalise(text: str) -> str:
    """Full-width digits, point and (between digits) comma as ASCII, one character for one: spans stay valid."""
    return _FULL_WIDTH_COMMA.sub(",", text).translate(_FULL_WIDTH)


def _spans(text: str) -> list[tuple[int, int]]:
    spans = sorted(m.span("y") if "y" in p.groupindex else m.span() for p in _NOT_FIGURES for m in p.finditer(text))
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _not_a_figure(m: re.Match[str], text: str) -> str | None:
    """Why the match is no figure (an ordinal, an identifier, a numeral in prose), or None when it is one."""
    num, before, after = m.group("num"), text[max(0, m.start() - 8):m.start()], text[m.end("num"):m.end("num") + 1]
    if re.search(rf"第{_SP}$", before):
        return "ordinal"
    if after.startswith("几") or (m.group("zh") and before.endswith(("数", "几"))):
        return "vague (数百, 二十几)"
    if m.group("arabic"):
        end = m.end("big") if m.group("big") else m.end("num")
        glued = text[end:end + 2]
        if not m.group("unit") and re.match(r"[A-Za-z_]|\.[0-9]", glued):
            return "identifier"
        return None
    if not m.group("zh") or m.group("pct"):
        return None
    unit = m.group("unit")
    if len(num) > 1 and all(c in _ZH_DIGIT for c in num):
        return "digit run (三四个, 一一)"
    if num == "一" and (unit in _ARTICLE_UNITS or before.endswith(tuple(_WORD_BEFORE_ONE))):
        return "a word with 一"
    if unit or m.group("big") or "点" in num:
        return None
    if len(num) == 1 or not (num[0] in _ZH_DIGIT or num[0] == "十"):
        return "Chinese numeral in prose"
    return None


def _number(m: re.Match[str]) -> tuple[Decimal, Decimal] | None:
    """(value, step) of the number in ``m``, with its 万/亿/千 multipliers."""
    num = m.group("num")
    groups = m.groupdict()
    if groups.get("cheng"):
        tenth = Decimal(_ZH_DIGIT[num[0]] * 10)
        parsed = (tenth + _ZH_DIGIT[num[2]], Decimal(1)) if len(num) == 3 else (tenth, Decimal(10))
    elif groups.get("arabic"):
        parsed = _arabic(num)
    else:
        parsed = _chinese(num)
    if parsed is None:
        return None
    value, step = parsed
    for big in (groups.get("big"), groups.get("big2")):
        for char in big or "":
            value, step = value * _BIG_FACTOR[char], step * _BIG_FACTOR[char]
    return value, step


def _arabic(raw: str) -> tuple[Decimal, Decimal]:
    clean = re.sub(r"[, \u00a0]", "", raw).replace("−", "-")
    value = Decimal(clean)
    if "." in clean:
        return value, Decimal(1).scaleb(-len(clean.split(".", 1)[1]))
    digits = clean.lstrip("+-")
    zeros = len(digits) - len(digits.rstrip("0")) if digits.strip("0") else 0
    return value, Decimal(10) ** zeros


def _chinese(raw: str) -> tuple[Decimal, Decimal] | None:
    whole, _, fraction = raw.partition("点")
    parsed = _zh_int(whole)
    if parsed is None:
        return None
    if not fraction:
        return Decimal(parsed[0]), Decimal(parsed[1])
    decimals = "".join(str(_ZH_DIGIT[c]) for c in fraction)
    return Decimal(f"{parsed[0]}.{decimals}"), Decimal(1).scaleb(-len(decimals))


def _zh_int(text: str, bigs: str = "亿万") -> tuple[int, int] | None:
    """(value, step) of a Chinese integer: 一千二百 (1200, 100), 一万零五 (10005, 1), 一万二 (12000, 1000)."""
    for i, char in enumerate(bigs):
        if char not in text:
            continue
        factor, lower = _ZH_BIG[char], bigs[i + 1:]
        head_text, _, tail = text.partition(char)
        head = _zh_int(head_text, lower)
        if head is None or head[0] == 0 or char in tail:
            return None
        if not tail:
            return head[0] * factor, head[1] * factor
        if tail[0] in "零〇":
            rest = _zh_int(tail[1:], lower)
        elif len(tail) == 1 and tail in _ZH_DIGIT:  # 一万二 is 12000
            rest = (_ZH_DIGIT[tail] * factor // 10, factor // 10)
        else:
            rest = _zh_int(tail, lower)
        if rest is None or not 0 < rest[0] < factor:
            return None
        return head[0] * factor + rest[0], rest[1]
    return _zh_section(text)


def _zh_section(text: str) -> tuple[int, int] | None:
    """(value, step) below 10 000: 一千零五十 (1050, 10), 三千五 (3500, 100), 二〇二四 read digit by digit."""
    if not text or any(c not in _ZH_DIGIT and c not in _ZH_PLACE for c in text):
        return None
    if all(c in _ZH_DIGIT for c in text):
        digits = "".join(str(_ZH_DIGIT[c]) for c in text)
        return int(digits), 10 ** (len(digits) - len(digits.rstrip("0"))) if digits.strip("0") else 1
    value, step, place, digit, zero = 0, 1, 10**4, None, False
    for c in text:
        if c in _ZH_PLACE:
            p = _ZH_PLACE[c]
            if p >= place or (digit is None and value and not (zero and p == 10)):
                return None
            value, step, place, digit, zero = value + (digit or 1) * p, p, p, None, False
        elif digit is not None or (_ZH_DIGIT[c] == 0 and (value == 0 or zero)):
            return None
        elif _ZH_DIGIT[c] == 0:
            zero = True
        else:
            digit = _ZH_DIGIT[c]
    if digit is None:
        return None if zero else (value, step)
    step = 1 if zero else place // 10  # 三千五 is 3500
    return value + digit * step, step


def _quantity(m: re.Match[str], source: str, value: Decimal, step: Decimal) -> Quantity:
    unit = "percent" if m.group("pct") or m.group("cheng") else None
    if unit is None and m.group("unit"):
        unit = next(key for key, *_ in _UNITS if m.group(f"u_{key}") is not None)
    dimension, factor = _UNIT_INFO[unit] if unit else (None, 1.0)
    groups = m.groupdict()
    bounds = [Bound(name.split("_")[1]) for name in ("pre_about", "pre_above", "pre_below", "post_about",
                                                     "post_above", "post_below") if groups.get(name)]
    if m.group("more"):
        bounds.insert(0, Bound.ABOVE)
    bound = next((b for b in bounds if b is not Bound.ABOUT), bounds[0] if bounds else None)
    return Quantity(text=source[m.start():m.end()], start=m.start(), end=m.end(), value=float(value), unit=unit,
                    dimension=dimension, base_value=float(value) * factor, step=float(step),
                    approximate=bound is not None, bound=bound)
