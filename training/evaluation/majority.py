"""Exact-match scoring and the majority-answer baselines, the way RSVQA papers report them.

One function computes the baselines, so the builder's ``stats.json`` and ``training.evaluate``
report the same number for the same rows. Answers are compared after a light normalisation only:
case, spaces, final punctuation, digit-group commas, and the two languages' names for one answer
(是/yes, 否/no, 城镇/urban, 乡村/rural). "1200 亩" matches "1200亩"; "约1200亩" does not.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterable

SAME_ANSWER = {"是": "yes", "否": "no", "城镇": "urban", "乡村": "rural"}
_FINAL_PUNCTUATION = "。.!！?？,，;；:："
_DIGIT_GROUP = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def canonical(answer: str) -> str:
    """The form two answers are compared in."""
    text = "".join(str(answer).split()).lower().rstrip(_FINAL_PUNCTUATION)
    text = _DIGIT_GROUP.sub("", text)
    return SAME_ANSWER.get(text, text)


def exact_match(prediction: str, reference: str) -> float:
    """1.0 when the answer is the reference (after ``canonical``), else 0.0."""
    return 1.0 if canonical(prediction) == canonical(reference) else 0.0


def majority_baselines(rows: Iterable[dict]) -> dict[str, dict[str, object]]:
    """Per question type: rows, the most common answer (languages counted together) and the share of
    rows it answers exactly, which is what always giving that answer would score."""
    by_type: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for row in rows:
        by_type[row.get("question_type") or "open"][canonical(row["answer"])] += 1
    out: dict[str, dict[str, object]] = {}
    for kind, counter in sorted(by_type.items()):
        n = sum(counter.values())
        answer, top = counter.most_common(1)[0]
        out[kind] = {"rows": n, "answers": dict(counter.most_common(10)), "majority_answer": answer,
                     "majority_accuracy": top / n}
    return out
