"""The MMDU-style judge: parsing of valid, malformed and truncated replies, bounded retries against a stub
server, failures counted, and both aggregations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from training.evaluation.judge import DIMENSIONS, Judged, OpenAIJudge, Scores, aggregate, parse_scores

FULL = ('{"Creativity": 6, "Richness": 7, "Visual Perception": 8, "Logical Coherence": 8, "Answer Accuracy": 7, '
        '"Image Relationship Understanding": 6, "Overall Score": 7}')


@pytest.mark.parametrize("reply, dims, overall", [
    (FULL, 6, 7.0),
    ("Here is my judgement:\n```json\n" + FULL + "\n```", 6, 7.0),
    ("{'Creativity': 5, 'Richness': 6, 'Overall Score': 6}", 2, 6.0),  # a Python literal, read without eval
    ("Creativity: 4\nRichness: 5\n**Answer Accuracy**: 9\nOverall Score: 8", 3, 8.0),
    ("{'Creativity': 5, 'Overall Score': 11}", 1, None),  # 11 is off the scale
    ("{'Creativity': 'high', 'Overall Score': 7}", 0, 7.0),
])
def test_replies_that_hold_scores(reply: str, dims: int, overall: float | None) -> None:
    scores = parse_scores(reply)
    assert scores is not None and len(scores.dimensions) == dims and scores.overall == overall
    assert set(scores.dimensions) <= set(DIMENSIONS)


@pytest.mark.parametrize("reply", [
    "", "I cannot judge this.", '{"Creativity": 6, "Richn', "{'Creativity': __import__('os').system('x')}",
    "{'Overall Score': 0}", "[1, 2, 3]",
])
def test_replies_without_a_valid_score(reply: str) -> None:
    assert parse_scores(reply) is None


@given(st.text(max_size=300))
def test_any_reply_parses_without_raising(text: str) -> None:
    scores = parse_scores(text)
    assert scores is None or all(1 <= v <= 10 for v in scores.dimensions.values())


def test_the_judge_retries_malformed_replies_and_counts_failures(openai_stub) -> None:
    url, queue, calls = openai_stub
    judge = OpenAIJudge(url, "judge-model", max_attempts=3, retry_wait_s=0.0)
    queue += ['{"Creativity": 6, "Richn', 500, FULL]  # truncated, then a server error, then valid
    first = judge.judge("q", "ref", "ans")
    assert first.scores is not None and first.attempts == 3 and first.scores.overall == 7.0
    queue += ["no scores here"] * 3
    second = judge.judge("q", "ref", "ans")
    assert second.scores is None and second.attempts == 3 and "no valid score" in second.error
    assert len(calls) == 6  # bounded: three tries each
    report = aggregate([first, second])
    assert (report.judged, report.failed) == (1, 1)


def test_both_aggregations_are_computed_as_labelled() -> None:
    a = Judged(Scores({"creativity": 4.0, "richness": 6.0}, 8.0), 1)
    b = Judged(Scores({"creativity": 2.0}, None), 1)
    c = Judged(None, 3, "no valid score")
    report = aggregate([a, b, c])
    assert report.mmdu_score == pytest.approx(80.0)  # mean overall (8) x 10; b has no overall
    # seed: per answer (valid dims + 6 x overall) / (n + 6): a = (10 + 48) / 8 = 7.25, b = 2 / 1 = 2
    assert report.seed_score == pytest.approx((7.25 + 2.0) / 2)
    assert report.per_dimension["creativity"] == pytest.approx(3.0) and report.failed == 1
