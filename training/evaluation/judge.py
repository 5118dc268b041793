"""MMDU-style judging: a judge model scores an answer in six dimensions and overall, each 1-10.

The judge is any OpenAI-compatible chat endpoint (a larger Qwen2.5-VL on vLLM, a hosted model).
Its reply is parsed as JSON, else as a Python literal (``ast.literal_eval``, never ``eval``),
else as "Name: score" lines; a reply that yields no valid score is asked again, a bounded number
of times, and then counted as a failure, never dropped. Two aggregations are reported, labelled:
MMDU's (mean overall × 10) and the seed's description (valid dimensions averaged with a given
overall weighted × 6).
"""

from __future__ import annotations

import ast
import json
import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from training.evaluation.openai_chat import complete

log = logging.getLogger(__name__)

DIMENSIONS = ("creativity", "richness", "visual_perception", "logical_coherence", "answer_accuracy",
              "image_relationship_understanding")
OVERALL_WEIGHT = 6  # the seed: a given overall score counts six times beside the valid dimensions
_ALIASES = {"overall_score": "overall", "image_relationship": "image_relationship_understanding"}
_LINE = re.compile(r"^\W*([A-Za-z][A-Za-z _-]{2,60}?)\s*\**\s*[:：=]\s*\**\s*(\d+(?:\.\d+)?)", re.MULTILINE)

JUDGE_PROMPT = (
    "You are an impartial judge of an assistant's answer in a conversation about remote-sensing images.\n"
    "Question: {question}\nReference answer: {reference}\nAssistant's answer: {answer}\n\n"
    "Score the assistant's answer from 1 to 10 in each of: Creativity, Richness, Visual Perception, "
    "Logical Coherence, Answer Accuracy, Image Relationship Understanding, and give an Overall Score from 1 to 10. "
    'Reply with one JSON object only, e.g. {{"Creativity": 6, "Richness": 7, "Visual Perception": 8, '
    '"Logical Coherence": 8, "Answer Accuracy": 7, "Image Relationship Understanding": 6, "Overall Score": 7}}.'
)


@dataclass(frozen=True)
class Scores:
    """One judged answer: the dimensions the judge scored (1-10) and its overall score, when given."""

    dimensions: dict[str, float]
    overall: float | None


def _key(name: str) -> str:
    key = re.sub(r"[\s-]+", "_", name.strip().lower())
    return _ALIASES.get(key, key)


def _from_mapping(mapping: object) -> Scores | None:
    if not isinstance(mapping, dict):
        return None
    dims: dict[str, float] = {}
    overall = None
    for name, value in mapping.items():
        key = _key(str(name))
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if not (math.isfinite(number) and 1 <= number <= 10):
            continue  # out of the scale: not a valid score
        if key == "overall":
            overall = number
        elif key in DIMENSIONS:
            dims[key] = number
    return Scores(dims, overall) if dims or overall is not None else None


def parse_scores(text: str) -> Scores | None:
    """The scores in a judge's reply: a JSON object, a Python dict literal, or "Name: score" lines.

    >>> parse_scores("{'Creativity': 6, 'Overall Score': 7}")
    Scores(dimensions={'creativity': 6.0}, overall=7.0)
    """
    text = text or ""
    for match in reversed(list(re.finditer(r"\{[^{}]*\}", text, re.DOTALL))):
        block = match.group(0)
        try:
            found = _from_mapping(json.loads(block))
        except ValueError:
            try:
                found = _from_mapping(ast.literal_eval(block))
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                found = None
        if found is not None:
            return found
    return _from_mapping({name: value for name, value in _LINE.findall(text)})


@dataclass
class Judged:
    """The judge's verdict on one answer: scores, or the failure after ``attempts`` tries."""

    scores: Scores | None
    attempts: int
    error: str | None = None
    raw: str = ""


class Judge:
    """Asks, parses, and asks again up to ``max_attempts`` times; subclasses say how a reply is obtained."""

    max_attempts: int = 3
    retry_wait_s: float = 1.0

    def judge(self, question: str, reference: str, answer: str) -> Judged:
        prompt = JUDGE_PROMPT.format(question=question, reference=reference, answer=answer)
        error, raw = None, ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                raw = self._complete(prompt)
            except (OSError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                scores = parse_scores(raw)
                if scores is not None:
                    return Judged(scores, attempt, raw=raw)
                error = "no valid score in the reply"
            log.info("judge attempt %d/%d failed: %s", attempt, self.max_attempts, error)
            if attempt < self.max_attempts:
                time.sleep(self.retry_wait_s * attempt)
        return Judged(None, self.max_attempts, error, raw)

    def _complete(self, prompt: str) -> str:
        raise NotImplementedError


@dataclass
class OpenAIJudge(Judge):
    """A judge behind an OpenAI-compatible ``/v1/chat/completions`` endpoint."""

    base_url: str  # e.g. http://judge-server:8000/v1
    model: str
    api_key: str | None = None
    max_attempts: int = 3
    timeout_s: float = 120.0
    retry_wait_s: float = 1.0
    max_tokens: int = 256

    def _complete(self, prompt: str) -> str:
        return complete(self.base_url, self.model, [{"role": "user", "content": prompt}], self.api_key,
                        self.max_tokens, self.timeout_s)


@dataclass
class LocalJudge(Judge):
    """A judge model loaded here (any ``Answerer`` with ``chat``, e.g. a larger Qwen2.5-VL folder)."""

    answerer: object
    max_attempts: int = 3
    retry_wait_s: float = 0.0

    def _complete(self, prompt: str) -> str:
        return self.answerer.chat([{"role": "user", "content": [{"type": "text", "text": prompt}]}], [])


@dataclass
class Aggregate:
    judged: int
    failed: int
    mmdu_score: float | None  # MMDU: mean overall score x 10 (0-100)
    seed_score: float | None  # the seed's description: valid dimensions + overall x 6, averaged (1-10)
    per_dimension: dict[str, float | None] = field(default_factory=dict)


def aggregate(results: Sequence[Judged]) -> Aggregate:
    """Both aggregations over the judged answers; failures are counted, not averaged in."""
    ok = [r.scores for r in results if r.scores is not None]
    overall = [s.overall for s in ok if s.overall is not None]
    per_item = []
    for s in ok:
        values = list(s.dimensions.values())
        weight = OVERALL_WEIGHT if s.overall is not None else 0
        if values or weight:
            per_item.append((sum(values) + weight * (s.overall or 0.0)) / (len(values) + weight))
    per_dimension = {}
    for dim in DIMENSIONS:
        values = [s.dimensions[dim] for s in ok if dim in s.dimensions]
        per_dimension[dim] = sum(values) / len(values) if values else None
    return Aggregate(judged=len(ok), failed=len(results) - len(ok),
                     mmdu_score=10 * sum(overall) / len(overall) if overall else None,
                     seed_score=sum(per_item) / len(per_item) if per_item else None, per_dimension=per_dimension)
