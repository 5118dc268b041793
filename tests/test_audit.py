"""The numbers audit: every figure of an answer, in any form, is checked against the measured facts.

The table holds answers in Chinese and English, half of them with invented
figures (in Arabic digits, Chinese numerals, mixed forms like 1.2万亩, with
approximation words, as counts and percentages). Every invented figure must be
caught and no true one flagged. The facts are a real ``Facts`` record, built
here with round numbers so that each answer's figures can be checked by eye:
in 1 亩 = 666.67 m², so 500 亩 = 33.33 公顷 = 333,333 m².
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.analysis.areas import M2_PER_MU
from engine.analysis.facts import ClassArea, DateFacts, Facts, TransitionFact
from engine.answer.audit import Verdict, audit

REPO = Path(__file__).resolve().parents[1]
D1, D2 = "2023-05-01", "2024-05-01"
VALID_M2 = 3_000_000.0


def _date(date: str, areas: dict[str, float]) -> DateFacts:
    return DateFacts(date=date, layer=f"S2_{date}.tif", sensor="sentinel2",
                     classes={k: ClassArea(v, v / VALID_M2) for k, v in areas.items()}, valid_fraction=1.0,
                     valid_area_m2=VALID_M2, invalid_area_m2=0.0, thresholds={}, method="rules", indices={})


def make_facts() -> Facts:
    mu = M2_PER_MU
    gain = 500 * mu  # cropland and grassland -> built-up: 500 亩 in 7 patches
    facts = Facts(
        dates=[D1, D2], crs="EPSG:32648", pixel_size=(10.0, 10.0),
        extent={"xmin": 0.0, "ymin": 0.0, "xmax": 1.0, "ymax": 1.0, "crs": "EPSG:32648"}, area_m2=VALID_M2,
        per_date=[
            _date(D1, {"water": 300_000.0, "built_up": 500_000.0, "bare": 100_000.0,
                       "cropland_grassland": 1_200_000.0, "forest": 900_000.0}),
            _date(D2, {"water": 300_000.0, "built_up": 500_000.0 + gain, "bare": 80_000.0,
                       "cropland_grassland": 1_200_000.0 - gain + 100 * mu, "forest": 900_000.0 - 70 * mu}),
        ],
        transitions=[TransitionFact("cropland_grassland", "built_up", gain, D1, D2, 7),
                     TransitionFact("bare", "cropland_grassland", 100 * mu, D1, D2, 3),
                     TransitionFact("forest", "bare", 70 * mu, D1, D2, 2)],
        mmu_m2=5000.0, findings_count=12,
        zones=[{"name": "基本农田A", "kind": "farmland", "outside": False, "area_in_extent_m2": 200_000.0,
                "transitions": [{"from": "cropland_grassland", "to": "built_up", "area_m2": 20_000.0}],
                "violations": [{"kind": "built_up_gain", "class_from": "cropland_grassland", "class_to": "built_up",
                                "area_m2": 20_000.0, "area_mu": 30.0, "area_ha": 2.0,
                                "centroid_lon": 102.12345, "centroid_lat": 36.54321}]}],
    )
    facts.net_change = {"cropland_grassland": -400 * mu, "built_up": gain, "bare": -20_000.0, "forest": -70 * mu}
    return facts


FACTS = make_facts().to_dict()

TRUE = [
    "2023至2024年新增建设用地500亩。",
    "新增建设用地约五百亩。",
    "新增建设用地33.33公顷，共7个图斑。",
    "耕地和草地净减少400亩。",
    "水体面积三十公顷，两期没有变化。",
    "建设用地占比由16.7%上升到27.8%。",
    "林地减少70亩（转为裸地），共2个图斑。",
    "基本农田A内耕地和草地变为建设用地30亩（2公顷），位置约102.12345, 36.54321。",
    "2024年第二季度林地面积为1280亩。",
    "二〇二四年建设用地面积1250亩，比2023年增加66.7%。",
    "New built-up land: 33.3 ha in 7 patches.",
    "Water covers 0.3 km² on both dates.",
    "Cropland and grassland lost 500 mu to built-up land.",
    "Built-up land grew by 66.7% between 2023 and 2024.",
    "共发现12个变化图斑，均不小于最小制图单元0.5公顷。",
    "林地面积约八十五公顷。",
    "新增耕地和草地100亩，来自裸地。",
    "The farmland zone shows 2 ha of new built-up land near 102.12345, 36.54321.",
    "建设用地增加了333,333平方米。",
    "建设用地净增五百亩左右，耕地和草地占比下降8.9个百分点。",
    "The analysed area is 3 km², all of it valid (100%).",
    "新增建设用地五百多亩。",
]
INVENTED = [  # (answer, the invented figures as written)
    ("新增建设用地约六百亩。", ["约六百亩"]),
    ("新增建设用地三十公顷。", ["三十公顷"]),  # 30 公顷 is the water, not the new built-up land
    ("林地减少两百亩。", ["两百亩"]),
    ("耕地和草地共1.2万亩。", ["1.2万亩"]),
    ("共有9个图斑。", ["9个图斑"]),
    ("新增建设用地45公顷，共7个图斑。", ["45公顷"]),
    ("水体面积减少了5%。", ["5%"]),
    ("建设用地占比上升到35%。", ["35%"]),
    ("Built-up land grew by 45 ha.", ["45 ha"]),
    ("There are 15 patches of new built-up land.", ["15 patches"]),
    ("Forest lost 12 hectares to bare land.", ["12 hectares"]),
    ("约八百亩耕地被占用。", ["约八百亩"]),
    ("新增建设用地超过一千亩。", ["超过一千亩"]),
    ("新增建设用地六百多亩，涉及7个图斑。", ["六百多亩"]),
    ("林地减少近三百亩。", ["近三百亩"]),
    ("Bare land increased by 3 km².", ["3 km²"]),
    ("The farmland zone lost 12 mu of cropland and grassland.", ["12 mu"]),
    ("水体三十五公顷。", ["三十五公顷"]),
    ("发现十处疑似违规建设。", ["十处"]),
    ("建设用地净增1,000亩，林地占比下降10个百分点。", ["1,000亩", "10个百分点"]),
    ("新增建设用地一千八百亩，约六十公顷。", ["一千八百亩", "约六十公顷"]),
    ("2024年第二季度新增建设用地７２０亩。", ["７２０亩"]),
]


@pytest.mark.parametrize("answer", TRUE)
def test_true_figures_are_supported(answer: str) -> None:
    result = audit(answer, FACTS)
    assert result.unsupported == [], [(n.text, n.value, n.unit) for n in result.unsupported]
    assert result.checked > 0 and result.verdict is Verdict.ALL_MEASURED
    assert all(n.source for n in result.numbers)  # each figure names where in the facts it comes from


@pytest.mark.parametrize("answer, invented", INVENTED)
def test_invented_figures_are_caught(answer: str, invented: list[str]) -> None:
    result = audit(answer, FACTS)
    assert [n.text for n in result.unsupported] == invented
    assert not result.ok and result.verdict is Verdict.UNSUPPORTED


def test_the_table_is_large_and_half_invented() -> None:
    assert len(TRUE) + len(INVENTED) >= 40 and len(INVENTED) >= len(TRUE)


@pytest.mark.parametrize("answer", ["", "新增建设用地的情况请参考地图。", "2024年第二季度与二〇二三年相比有变化。",
                                    "Nothing changed between 2023 and 2024."])
def test_no_figure_is_not_all_measured(answer: str) -> None:
    result = audit(answer, FACTS)
    assert result.checked == 0 and result.verdict is Verdict.NO_FIGURES
    assert result.ok  # nothing unsupported, but the verdict does not claim the numbers were measured


def test_a_count_matches_counts_only() -> None:
    """7 patches, not the forest's 6.72 km²-like areas: a count is held to measured counts."""
    facts = {**FACTS, "classes": {D2: {"forest": {"area_m2": 7_000_000.0, "area_km2": 7.0, "fraction": 0.5}}}}
    assert audit("共有7个图斑", facts).ok  # cropland -> built-up has 7 patches
    assert not audit("共有8个图斑", {**facts, "classes": {D2: {"forest": {"area_m2": 8e6, "fraction": 0.5}}}}).ok


