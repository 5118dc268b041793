"""MMDU-style evaluation: multi-image, multi-turn dialogues answered turn by turn, each turn judged.

The dialogue file is MMDU's ``benchmark.json`` layout (LLaVA-style rows: ``image`` list,
``conversations`` of user/assistant turns with ``<ImageHere>`` placeholders), read and checked by
``training.data``. The model answers each question with the dialogue so far, its own earlier
answers included, and sees the images placed where the placeholders are. Every turn is scored by
the judge (``training.evaluation.judge``); a turn the judge cannot score is counted as failed.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from training.data import PLACEHOLDER, Row, content_parts
from training.evaluation.judge import Judged, Scores, aggregate

log = logging.getLogger(__name__)


def turns_of(row: Row) -> list[tuple[str, str, int]]:
    """(question, reference answer, images used up to and including this question) per user turn."""
    out, seen = [], 0
    for k in range(0, len(row.turns), 2):
        seen += len(PLACEHOLDER.findall(row.turns[k].text))
        out.append((row.turns[k].text, row.turns[k + 1].text, seen))
    return out


def messages_for(row: Row, upto: int, answers: list[str]) -> list[dict]:
    """The conversation up to user turn ``upto``, with the model's own earlier answers."""
    messages = []
    for k in range(upto + 1):
        messages.append({"role": "user", "content": content_parts(row.turns[2 * k].text)})
        if k < upto:
            messages.append({"role": "assistant", "content": [{"type": "text", "text": answers[k]}]})
    return messages


def evaluate_dialogues(rows: list[Row], answerer, judge, out: Path, progress: bool = True) -> dict[str, object]:
    """Answer and judge every turn, resuming from ``out/dialogues.json``; returns the summary."""
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    path = out / "dialogues.json"
    done = {(i["dialogue"], i["turn"]): i for i in json.loads(path.read_text(encoding="utf-8"))["items"]} \
        if path.exists() else {}
    items: list[dict] = []
    total = sum(len(r.turns) // 2 for r in rows)
    bar = tqdm(total=total, desc="dialogue turns", unit="turn", disable=not progress)
    for row in rows:
        answers: list[str] = []
        for k, (question, reference, n_images) in enumerate(turns_of(row)):
            key = (row.id, k)
            if key in done:
                item = done[key]
            else:
                try:
                    prediction, error = answerer.chat(messages_for(row, k, answers), list(row.images[:n_images])), None
                except (OSError, ValueError) as exc:
                    prediction, error = "", f"{type(exc).__name__}: {exc}"
                verdict = judge.judge(PLACEHOLDER.sub("", question).strip(), reference, prediction) if prediction \
                    else Judged(None, 0, error or "no answer")
                item = {"dialogue": row.id, "turn": k, "question": question, "reference": reference,
                        "prediction": prediction, "answer_error": error, "attempts": verdict.attempts,
                        "judge_error": verdict.error,
                        "scores": None if verdict.scores is None else
                        {"dimensions": verdict.scores.dimensions, "overall": verdict.scores.overall}}
            answers.append(item["prediction"])
            items.append(item)
            bar.update(1)
            _write(path, items, None)
    bar.close()
    judged = [Judged(None if i["scores"] is None else Scores(i["scores"]["dimensions"], i["scores"]["overall"]),
                     i["attempts"], i["judge_error"]) for i in items]
    result = aggregate(judged)
    summary = {"dialogues": len(rows), "turns": len(items), "judged": result.judged, "failed": result.failed,
               "mmdu_score (mean overall x 10)": result.mmdu_score,
               "seed_score (valid dimensions + overall x 6, averaged)": result.seed_score,
               "per_dimension": result.per_dimension}
    _write(path, items, summary)
    return summary


def _write(path: Path, items: list[dict], summary: dict | None) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"summary": summary, "items": items}, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


def report(summary: dict[str, object]) -> str:
    lines = ["## MMDU-style dialogues", "",
             f"{summary['dialogues']} dialogues, {summary['turns']} turns: {summary['judged']} judged, "
             f"{summary['failed']} failed (no answer, or no valid score after the retries; counted, not dropped).",
             "", "| aggregation | score |", "|---|---|"]
    for key in ("mmdu_score (mean overall x 10)", "seed_score (valid dimensions + overall x 6, averaged)"):
        value = summary[key]
        lines.append(f"| {key} | {'–' if value is None else f'{value:.2f}'} |")
    lines += ["", "| dimension | mean (1-10) |", "|---|---|"]
    for dim, value in summary["per_dimension"].items():
        lines.append(f"| {dim} | {'–' if value is None else f'{value:.2f}'} |")
    return "\n".join(lines) + "\n"
