"""GRPO rewards for land-use answers, with TRL's signature: ``(completions, **columns) -> list[float]``.

TRL calls each reward with the batch's completions and every dataset column
as a keyword (``question``, ``answer``, ``question_type``, ``facts``...). Each
function here is pure, returns one float in [0, 1] per completion, and never
raises on model output. The seed's version of these had arguments that did
not match TRL's call, so every completion scored the same and GRPO learnt
nothing; ``tests/test_rewards.py`` keeps that from coming back.

Scoring by question type (``training.answers`` reads the answers):

- yes/no: exact after normalisation (是/有/yes, 否/没有/no);
- count: the RSVQA bin when the reference is a bin ("between 11 and 100"), else graded like a number;
  没有/none is 0;
- numeric: units normalised (m/km/米/公里, m²/km²/公顷/亩...; a bare number is in the unit the
  question names), then the seed's tolerance: relative error ≤ 2 % → 1.0, ≤ 5 % → 0.8, else
  exp(−5·err); against a reference of 0, exp(−|value| / tolerance) with an absolute tolerance
  (``ZERO_TOLERANCE``: 1 公顷, 1 point, 10 m, 1 patch). Graded credit keeps a group's near misses apart:
  GRPO learns nothing from a group whose rewards are all equal (``frac_reward_zero_std``);
- class: the one class the answer names (rural/urban or a land-cover class, in a sentence, in either
  language) against the reference's: 1 or 0, never partial credit;
- open: 0.6 × fuzzy similarity + 0.4 × BLEU.
"""

from __future__ import annotations

import collections
import difflib
import importlib
import json
import math
import re
from collections.abc import Callable, Sequence

from engine.answer.quantities import Dimension, area_unit_named
from engine.units import AreaUnit
from training.answers import (
    QuestionType,
    answer_class,
    area_bin,
    count_bin,
    first_quantity,
    is_area_bin,
    is_bin_label,
    quantities,
    yes_no,
)
from training.answers import (
    question_type as type_of_question,
)

RewardFunc = Callable[..., list[float]]
_AREA_M2 = {u.value: u.m2 for u in AreaUnit}
Completion = str | Sequence[dict]  # plain text, or a conversation: [{"role": "assistant", "content": ...}]

MAX_ANSWER_CHARS = 400  # a longer completion is not a concise answer (format_reward)
# how far from a reference of 0 one step of closeness is, per dimension (in base units: m², %, m; counts)
ZERO_TOLERANCE: dict[str | None, float] = {Dimension.AREA: 10_000.0, Dimension.PERCENT: 1.0, Dimension.LENGTH: 10.0,
                                           Dimension.COUNT: 1.0, None: 1.0}


def completion_text(completion: Completion) -> str:
    """The text of a completion, plain or conversational (content as a string or a list of parts)."""
    if isinstance(completion, str):
        return completion
    parts = []
    for message in completion or []:
        content = message.get("content", "") if isinstance(message, dict) else message
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
    return "".join(parts)


def numeric_score(predicted: float, reference: float, zero_tolerance: float | None = None) -> float:
    """The seed's tolerance: relative error ≤ 2 % → 1.0, ≤ 5 % → 0.8, otherwise exp(−5·err).

    Against a reference of 0 (no relative error exists): exp(−|predicted| / zero_tolerance), or all or
    nothing without a tolerance.

    >>> numeric_score(101, 100), numeric_score(104, 100), round(numeric_score(150, 100), 3)
    (1.0, 0.8, 0.082)
    """
    if not (math.isfinite(predicted) and math.isfinite(reference)):
        return 0.0
    if reference == 0:
        if zero_tolerance:
            return math.exp(-abs(predicted) / zero_tolerance)
        return 1.0 if predicted == 0 else 0.0
    error = abs(predicted - reference) / abs(reference)
    if error <= 0.02:
        return 1.0
    if error <= 0.05:
        return 0.8
    return math.exp(-5.0 * error)