def test_a_figure_with_a_unit_matches_facts_of_that_kind() -> None:
    assert not audit("新增建设用地12个图斑", FACTS).ok  # 12 is a count (findings), but not of new built-up
    assert audit("共12个图斑", FACTS).ok
    assert not audit("林地占比12%", FACTS).ok  # 12 is a count, never a percentage


def test_numbers_of_the_question_are_echoes() -> None:
    result = audit("没有超过2000亩，新增建设用地500亩。", FACTS, question="新增建设用地是否超过2000亩？")
    assert result.ok and result.checked == 1
    assert result.numbers[0].source == "repeats the question"


def test_rounding_as_written_but_not_more() -> None:
    assert audit("新增建设用地33.3公顷", FACTS).ok
    assert not audit("新增建设用地33.5公顷", FACTS).ok
    assert audit("新增建设用地约33公顷", FACTS).ok
    assert not audit("新增建设用地约31公顷", FACTS).ok  # 7 % off: about is not that far


def test_to_dict_is_the_cli_contract() -> None:
    out = audit("新增建设用地500亩，约六百亩。", FACTS).to_dict()
    assert {"ok", "checked", "unsupported", "numbers", "verdict"} <= out.keys()
    assert out["ok"] is False and out["checked"] == 2 and out["unsupported"] == ["约六百亩"]
    first = out["numbers"][0]
    assert {"text", "value", "unit", "supported", "source"} <= first.keys()
    assert first["text"] == "500亩" and first["value"] == 500 and first["unit"] == "mu" and first["supported"]
    assert "transitions" in first["source"] or "built_up" in first["source"]


# -- the command line ------------------------------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", "audit", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=120)


