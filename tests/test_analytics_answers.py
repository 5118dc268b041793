"""The analytics-only answerer: scenario and unit routing, and answers that state measured numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shapely.geometry import box, mapping

from engine.answer.analytics import Scenario, answer, language_of, scenario_of, unit_of
from engine.analysis.areas import AreaUnit, format_area
from engine.analysis.run import ZoneSpec, analyse
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
    assert f"减少耕地{format_area(loss, AreaUnit.HA)}" in reply.text
    assert facts.dates[0] in reply.text and facts.dates[-1] in reply.text


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
