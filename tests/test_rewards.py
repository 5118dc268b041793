"""Rewards and answer reading: tables of cases in Chinese and English, and properties that hold for any text."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training.answers import QuestionType, count_bin, quantities, question_type, yes_no
from training.rewards import (
    accuracy_reward,
    bleu,
    format_reward,
    grounding_reward,
    load_reward_funcs,
    numeric_score,
    score_answer,
)


@pytest.mark.parametrize("question, kind", [
    ("Is there a water area?", QuestionType.YES_NO),
    ("Are there more buildings than roads?", QuestionType.YES_NO),
    ("是否有水体？", QuestionType.YES_NO),
    ("是不是存在疑似违规建设？", QuestionType.YES_NO),
    ("有没有新增建设用地？", QuestionType.YES_NO),
    ("这里有耕地吗？", QuestionType.YES_NO),
    ("How many buildings are there?", QuestionType.COUNT),
    ("What is the number of water bodies?", QuestionType.COUNT),
    ("有几个建设用地图斑？", QuestionType.COUNT),
    ("有多少个疑似违规图斑？", QuestionType.COUNT),
    ("What is the area of cropland?", QuestionType.NUMERIC),
    ("新增耕地面积是多少？", QuestionType.NUMERIC),
    ("林地减少了多少公顷？", QuestionType.NUMERIC),
    ("水体有多少平方公里？", QuestionType.NUMERIC),
    ("What percentage of the tile is forest?", QuestionType.NUMERIC),
    ("Is the area rural or urban?", QuestionType.YES_NO),  # starts with "is": answered yes/no by grammar
    ("Rural or urban?", QuestionType.CLASS),
    ("What land cover class dominates?", QuestionType.CLASS),
    ("这里是什么地类？", QuestionType.CLASS),
    ("Describe the county's land use.", QuestionType.OPEN),  # "county" is not "count"
    ("Summarise the land use of this county in 5 m resolution terms", QuestionType.OPEN),  # a bare "m"
    ("近一年土地利用结构趋势？", QuestionType.OPEN),
])
def test_question_types(question: str, kind: QuestionType) -> None:
    assert question_type(question) is kind


@pytest.mark.parametrize("text, expected", [
    ("是", True), ("是的，有水体。", True), ("有", True), ("Yes, there is.", True), ("yes", True),
    ("否", False), ("不是", False), ("没有", False), ("No.", False), ("no water", False), ("不存在", False),
    ("不", False), ("不知道", None), ("maybe", None), ("", None), ("Nothing is clear", None),
])
def test_yes_no(text: str, expected: bool | None) -> None:
    assert yes_no(text) is expected


@pytest.mark.parametrize("text, value, dimension", [
    ("12公顷", 120000.0, "area"), ("180亩", 120000.0, "area"), ("1.2万亩", 8_000_000.0, "area"),
    ("12,500 m²", 12500.0, "area"), ("3 km2", 3e6, "area"), ("2.5 平方公里", 2.5e6, "area"), ("5 ha", 5e4, "area"),
    ("40 mu", 40 * 10000 / 15, "area"), ("三百平方米", 300.0, "area"), ("8 ㎡", 8.0, "area"),
    ("5 km", 5000.0, "length"), ("5000 m", 5000.0, "length"), ("30米", 30.0, "length"), ("2公里", 2000.0, "length"),
    ("15 cm", 0.15, "length"), ("20 mm", 0.02, "length"),
    ("35%", 35.0, "percent"), ("百分之五", 5.0, "percent"), ("12 percent", 12.0, "percent"),
    ("7", 7.0, None), ("3 more", 3.0, None),  # "m" of "more" is no unit
])
def test_quantities_with_units(text: str, value: float, dimension: str | None) -> None:
    (q, *_) = quantities(text)
    assert math.isclose(q.base_value, value, rel_tol=1e-9) and q.dimension == dimension


@pytest.mark.parametrize("predicted, reference, question, score", [
    ("12公顷", "180亩", "新增耕地面积是多少？", 1.0),
    ("5 km", "5000 m", "What is the length of the river?", 1.0),
    ("101 ha", "100 ha", "What is the area of forest?", 1.0),  # 1 % off
    ("104 ha", "100 ha", "What is the area of forest?", 0.8),  # 4 % off
    ("100 m²", "100 ha", "What is the area of forest?", pytest.approx(math.exp(-5 * 0.9999))),
    ("5 km", "5 ha", "What is the area of forest?", 0.0),  # a length for an area
    ("约1.2万亩", "8000000 m2", "耕地面积是多少？", 1.0),
    ("是", "yes", "是否有水体？", 1.0), ("Yes", "是", "Is there water?", 1.0), ("否", "yes", "是否有水体？", 0.0),
    ("没有", "no", "Is there water?", 1.0),
    ("3", "3", "How many buildings?", 1.0), ("三个", "3", "有几个图斑？", 1.0),
    ("4", "3", "How many buildings?", pytest.approx(math.exp(-5 / 3))),  # one off: graded, not 0
    ("about 42", "between 11 and 100", "How many buildings are there?", 1.0),
    ("7", "between 11 and 100", "How many buildings are there?", 0.0),
    ("rural", "rural", "Rural or urban?", 1.0), ("Urban.", "urban", "Rural or urban?", 1.0),
    ("", "yes", "是否有水体？", 0.0),
])
def test_score_answer(predicted: str, reference: str, question: str, score: float) -> None:
    assert score_answer(predicted, reference, question) == score


def test_numeric_tolerance_bands() -> None:
    assert numeric_score(102, 100) == 1.0 and numeric_score(105, 100) == 0.8
    assert numeric_score(110, 100) == pytest.approx(math.exp(-0.5))
    assert numeric_score(0, 0) == 1.0 and numeric_score(1, 0) == 0.0 and numeric_score(math.nan, 1) == 0.0


def test_open_answers_score_by_similarity() -> None:
    reference = "cropland increased in the north of the county"
    close = score_answer("cropland increased in the north", reference, "Describe the change")
    far = score_answer("the weather was sunny", reference, "Describe the change")
    assert 0.5 < close < 1.0 and far < 0.3
    assert bleu("a b c d".split(), "a b c d".split()) == pytest.approx(1.0)


def test_rewards_vary_within_a_group_as_trl_calls_them() -> None:
    """The seed's bug: arguments TRL never passes, so every completion scored the same."""
    group = ["是", "否", "是的，有水体", "不知道"]
    kwargs = {"question": ["是否有水体？"] * 4, "answer": ["是"] * 4, "question_type": ["presence"] * 4,
              "facts": [None] * 4, "prompts": [[{"role": "user", "content": "…"}]] * 4, "trainer_state": None}
    scores = accuracy_reward(group, **kwargs)
    assert scores == [1.0, 0.0, 1.0, 0.0] and len(set(scores)) > 1
    conversational = [[{"role": "assistant", "content": c}] for c in group]
    assert accuracy_reward(conversational, **kwargs) == scores
    assert format_reward(group, **kwargs) == [1.0, 1.0, 1.0, 0.5]


