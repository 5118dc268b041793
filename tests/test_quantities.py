"""The quantity reader: tables of figures and of prose without figures, in Chinese and English, and round trips."""

from __future__ import annotations

import itertools
import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.analysis.areas import AreaUnit
from engine.answer.quantities import (
    Bound,
    Dimension,
    date_spans,
    parse_number,
    read_quantities,
    to_chinese_numeral,
)

ABOUT, ABOVE, BELOW = Bound.ABOUT, Bound.ABOVE, Bound.BELOW

# (text, [(value, unit, bound), ...]); a row with [] is text that holds no figure
FIGURES = [
    # Arabic numbers
    ("1,234.5", [(1234.5, None, None)]),
    ("共 1 234 个", [(1234, "count", None)]),
    ("3 5", [(3, None, None), (5, None, None)]),
    ("12.5", [(12.5, None, None)]),
    ("变化 -3.2%", [(-3.2, "percent", None)]),
    ("变化 −3.2", [(-3.2, None, None)]),
    ("１２．５亩", [(12.5, "mu", None)]),
    ("１，２００", [(1200, None, None)]),
    ("分别为120，350亩", [(120, None, None), (350, "mu", None)]),  # a Chinese comma between figures
    ("103.12345, 30.54321", [(103.12345, None, None), (30.54321, None, None)]),
    ("30-50亩", [(30, None, None), (50, "mu", None)]),
    # Chinese numerals
    ("一千二百", [(1200, None, None)]),
    ("十二点五公顷", [(12.5, "ha", None)]),
    ("两百", [(200, None, None)]),
    ("五百亩", [(500, "mu", None)]),
    ("三十", [(30, None, None)]),
    ("一万二千平方米", [(12000, "m2", None)]),
    ("零点五", [(0.5, None, None)]),
    ("一千二百零五亩", [(1205, "mu", None)]),
    # mixed
    ("1.2万亩", [(12000, "mu", None)]),
    ("3千", [(3000, None, None)]),
    ("2.5亿平方米", [(2.5e8, "m2", None)]),
    ("五十多万亩", [(500000, "mu", ABOVE)]),
    # approximation and bound words
    ("约五百亩", [(500, "mu", ABOUT)]),
    ("五百亩左右", [(500, "mu", ABOUT)]),
    ("近五百亩", [(500, "mu", BELOW)]),
    ("超过500亩", [(500, "mu", ABOVE)]),
    ("五百多亩", [(500, "mu", ABOVE)]),
    ("500余亩", [(500, "mu", ABOVE)]),
    ("不超过20公顷", [(20, "ha", BELOW)]),
    ("约五百多亩", [(500, "mu", ABOVE)]), ("约500亩以上", [(500, "mu", ABOVE)]),  # a direction wins over "about"
    ("约12.5公顷左右", [(12.5, "ha", ABOUT)]),
    ("不少于20公顷", [(20, "ha", ABOVE)]),
    ("30公顷以上", [(30, "ha", ABOVE)]),
    ("about 30 ha", [(30, "ha", ABOUT)]),
    ("more than 12 patches", [(12, "count", ABOVE)]),
    ("nearly 5 km²", [(5, "km2", BELOW)]),
    ("~40%", [(40, "percent", ABOUT)]),
    ("less than 3 km", [(3, "km", BELOW)]),
    # percentages and percentage points
    ("35%", [(35, "percent", None)]),
    ("35 ％", [(35, "percent", None)]),
    ("百分之三十", [(30, "percent", None)]),
    ("约三成", [(30, "percent", ABOUT)]),
    ("三成五", [(35, "percent", None)]),
    ("12 percent", [(12, "percent", None)]),
    ("12 per cent", [(12, "percent", None)]),
    ("上升了5 个百分点", [(5, "pp", None)]),
    ("三个百分点", [(3, "pp", None)]),
    ("5 percentage points", [(5, "pp", None)]),
    # area units
    ("3平方公里", [(3, "km2", None)]), ("3平方千米", [(3, "km2", None)]), ("3 km²", [(3, "km2", None)]),
    ("3 km2", [(3, "km2", None)]), ("3㎢", [(3, "km2", None)]), ("3 sq km", [(3, "km2", None)]),
    ("3 sq. km", [(3, "km2", None)]), ("3 square kilometres", [(3, "km2", None)]),
    ("3 square kilometer", [(3, "km2", None)]), ("40㎡", [(40, "m2", None)]), ("40 m²", [(40, "m2", None)]),
    ("40 m2", [(40, "m2", None)]), ("40平方米", [(40, "m2", None)]), ("40 square metres", [(40, "m2", None)]),
    ("40 square meters", [(40, "m2", None)]), ("2 hectares", [(2, "ha", None)]), ("2 hectare", [(2, "ha", None)]),
    ("2ha", [(2, "ha", None)]), ("2 mu", [(2, "mu", None)]), ("2公顷", [(2, "ha", None)]),
    # Latin units end at a word's end
    ("5 hats", [(5, None, None)]), ("5 more", [(5, None, None)]), ("2 must go", [(2, None, None)]),
    # length units (平方米 and 平方公里 are areas: the longest unit wins)
    ("3米", [(3, "m", None)]), ("3公里", [(3, "km", None)]), ("3千米", [(3, "km", None)]),
    ("3厘米", [(3, "cm", None)]), ("3毫米", [(3, "mm", None)]), ("10 m resolution", [(10, "m", None)]),
    ("5km", [(5, "km", None)]), ("5 cm", [(5, "cm", None)]), ("5 mm", [(5, "mm", None)]),
    ("5 metres", [(5, "m", None)]), ("5 meters", [(5, "m", None)]), ("5 kilometres", [(5, "km", None)]),
    ("5 kilometers", [(5, "km", None)]), ("三千米", [(3000, "m", None)]),
    # counts with measure words
    ("7个图斑", [(7, "count", None)]), ("7图斑", [(7, "count", None)]), ("3处", [(3, "count", None)]),
    ("两块", [(2, "count", None)]), ("5宗", [(5, "count", None)]), ("十二个", [(12, "count", None)]),
    ("新增一处", [(1, "count", None)]), ("一个图斑", [(1, "count", None)]), ("十多个", [(10, "count", ABOVE)]),
    ("4 patches", [(4, "count", None)]), ("3 sites", [(3, "count", None)]), ("2 places", [(2, "count", None)]),
    ("6 polygons", [(6, "count", None)]), ("8 parcels", [(8, "count", None)]), ("9 buildings", [(9, "count", None)]),
    # dates, years, quarters: no figures
    ("第二季度", []), ("二季度", []), ("二〇二四年", []), ("2024年第二季度", []), ("2023–2024年", []),
    ("2023-2024年", []), ("2023至2024年", []), ("2024-05-01", []), ("2024/5/1", []), ("2024年5月1日", []),
    ("5月", []), ("五月", []), ("1日", []), ("Q2", []), ("2024Q2", []), ("上半年", []), ("近3年", []),
    ("in 2023", []), ("from 2019 to 2024", []), ("May 1, 2024", []), ("3个月", []),
    ("2024年5月新增500亩", [(500, "mu", None)]),
    ("In 2023, 120 ha were lost", [(120, "ha", None)]),
    ("increased to 2000 ha", [(2000, "ha", None)]),  # a year-like number with a unit is a figure
    # identifiers: no figures
    ("B4", []), ("B8A", []), ("Landsat 8", []), ("Landsat 8影像", []), ("Sentinel-2", []), ("EPSG:32649", []),
    ("使用EPSG:4326坐标", []), ("x2", []), ("Qwen2.5", []), ("Qwen2.5-VL", []), ("1008×1008", []),
    ("3D", []), ("v1.2.3", []), ("1. 耕地\n2) 林地\n3、水体", []), ("（1）耕地", []),
    ("1. 耕地减少500亩", [(500, "mu", None)]),
    # prose without figures
    ("一些", []), ("一起", []), ("一般", []), ("统一", []), ("唯一", []), ("一致", []), ("进一步", []),
    ("一旦", []), ("第一", []), ("之一", []), ("一下", []), ("万一", []), ("千万不要", []), ("第3个图斑", []),
    ("最大的一处面积", []), ("其中一处", []),
    ("这是一个问题", []), ("一片农田", []), ("统一处理", []), ("一成不变", []), ("数百亩", []), ("二十几亩", []),
    ("三四个", []), ("十分明显", []), ("一点点", []), ("百分比", []), ("十二五规划", []), ("零星分布", []),
    ("the county has no data", []), ("more or less the same", []),
]