def test_cli_audit_json_and_exit_codes(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(FACTS, ensure_ascii=False), encoding="utf-8")
    good = _cli("--facts", str(facts), "--answer", "新增建设用地500亩。", "--json")
    assert good.returncode == 0, good.stderr
    out = json.loads(good.stdout)
    assert out["ok"] and out["checked"] == 1 and out["numbers"][0]["supported"]
    draft = tmp_path / "draft.txt"
    draft.write_text("报告：新增建设用地约五百亩，其中基本农田内三十亩。另有耕地减少两百亩。", encoding="utf-8")
    bad = _cli("--facts", str(facts), "--answer-file", str(draft))
    assert bad.returncode == 1
    assert "两百亩" in bad.stdout and "五百亩" in bad.stdout  # a line per figure, supported or not
    for args in (["--facts", str(tmp_path / "missing.json"), "--answer", "1亩"],
                 ["--facts", str(draft), "--answer", "1亩"],  # not JSON
                 ["--facts", str(facts)]):  # no answer
        wrong = _cli(*args)
        assert wrong.returncode == 2 and "Traceback" not in wrong.stderr and wrong.stderr.strip(), args


def test_a_date_too_cloudy_to_measure_supports_no_figure() -> None:
    facts = make_facts()
    facts.per_date[1].measurable = False
    facts.transitions, facts.net_change = [], {}
    data = facts.to_dict()
    assert not audit("2024年建设用地1250亩。", data).ok  # that date's areas are not figures to quote
    assert not audit("新增建设用地0亩。", data).ok  # nor is a zero change that was never measured
    assert audit("2023年建设用地750亩。", data).ok


def test_the_engines_own_counts_are_supported() -> None:
    """Patches of every transition to a class added up, as the new built-up answer states them."""
    from engine.answer.analytics import answer

    facts = make_facts()
    facts.transitions.append(TransitionFact("water", "built_up", 10 * M2_PER_MU, D1, D2, 2))
    reply = answer("新增建设用地多少亩？", facts)
    assert "共9个图斑" in reply.text  # 7 from cropland and grassland, 2 from water
    assert audit(reply.text, facts.to_dict()).verdict is Verdict.ALL_MEASURED
    assert not audit("新增建设用地共10个图斑", facts.to_dict()).ok


@pytest.mark.parametrize("language, question", [("zh", "新增建设用地多少亩？"), ("en", "How much new built-up land?")])
def test_a_count_after_an_aside_of_sources_belongs_to_the_clause_not_the_aside(language: str, question: str) -> None:
    """"new built-up land 1.17 ha (from cropland and grassland 0.99 ha, water 0.18 ha) in 9 patches": the classes
    named inside the parentheses do not make the count theirs."""
    from engine.answer.analytics import answer

    facts = make_facts()
    facts.transitions.append(TransitionFact("water", "built_up", 10 * M2_PER_MU, D1, D2, 2))
    reply = answer(question, facts, language=language)
    assert ("9个图斑" if language == "zh" else "9 patches") in reply.text
    assert audit(reply.text, facts.to_dict(), question).verdict is Verdict.ALL_MEASURED, reply.text
    aside = "New built-up land 34 ha (from cropland and grassland 33.3 ha, {} 0.7 ha) in {} patches."
    assert audit(aside.format("water", 9), facts.to_dict()).ok
    assert not audit(aside.format("bare land", 3), facts.to_dict()).ok  # the 3 patches that were bare land


def test_facts_from_elsewhere_never_break_the_audit() -> None:
    broken = json.loads(json.dumps(FACTS))
    broken["transitions"][0]["area_m2"] = "x"
    broken["classes"][D1]["water"]["area_m2"] = None
    broken["zones"] = ["not a zone", {"violations": [None, 3]}]
    result = audit("新增建设用地500亩", broken)
    assert [n.text for n in result.numbers] == ["500亩"]  # read and checked, whatever the facts hold


@pytest.mark.parametrize("answer, ok", [
    ("建设用地增加了333,333平方米。", True),
    ("建设用地减少了333,333平方米。", False),  # it grew: the figure is right, the direction is not
    ("耕地和草地净减少400亩。", True),
    ("耕地和草地净增加400亩。", False),
    ("Built-up land grew by 66.7%.", True),
    ("Built-up land fell by 66.7%.", False),
    ("耕地和草地占比下降8.9个百分点。", True),
    ("耕地和草地占比上升8.9个百分点。", False),
])
def test_the_direction_a_figure_is_said_to_go_is_checked(answer: str, ok: bool) -> None:
    assert audit(answer, FACTS).ok is ok


def test_an_echo_the_answer_affirms_is_checked() -> None:
    question = "新增建设用地是否超过60公顷？"
    assert not audit("新增建设用地超过60公顷。", FACTS, question).ok  # 33.33 ha was measured
    denied = audit("新增建设用地没有超过60公顷，为33.33公顷。", FACTS, question)
    assert denied.ok and denied.numbers[0].source == "repeats the question" and denied.checked == 1