def test_format_reward_refuses_degenerate_output() -> None:
    scores = format_reward(["", "哈" * 50, "x" * 1000, "<|im_end|>", "12公顷"], question=["面积是多少？"] * 5)
    assert scores == [0.0, 0.0, 0.0, 0.0, 1.0]


def test_grounding_reward_holds_numbers_to_the_facts() -> None:
    facts = {"dates": ["2023-06-01"], "classes": {"2023-06-01": {"water": {"area_m2": 120000.0, "area_mu": 180.0,
                                                                           "area_ha": 12.0, "area_km2": 0.12}}}}
    scores = grounding_reward(["水体面积为180亩。", "水体面积为999亩。", "有水体。"], facts=[facts] * 3,
                              question=["水体面积？"] * 3)
    assert scores == [1.0, 0.0, 1.0]


def test_rewards_load_by_dotted_path() -> None:
    funcs = load_reward_funcs("training.rewards:accuracy_reward, training.rewards:format_reward")
    assert [f.__name__ for f in funcs] == ["accuracy_reward", "format_reward"]
    for bad in ("training.rewards", "training.rewards:nothing_here", "no_such_module:f"):
        with pytest.raises(ValueError, match="reward"):
            load_reward_funcs(bad)


texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.sampled_from(
    ["是", "否", "12公顷", "1.2万亩", "between 1 and 10", "1e400 m", "九九九九九九九九九九九九万亿亿", "-0", "百分之"])
completions = texts | st.lists(st.fixed_dictionaries({"role": st.just("assistant"), "content": texts}), max_size=2)


@settings(max_examples=300, deadline=None)
@given(completion=completions, question=texts, answer=texts, kind=st.sampled_from([None, *QuestionType, "rural_urban"]))
def test_every_reward_is_a_float_in_0_1_for_any_input(completion, question, answer, kind) -> None:
    for scores in (accuracy_reward([completion], question=[question], answer=[answer], question_type=[kind]),
                   format_reward([completion], question=[question]),
                   grounding_reward([completion], facts=[{"dates": []}], question=[question])):
        assert len(scores) == 1 and isinstance(scores[0], float) and 0.0 <= scores[0] <= 1.0