def score_answer(predicted: str, reference: str, question: str = "", kind: QuestionType | None = None) -> float:
    """How well ``predicted`` answers like ``reference``, in [0, 1], by question type.

    >>> score_answer("12公顷", "180亩", "新增耕地面积是多少？"), score_answer("5 km", "5000 m", "How long is it?")
    (1.0, 1.0)
    """
    kind = kind or type_of_question(question)
    if not predicted.strip():
        return 0.0
    if kind is QuestionType.YES_NO:
        want, got = yes_no(reference), yes_no(predicted)
        if want is not None:
            return float(got is want)
    if kind is QuestionType.COUNT:
        return _count_score(predicted, reference)
    if kind is QuestionType.NUMERIC and is_area_bin(reference):  # RSVQA-HR: the area's bin
        got = first_quantity(predicted, "area")
        if got is not None and got.dimension == "area":
            return float(area_bin(got.base_value).replace(" ", "") == _normalise(reference).replace(" ", ""))
        return float(_normalise(predicted).replace(" ", "") == _normalise(reference).replace(" ", ""))
    if kind is QuestionType.NUMERIC:
        ref = first_quantity(reference)
        if ref is not None:
            got = first_quantity(predicted, ref.dimension)
            if got is None or (got.dimension not in (ref.dimension, None, Dimension.COUNT)):
                return 0.0
            value = got.base_value
            if got.dimension is None and ref.dimension is Dimension.AREA:  # a bare number: the question's unit
                named = area_unit_named(question) or (ref.unit if ref.unit in _AREA_M2 else None)
                value = got.value * _AREA_M2.get(named or "m2", 1.0)
            return numeric_score(value, ref.base_value, ZERO_TOLERANCE.get(ref.dimension))
    if kind is QuestionType.CLASS:
        want, have = answer_class(reference), answer_class(predicted)
        if want is not None:  # a closed set (rural or urban, a land-cover class): right or wrong, no partial credit
            return float(have == want)
        if _normalise(predicted) == _normalise(reference):
            return 1.0
    return open_score(predicted, reference)


def _count_score(predicted: str, reference: str) -> float:
    ref = first_quantity(reference)
    if ref is not None and first_quantity(predicted) is None and yes_no(predicted) is False:
        return numeric_score(0.0, ref.base_value, ZERO_TOLERANCE[Dimension.COUNT])  # "没有", "none": zero in words
    if is_bin_label(reference) and not (ref is not None and ref.base_value == 0):  # "0" reads as a count too
        got = first_quantity(predicted)
        if got is not None:
            return float(count_bin(got.base_value) == _normalise(reference))
        return float(_normalise(predicted) == _normalise(reference))
    ref, got = first_quantity(reference), first_quantity(predicted)
    if ref is None or got is None:
        return open_score(predicted, reference)
    if round(got.base_value) == round(ref.base_value):
        return 1.0
    return numeric_score(round(got.base_value), round(ref.base_value), ZERO_TOLERANCE[Dimension.COUNT])


def open_score(predicted: str, reference: str) -> float:
    """0.6 × fuzzy similarity + 0.4 × BLEU (words, or characters for Chinese)."""
    a, b = _normalise(predicted), _normalise(reference)
    if not a or not b:
        return 0.0
    fuzzy = difflib.SequenceMatcher(None, a, b).ratio()
    return min(1.0, max(0.0, 0.6 * fuzzy + 0.4 * bleu(_tokens(a), _tokens(b))))


def bleu(candidate: Sequence[str], reference: Sequence[str], max_n: int = 4) -> float:
    """Sentence BLEU with add-one smoothing of the n-gram precisions (Lin & Och 2004) and the brevity penalty."""
    if not candidate or not reference:
        return 0.0
    n_max = min(max_n, len(candidate), len(reference))
    log_sum = 0.0
    for n in range(1, n_max + 1):
        cand = collections.Counter(tuple(candidate[i:i + n]) for i in range(len(candidate) - n + 1))
        ref = collections.Counter(tuple(reference[i:i + n]) for i in range(len(reference) - n + 1))
        overlap = sum(min(c, ref[g]) for g, c in cand.items())
        total = sum(cand.values())
        log_sum += math.log((overlap + (n > 1)) / (total + (n > 1))) if overlap or n > 1 else -math.inf
    if log_sum == -math.inf:
        return 0.0
    brevity = min(1.0, math.exp(1 - len(reference) / len(candidate)))
    return brevity * math.exp(log_sum / n_max)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[\u4e00-\u9fff]|[a-z0-9.]+", text)


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[。.!！?？,，:：;；\"'“”()（）]", " ", (text or "").lower())).strip()


# -- the rewards TRL calls --------------------------------------------------------------------------
def accuracy_reward(completions: Sequence[Completion], question: Sequence[str], answer: Sequence[str],
                    question_type: Sequence[str | None] | None = None, **kwargs: object) -> list[float]:
    """Agreement of each completion with the row's reference ``answer``, scored by question type.

    >>> accuracy_reward(["是", "否"], question=["是否有水体？"] * 2, answer=["是"] * 2)
    [1.0, 0.0]
    """
    types = list(question_type) if question_type is not None else [None] * len(completions)
    scores = []
    for completion, q, ref, kind in zip(completions, question, answer, types, strict=False):
        try:
            scores.append(_unit(score_answer(completion_text(completion), str(ref), str(q),
                                             QuestionType.parse(kind))))
        except (ValueError, TypeError, OverflowError, ArithmeticError):  # odd model output scores 0, never raises
            scores.append(0.0)
    return scores + [0.0] * (len(completions) - len(scores))


