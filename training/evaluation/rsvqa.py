"""RSVQA-style scoring: accuracy per question type, OA and AA, majority-answer baselines, yes/no confusion.

The headline is exact match, as RSVQA papers report it (``training.evaluation.majority``). Beside it
each answer has a soft score, the reward's rule (``training.rewards.score_answer``): graded credit
for numbers within the seed's tolerance. Image-blind baselines are strong on RSVQA, so every
accuracy has the majority-answer baseline (per type, languages counted together, on the same rows)
beside it; the dataset builder's ``stats.json`` reports the same baselines.
"""

from __future__ import annotations

import collections
from pathlib import Path

from training.answers import QuestionType, yes_no
from training.evaluation.majority import exact_match, majority_baselines
from training.rewards import score_answer

FAILURE_SAMPLES = 12


def score(row: dict, prediction: str) -> float:
    return score_answer(prediction, str(row["answer"]), str(row["question"]),
                        QuestionType.parse(row.get("question_type")))


def summarise(items: list[dict]) -> dict[str, object]:
    """``items``: {"id", "question", "question_type", "language", "answer", "prediction", "score", "images"}.

    The headline OA and AA are exact match (``majority.exact_match``), as RSVQA papers report them,
    beside the majority-answer baselines of ``majority.majority_baselines``. The reward's graded
    ``score`` is reported next to them as ``soft_*``."""
    for item in items:
        item["exact"] = exact_match(str(item["prediction"]), str(item["answer"]))
    baselines = majority_baselines(items)
    by_type: dict[str, list[dict]] = collections.defaultdict(list)
    for item in items:
        by_type[item.get("question_type") or "open"].append(item)
    per_type = {}
    for kind, rows in sorted(by_type.items()):
        per_type[kind] = {"n": len(rows), "accuracy": sum(r["exact"] for r in rows) / len(rows),
                          "soft_accuracy": sum(r["score"] for r in rows) / len(rows),
                          "majority_answer": baselines[kind]["majority_answer"],
                          "majority_accuracy": baselines[kind]["majority_accuracy"]}
    n = len(items)
    confusion = {ref: {"yes": 0, "no": 0, "other": 0} for ref in ("yes", "no")}
    for item in items:
        ref = yes_no(str(item["answer"]))
        if ref is None or QuestionType.parse(item.get("question_type")) is not QuestionType.YES_NO:
            continue
        got = yes_no(str(item["prediction"]))
        confusion["yes" if ref else "no"]["other" if got is None else "yes" if got else "no"] += 1
    failures = [i for i in items if i["exact"] < 1.0][:FAILURE_SAMPLES]

    def overall(key: str) -> float | None:
        return sum(t[key] * t["n"] for t in per_type.values()) / n if n else None

    def average(key: str) -> float | None:
        return sum(t[key] for t in per_type.values()) / len(per_type) if per_type else None

    return {
        "n": n, "scoring": "exact match (soft_*: the reward's graded score)",
        "overall_accuracy": overall("accuracy"), "average_accuracy": average("accuracy"),
        "soft_overall_accuracy": overall("soft_accuracy"), "soft_average_accuracy": average("soft_accuracy"),
        "baseline_overall_accuracy": overall("majority_accuracy"),
        "baseline_average_accuracy": average("majority_accuracy"),
        "per_type": per_type, "yes_no_confusion": confusion, "failures": failures,
    }


def chart(summaries: dict[str, dict], out: Path) -> Path:
    """Per-type accuracy bars for each run (e.g. base vs fine-tuned), with the majority baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    kinds = sorted({k for s in summaries.values() for k in s["per_type"]})
    first = next(iter(summaries.values()))
    nan = float("nan")  # a type a run did not ask gets no bar (not a 0 % one)
    series = {name: [s["per_type"].get(k, {}).get("accuracy", nan) for k in kinds] for name, s in summaries.items()}
    series["majority baseline"] = [first["per_type"].get(k, {}).get("majority_accuracy", nan) for k in kinds]
    width = 0.8 / len(series)
    x = np.arange(len(kinds))
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(kinds)), 3.8))
    for i, (name, values) in enumerate(series.items()):
        ax.bar(x + i * width - 0.4 + width / 2, [100 * v for v in values], width, label=name)
    ax.set_xticks(x, kinds, rotation=20)
    ax.set_ylabel("exact-match accuracy (%)")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def report(summaries: dict[str, dict], chart_name: str) -> str:
    """The Markdown report: OA/AA with baselines, per-type table, yes/no confusion, failures with images."""
    lines = ["# Evaluation report", ""]
    for name, s in summaries.items():
        lines += [f"## {name}", "", f"{s['n']} questions.", "",
                  "Accuracy is exact match, as RSVQA papers report it; the soft score (the reward's graded "
                  "credit) is beside it.", "",
                  "| | exact-match accuracy | majority-answer baseline | soft score |", "|---|---|---|---|",
                  f"| overall (OA) | {_pct(s['overall_accuracy'])} | {_pct(s['baseline_overall_accuracy'])} | "
                  f"{_pct(s.get('soft_overall_accuracy'))} |",
                  f"| average over types (AA) | {_pct(s['average_accuracy'])} | "
                  f"{_pct(s['baseline_average_accuracy'])} | {_pct(s.get('soft_average_accuracy'))} |", "",
                  "| type | n | exact-match accuracy | majority baseline | soft score |", "|---|---|---|---|---|"]
        for kind, t in s["per_type"].items():
            lines.append(f"| {kind} | {t['n']} | {_pct(t['accuracy'])} | {_pct(t['majority_accuracy'])} | "
                         f"{_pct(t.get('soft_accuracy'))} |")
        c = s["yes_no_confusion"]
        lines += ["", "Yes/no (rows: reference, columns: answer):", "", "| | yes | no | other |", "|---|---|---|---|",
                  f"| yes | {c['yes']['yes']} | {c['yes']['no']} | {c['yes']['other']} |",
                  f"| no | {c['no']['yes']} | {c['no']['no']} | {c['no']['other']} |", ""]
        if s["failures"]:
            lines += ["Some answers that missed:", ""]
            for f in s["failures"]:
                images = " ".join(f"![]({p})" for p in f["images"])
                lines.append(f"- `{f['id']}` {f['question']} — expected **{f['answer']}**, got "
                             f"“{f['prediction'].strip()[:120]}” (soft score {f['score']:.2f}) {images}")
            lines.append("")
    lines += [f"![per-type accuracy]({chart_name})", ""]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"