def _spec(text: str) -> list[tuple[float, str | None, Bound | None]]:
    return [(q.value, q.unit, q.bound) for q in read_quantities(text)]


@pytest.mark.parametrize("text, expected", FIGURES)
def test_figures(text: str, expected: list[tuple[float, str | None, Bound | None]]) -> None:
    assert _spec(text) == [(float(v), u, b) for v, u, b in expected]


@pytest.mark.parametrize("text, qualified", [
    ("约五百亩", "约五百亩"), ("五百亩左右", "五百亩左右"), ("about 30 ha", "about 30 ha"),
    ("新增五百多亩耕地", "五百多亩"), ("面积超过 500 亩。", "超过 500 亩"), ("共7个图斑", "7个图斑"),
])
def test_text_includes_qualifier_and_unit(text: str, qualified: str) -> None:
    (q,) = read_quantities(text)
    assert q.text == qualified
    assert q.approximate is (q.bound is not None)


@pytest.mark.parametrize("text, step", [
    ("12.5", 0.1), ("12.50", 0.01), ("500", 100), ("120", 10), ("7", 1), ("0", 1), ("1,200", 100),
    ("1.2万", 1000), ("五百", 100), ("一千二百", 100), ("一千二百零五", 1), ("十二点五", 0.1), ("3千", 1000),
    ("三十", 10), ("十亩", 10), ("两万亩", 10000), ("三成", 10), ("三成五", 1), ("百分之三十", 10),
])
def test_step(text: str, step: float) -> None:
    (q,) = read_quantities(text)
    assert q.step == pytest.approx(step)


