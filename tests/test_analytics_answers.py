"""The analytics-only answerer: scenario and unit routing, and answers that state measured numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shapely.geometry import box, mapping

from engine.analysis.areas import AreaUnit, format_area
from engine.analysis.run import ZoneSpec, analyse
from engine.answer.analytics import Scenario, answer, language_of, scenario_of, unit_of
from engine.synthetic import SyntheticSpec, write_scene
from engine.types import LayerSpec


@pytest.mark.parametrize(("question", "scenario"), [
    ("2024年第二季度新增耕地面积是多少？", Scenario.CROPLAND_CHANGE),
    ("本季度耕地面积变化情况？", Scenario.CROPLAND_CHANGE),
    ("最近一个月是否存在疑似违规建设？", Scenario.ILLEGAL_CONSTRUCTION),
    ("疑似违规建设的分布区域？", Scenario.ILLEGAL_CONSTRUCTION),
    ("自然保护区边界是否被侵占？", Scenario.ENCROACHMENT),
    ("保护区边界是否被占用？", Scenario.ENCROACHMENT),
    ("2023–2024年土地利用结构变化趋势？", Scenario.STRUCTURE_TREND),
    ("近一年土地利用结构趋势？", Scenario.STRUCTURE_TREND),
    ("How much new cropland was there in 2024?", Scenario.CROPLAND_CHANGE),
    ("新增建设用地多少公顷？", Scenario.NEW_BUILT_UP),
    ("How much new built-up land appeared?", Scenario.NEW_BUILT_UP),
    ("Is there suspected illegal construction?", Scenario.ILLEGAL_CONSTRUCTION),
    ("Has the nature reserve boundary been encroached?", Scenario.ENCROACHMENT),
    ("What is the land-use structure trend?", Scenario.STRUCTURE_TREND),
    ("这幅影像里有什么？", Scenario.GENERIC),
])
def test_scenario_routing(question: str, scenario: Scenario) -> None:
    assert scenario_of(question) is scenario


@pytest.mark.parametrize(("question", "unit"), [
    ("新增耕地多少公顷？", AreaUnit.HA),
    ("新增耕地多少亩？", AreaUnit.MU),
    ("新增耕地多少平方公里？", AreaUnit.KM2),
    ("How much new cropland in hectares?", AreaUnit.HA),  # "much" is not "mu"
    ("How much new cropland?", AreaUnit.HA),
    ("area in km2?", AreaUnit.KM2),
    ("新增耕地面积是多少？", AreaUnit.MU),
])
def test_unit_from_question(question: str, unit: AreaUnit) -> None:
    assert unit_of(question, None, language_of(question)) is unit


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("answer")
    scene = write_scene(SyntheticSpec(width=320, height=256, seed=11), folder)
    zones = folder / "zones.geojson"
    zones.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {
        "name": "EPSG:32648"}}, "features": [{"type": "Feature", "properties": {"name": "基本农田一区"},
                                               "geometry": mapping(box(500000, 3997440, 503200, 4000000))}]},
        ensure_ascii=False))
    return analyse([LayerSpec(path=p) for p in scene.layers], zones=ZoneSpec(Path(zones)))


def test_cropland_answer_states_measured_areas(result) -> None:
    facts = result.facts
    loss = sum(t.area_m2 for t in facts.transitions if t.class_from == "cropland_grassland")
    assert loss > 0
    reply = answer("2024年新增耕地面积是多少公顷？", facts)
    assert reply.language == "zh" and reply.unit is AreaUnit.HA
    assert f"减少耕地和草地{format_area(loss, AreaUnit.HA)}" in reply.text
    assert facts.dates[0] in reply.text and facts.dates[-1] in reply.text
    assert "无法区分耕地与草地" in reply.text  # a question about 耕地 gets the caveat: the class is both


def test_illegal_construction_answer_lists_each_violation(result) -> None:
    zone = result.facts.zones[0]
    assert zone["violations"]
    reply = answer("是否存在疑似违规建设？", result.facts)
    for v in zone["violations"]:
        assert format_area(v["area_m2"], AreaUnit.MU) in reply.text
        assert f"{v['area_m2']:,.0f} 平方米" in reply.text
    assert "建议实地核查" in reply.text


def test_english_trend_and_generic(result) -> None:
    reply = answer("What is the land-use structure trend?", result.facts)
    assert reply.language == "en" and reply.unit is AreaUnit.HA
    for d in result.facts.per_date:
        assert f"{d.classes['water'].fraction * 100:.1f}%" in reply.text
    assert answer("What is here?", result.facts).scenario is Scenario.GENERIC


def test_single_date_says_change_needs_two(result) -> None:
    one = analyse([LayerSpec(path=Path(result.products[0].bands[next(iter(result.products[0].bands))].path))])
    reply = answer("新增耕地面积是多少？", one.facts)
    assert "无法计算变化" in reply.text


def test_encroachment_without_zones_says_so(result) -> None:
    one = analyse([LayerSpec(path=Path(result.products[0].bands[next(iter(result.products[0].bands))].path))])
    assert "未提供保护区边界" in answer("保护区边界是否被侵占？", one.facts).text


def test_single_date_structure_is_described(result) -> None:
    one = analyse([LayerSpec(path=Path(result.products[0].bands[next(iter(result.products[0].bands))].path))])
    reply = answer("这里的土地利用结构怎样？", one.facts)
    d = one.facts.per_date[0]
    assert f"{d.classes['cropland_grassland'].fraction * 100:.1f}%" in reply.text
    assert "趋势需再加入一个日期" in reply.text


def test_new_built_up_is_answered_without_a_zone_preamble(result, tmp_path: Path) -> None:
    facts = result.facts
    gained = sum(t.area_m2 for t in facts.transitions if t.class_to == "built_up")
    patches = sum(t.patches for t in facts.transitions if t.class_to == "built_up")
    assert gained > 0
    zh = answer("新增建设用地多少公顷？", facts)
    assert zh.scenario is Scenario.NEW_BUILT_UP and zh.text.startswith(facts.dates[0])
    assert f"新增建设用地{format_area(gained, AreaUnit.HA)}" in zh.text and f"共{patches}个图斑" in zh.text
    assert "保护区" not in zh.text and "违规" not in zh.text
    en = answer("How much new built-up land appeared between the two dates?", facts)
    assert f"new built-up land {format_area(gained, AreaUnit.HA, 'en')}" in en.text and f"{patches} patches" in en.text


@pytest.mark.parametrize("question", ["新增耕地面积是多少？", "新增建设用地多少公顷？", "是否存在疑似违规建设？",
                                      "保护区边界是否被侵占？", "土地利用结构变化趋势？", "这幅影像里有什么？",
                                      "How much new built-up land?", "What is the land-use structure trend?"])
def test_every_analytics_answer_passes_the_audit(result, question: str) -> None:
    from engine.answer.audit import Verdict, audit

    reply = answer(question, result.facts)
    checked = audit(reply.text, result.facts.to_dict(), question)
    assert checked.verdict is Verdict.ALL_MEASURED, (reply.text, [n.text for n in checked.unsupported])


def test_years_the_layers_do_not_cover_are_named(result) -> None:
    reply = answer("2020年新增耕地面积是多少？", result.facts)
    assert reply.text.startswith("问题提到的2020年不在影像日期")
    assert "do not cover" in answer("How much new built-up land in 2019?", result.facts).text
    assert "不在影像日期" not in answer("2024年新增耕地面积是多少？", result.facts).text


def test_three_dates_give_an_interval_series_and_each_interval_is_described(tmp_path: Path) -> None:
    scene = write_scene(SyntheticSpec(width=128, height=128, seed=5, dates=("2022-05-01", "2023-05-01", "2024-05-01")),
                        tmp_path)
    facts = analyse([LayerSpec(path=p) for p in scene.layers]).facts
    assert [(i["date_from"], i["date_to"]) for i in facts.intervals] == [("2022-05-01", "2023-05-01"),
                                                                       ("2023-05-01", "2024-05-01")]
    built = [i["classes"]["built_up"]["change_m2"] for i in facts.intervals]
    assert sum(built) == pytest.approx(facts.per_date[-1].classes["built_up"].area_m2
                                       - facts.per_date[0].classes["built_up"].area_m2)
    reply = answer("土地利用结构变化趋势？", facts)
    assert "分期变化" in reply.text
    assert "2022-05-01至2023-05-01" in reply.text and "2023-05-01至2024-05-01" in reply.text
    assert facts.to_dict()["intervals"][0]["classes"]["water"].keys() == {"change_m2", "share_change_points"}


def test_two_layers_of_one_date_are_warned(tmp_path: Path) -> None:
    a = write_scene(SyntheticSpec(width=64, height=64, dates=("2024-05-01",), seed=1), tmp_path / "a")
    b = write_scene(SyntheticSpec(width=64, height=64, dates=("2024-05-01",), seed=2), tmp_path / "b")
    facts = analyse([LayerSpec(path=a.layers[0]), LayerSpec(path=b.layers[0])]).facts
    assert any("share the date 2024-05-01" in n for n in facts.notes)
    assert "日期相同" in answer("新增建设用地多少亩？", facts).text


def test_a_trend_never_starts_or_ends_on_an_unmeasurable_date(tmp_path: Path) -> None:
    import dataclasses

    from engine.answer.audit import Verdict, audit

    scene = write_scene(SyntheticSpec(width=128, height=128, seed=6, dates=("2022-05-01", "2023-05-01", "2024-05-01")),
                        tmp_path)
    facts = analyse([LayerSpec(path=p) for p in scene.layers]).facts
    facts.per_date[0] = dataclasses.replace(facts.per_date[0], measurable=False, valid_fraction=0.03)
    reply = answer("土地利用结构变化趋势？", facts)
    assert "2023-05-01至2024-05-01土地利用结构" in reply.text and "2022-05-01至2024-05-01土地利用结构" not in reply.text
    assert audit(reply.text, facts.to_dict(), "土地利用结构变化趋势？").verdict is Verdict.ALL_MEASURED