@given(count=st.integers(min_value=0, max_value=10**6))
def test_count_bins_cover_every_count(count: int) -> None:
    label = count_bin(count)
    assert score_answer(str(count), label, "How many buildings are there?") == 1.0


def test_no_eval_in_the_training_package() -> None:
    from pathlib import Path

    for path in (Path(__file__).resolve().parents[1] / "training").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "eval(" not in text.replace("literal_eval(", "").replace(".eval(", ""), path


@pytest.mark.parametrize("predicted, reference, question, kind, score", [
    ("urban", "rural", "Is it a rural or an urban area?", "rural_urban", 0.0),  # a wrong class earns nothing
    ("It is a rural area", "rural", "Is it a rural or an urban area?", "rural_urban", 1.0),  # verbose but right
    ("这里是乡村", "乡村", "这里是城镇还是乡村？", "rural_urban", 1.0),
    ("rural", "乡村", "这里是城镇还是乡村？", "rural_urban", 1.0),  # the same answer in the other language
    ("城镇", "乡村", "这里是城镇还是乡村？", "rural_urban", 0.0),
    ("一千二百多亩", "1200亩", "新增耕地面积是多少亩？", "area", 1.0),
    ("1 200 亩", "1200亩", "新增耕地面积是多少亩？", "area", 1.0),
    ("12", "12公顷", "新增耕地多少公顷？", "area", 1.0),  # a bare number is in the unit the question names
    ("12", "12 km2", "What is the area in km2?", "area", 1.0),
    ("没有", "0", "图中有多少个新增建设用地图斑？", "count", 1.0),  # "none" is a count of 0
    ("none", "0", "How many new built-up patches are there?", "count", 1.0),
    ("没有", "3", "图中有多少个新增建设用地图斑？", "count", math.exp(-5)),  # 0 for 3: all but nothing
])
def test_reward_gaps_are_closed(predicted: str, reference: str, question: str, kind: str, score: float) -> None:
    assert score_answer(predicted, reference, question, QuestionType.parse(kind)) == pytest.approx(score)


def test_format_reward_reads_the_rows_question_type() -> None:
    """A presence row wants a yes or no, whatever the question's words suggest."""
    assert format_reward(["大约三百亩"], question=["说说这里的情况"], question_type=["presence"]) == [0.5]
    assert format_reward(["是"], question=["说说这里的情况"], question_type=["presence"]) == [1.0]
    assert format_reward(["很多"], question=["Describe it"], question_type=["count"]) == [0.5]


@pytest.mark.parametrize("predicted, reference, question, kind, score", [
    # a zero reference: closeness within an absolute tolerance (1 公顷, 1 point, 1 patch), not all-or-nothing
    ("0 亩", "0 公顷", "新增建设用地多少公顷？", "area", 1.0),
    ("15 亩", "0 公顷", "新增建设用地多少公顷？", "area", math.exp(-1)),  # 15 亩 = 1 公顷: one tolerance off
    ("150 亩", "0 公顷", "新增建设用地多少公顷？", "area", math.exp(-10)),
    ("1%", "0%", "水体占比是多少？", "percent", math.exp(-1)),
    ("2", "0", "有几个新增建设用地图斑？", "count", math.exp(-2)),
    ("5", "5", "有几个新增建设用地图斑？", "count", 1.0),
    ("6", "5", "有几个新增建设用地图斑？", "count", math.exp(-1)),  # 20 % off
])
def test_numeric_answers_get_graded_credit(predicted: str, reference: str, question: str, kind: str,
                                           score: float) -> None:
    assert score_answer(predicted, reference, question, QuestionType.parse(kind)) == pytest.approx(score)


def test_graded_credit_tells_a_groups_near_misses_apart() -> None:
    """GRPO's advantage is zero when a group's rewards are equal. A warmed model's numbers are near the
    reference but rarely on it: exact match scores the group all 0, graded credit ranks it."""
    from training.rewards import exact_match_reward

    kwargs = {"question": ["水体占比是多少？"] * 4, "answer": ["40%"] * 4, "question_type": ["percent"] * 4}
    group = ["30%", "50%", "60%", "10%"]
    assert exact_match_reward(group, **kwargs) == [0.0] * 4
    graded = accuracy_reward(group, **kwargs)
    assert len(set(graded)) == 3 and graded[0] == graded[1] > graded[2] > graded[3] > 0
    assert exact_match_reward(["40 %", "四成"], **{k: v[:2] for k, v in kwargs.items()}) == [1.0, 0.0]