@pytest.mark.parametrize("text, dimension, base_value", [
    ("1.2万亩", Dimension.AREA, 12000 * AreaUnit.MU.m2), ("5 km²", Dimension.AREA, 5e6),
    ("2公顷", Dimension.AREA, 2e4), ("三千米", Dimension.LENGTH, 3000), ("3千米", Dimension.LENGTH, 3000),
    ("5 cm", Dimension.LENGTH, 0.05), ("35%", Dimension.PERCENT, 35), ("5 个百分点", Dimension.POINTS, 5),
    ("7个图斑", Dimension.COUNT, 7), ("42", None, 42),
])
def test_dimension_and_base_value(text: str, dimension: Dimension | None, base_value: float) -> None:
    (q,) = read_quantities(text)
    assert q.dimension is dimension
    assert q.base_value == pytest.approx(base_value)
    assert q.is_count is (dimension is Dimension.COUNT)


@pytest.mark.parametrize("text", [text for text, expected in FIGURES if expected] + [
    "2024年第二季度新增约五百亩，占3.5%；in 2023 about 30 ha，共7个图斑。",
])
def test_text_is_the_source_span(text: str) -> None:
    found = read_quantities(text)
    assert found
    for q in found:
        assert q.text == text[q.start:q.end]
    assert [q.start for q in found] == sorted(q.start for q in found)


@pytest.mark.parametrize("text, value", [
    ("一千二百", 1200), ("十二点五", 12.5), ("两百", 200), ("二〇二四", 2024), ("一万零五", 10005), ("三亿", 3e8),
    ("1.2万", 12000), ("3千", 3000), ("2.5亿", 2.5e8), ("1,234.5", 1234.5), ("1 234", 1234), ("１，２００", 1200),
    ("１２．５", 12.5), ("−3.2", -3.2), ("一万二", 12000), ("三千五", 3500), ("一千零五十", 1050), ("零", 0),
    ("3 5", None), ("一些", None), ("万一", None), ("", None), ("abc", None), ("一二百", None), ("百千", None),
])
def test_parse_number(text: str, value: float | None) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text, spans", [
    ("2023–2024年", ["2023–2024年"]), ("2024年5月1日", ["2024年", "5月", "1日"]), ("2024Q2", ["2024Q2"]),
    ("in 2023", ["2023"]), ("from 2019 to 2024", ["2019 to 2024"]), ("EPSG:4326", ["EPSG:4326"]),
    ("第二季度", ["第二季度"]), ("500亩", []),
])
def test_date_spans(text: str, spans: list[str]) -> None:
    assert [text[s:e] for s, e in date_spans(text)] == spans


@pytest.mark.parametrize("value, text", [
    (0, "零"), (7, "七"), (10, "十"), (15, "十五"), (110, "一百一十"), (1205, "一千二百零五"), (20000, "二万"),
    (10005, "一万零五"), (100000, "十万"), (100000000, "一亿"), (100050000, "一亿零五万"),
])
def test_to_chinese_numeral(value: int, text: str) -> None:
    assert to_chinese_numeral(value) == text


@pytest.mark.parametrize("value", [-1, 10**12])
def test_to_chinese_numeral_out_of_range(value: int) -> None:
    with pytest.raises(ValueError, match="10\\*\\*12"):
        to_chinese_numeral(value)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_chinese_integer_round_trip(n: int) -> None:
    written = to_chinese_numeral(n)
    assert parse_number(written) == n
    (q,) = read_quantities(written + "亩")
    assert (q.value, q.unit, q.text) == (n, "mu", written + "亩")


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**12 - 1), st.text(alphabet="0123456789", min_size=1, max_size=3))
def test_chinese_decimal_round_trip(n: int, decimals: str) -> None:
    written = to_chinese_numeral(n) + "点" + "".join("零一二三四五六七八九"[int(d)] for d in decimals)
    expected = float(f"{n}.{decimals}")
    assert math.isclose(parse_number(written), expected, rel_tol=1e-9)
    (q,) = read_quantities(written + "公顷")
    assert math.isclose(q.value, expected, rel_tol=1e-9)
    assert q.step == pytest.approx(10.0 ** -len(decimals))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises(text: str) -> None:
    for q in read_quantities(text):
        assert q.text == text[q.start:q.end]
    assert all(s < e for s, e in date_spans(text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789０１２.,， -−约近多余左右亩个点万千百十一二两三五零〇年月第%ha mB", max_size=40))
def test_spans_hold_on_number_like_text(text: str) -> None:
    found = read_quantities(text)
    for q in found:
        assert q.text == text[q.start:q.end]
        assert math.isfinite(q.value) and q.step > 0
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))


@pytest.mark.parametrize("text", ["一" * 20000, "1 " * 10000, "2024年" * 3000, "约" * 10000 + "5", "一亩" * 10000])
def test_long_hostile_text_is_read_in_linear_time(text: str) -> None:
    started = time.perf_counter()
    read_quantities(text)
    assert time.perf_counter() - started < 5.0  # a quadratic scan took over 20 s on 20 000 numerals