def exact_match_reward(completions: Sequence[Completion], answer: Sequence[str], **kwargs: object) -> list[float]:
    """1.0 for the reference answer itself (as ``training.evaluate`` scores accuracy), else 0.0: no graded credit.

    >>> exact_match_reward(["40%", "30%"], answer=["40 %"] * 2)
    [1.0, 0.0]
    """
    from training.evaluation.majority import exact_match

    scores = [exact_match(completion_text(c), str(ref)) for c, ref in zip(completions, answer, strict=False)]
    return scores + [0.0] * (len(completions) - len(scores))


def format_reward(completions: Sequence[Completion], question: Sequence[str] | None = None,
                  question_type: Sequence[str | None] | None = None, **kwargs: object) -> list[float]:
    """A concise answer of the question's form: a yes/no word, a number, or a short text (1.0, 0.5 or 0.0).

    >>> format_reward(["是", "It depends", ""], question=["是否有水体？"] * 3)
    [1.0, 0.5, 0.0]
    """
    questions = list(question) if question is not None else [""] * len(completions)
    kinds = list(question_type) if question_type is not None else [None] * len(completions)
    scores = []
    for completion, q, row_kind in zip(completions, questions + [""] * (len(completions) - len(questions)),
                                       kinds + [None] * (len(completions) - len(kinds)), strict=False):
        text = completion_text(completion).strip()
        if not text or len(text) > MAX_ANSWER_CHARS or "<|" in text or _repeats(text):
            scores.append(0.0)
            continue
        kind = QuestionType.parse(row_kind) or type_of_question(str(q))
        if kind is QuestionType.YES_NO:
            scores.append(1.0 if yes_no(text) is not None else 0.5)
        elif kind in (QuestionType.COUNT, QuestionType.NUMERIC):
            scores.append(1.0 if quantities(text) else 0.5)
        else:
            scores.append(1.0)
    return scores


def grounding_reward(completions: Sequence[Completion], facts: Sequence[object] | None = None,
                     question: Sequence[str] | None = None, **kwargs: object) -> list[float]:
    """The share of the completion's numbers that the row's measured ``facts`` support (1.0 when it has none).

    Uses the engine's numbers audit, so training rewards what inference checks.
    """
    from engine.answer.audit import audit

    rows = list(facts) if facts is not None else [None] * len(completions)
    questions = list(question) if question is not None else [""] * len(completions)
    scores = []
    for completion, row_facts, q in zip(completions, rows, questions, strict=False):
        if isinstance(row_facts, str) and row_facts.strip():  # datasets hold the facts as JSON text
            try:
                row_facts = json.loads(row_facts)
            except ValueError:
                row_facts = None
        if not isinstance(row_facts, dict):
            scores.append(1.0)  # nothing measured to hold the numbers to
            continue
        try:
            found = audit(completion_text(completion), row_facts, str(q or ""))
        except (ValueError, TypeError, KeyError, ArithmeticError):
            scores.append(0.0)
            continue
        scores.append(1.0 if not found.numbers else
                      sum(n.supported for n in found.numbers) / len(found.numbers))
    return scores + [1.0] * (len(completions) - len(scores))


def _repeats(text: str, times: int = 6) -> bool:
    """A degenerate completion: one short piece repeated many times in a row."""
    return bool(re.search(r"(.{1,8}?)\1{" + str(times - 1) + ",}", text))


def _unit(value: float) -> float:
    return min(1.0, max(0.0, float(value))) if math.isfinite(value) else 0.0


def load_reward_funcs(spec: str | Sequence[str]) -> list[RewardFunc]:
    """Rewards by dotted path, "training.rewards:accuracy_reward,mypkg.mod:my_reward" (a list works too)."""
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    funcs = []
    for name in names:
        module_name, _, attr = name.partition(":")
        if not attr:
            raise ValueError(f"reward {name!r}: write it as module.path:function, e.g. training.rewards:format_reward")
        try:
            func = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"reward {name!r} cannot be loaded: {exc}") from None
        if not callable(func):
            raise ValueError(f"reward {name!r} is not a function")
        funcs.append(func)
    return funcs
