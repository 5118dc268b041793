"""Evaluate a model on a grounded question set (the dataset builder's ``test.json``), RSVQA-style.

    python -m training.evaluate --model models/county-qwen2.5-vl --data data/county --out reports/finetuned \
        [--compare reports/base/results.json] [--limit 200]

Answers come from a local model folder (base, merged, or a training stage's adapter), an
OpenAI-compatible server (``--backend openai``), or the measurements only (``--backend none``,
a consistency check of the builder). ``results.json`` keeps every answer with its score and
is written as it goes, so a stopped run resumes where it was; ``report.md`` and ``accuracy.png``
show OA/AA, per-type accuracy and the majority-answer baselines, the yes/no confusion and some
failures with their images. ``--mmdu benchmark.json --judge-url URL --judge-model NAME`` (or ``--judge-local DIR``) adds
MMDU-style dialogues, answered turn by turn and judged (``dialogues.json``, resumable too).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger("training.evaluate")
SAVE_EVERY = 20  # answers between two writes of results.json (a killed run loses at most these)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--model", help="a model folder, merged model or training stage output (--backend local), "
                                   "or the served model's name (--backend openai)")
    p.add_argument("--backend", choices=("local", "openai", "none"), default="local")
    p.add_argument("--openai-url", default=os.environ.get("LANDUSE_OPENAI_URL"),
                   help="the OpenAI-compatible server, e.g. http://gpu-server:8000/v1 (or $LANDUSE_OPENAI_URL)")
    p.add_argument("--data", type=Path, help="a question file, a dataset folder (its test.json), or an RSVQA-LR/HR "
                                             "split's *_questions.json (answers and images beside it)")
    p.add_argument("--mmdu", type=Path, help="MMDU-style dialogues (benchmark.json: image list, conversations with "
                                             "<ImageHere>), answered turn by turn and judged")
    p.add_argument("--image-folder", type=Path, help="the dialogues' or the RSVQA split's images (default: beside "
                                                     "the file; for RSVQA, Images_LR/Images_HR there)")
    p.add_argument("--judge-url", default=os.environ.get("LANDUSE_JUDGE_URL"),
                   help="the judge's OpenAI-compatible server (or $LANDUSE_JUDGE_URL; key in $LANDUSE_JUDGE_KEY)")
    p.add_argument("--judge-model", help="the judge model's name on that server")
    p.add_argument("--judge-local", help="a judge model folder loaded here instead of a server")
    p.add_argument("--judge-attempts", type=int, default=3, help="tries per turn before it counts as failed")
    p.add_argument("--out", required=True, type=Path, help="where results.json, report.md and the chart go")
    p.add_argument("--limit", type=int, help="only the first N questions (quick runs)")
    p.add_argument("--compare", type=Path, help="another run's results.json, charted beside this one")
    p.add_argument("--pixels", type=int, help="local models: image pixels (default: the processor's bounds)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show the traceback of a failure instead of one line")
    return p


def _answerer(args: argparse.Namespace):
    from training.evaluation.answerers import FactsAnswerer, LocalAnswerer, OpenAIAnswerer

    if args.backend == "none":
        return FactsAnswerer()
    if not args.model:
        raise ValueError(f"--backend {args.backend} needs --model")
    if args.backend == "openai":
        if not args.openai_url:
            raise ValueError("--backend openai needs --openai-url (or $LANDUSE_OPENAI_URL)")
        return OpenAIAnswerer(args.openai_url, args.model, os.environ.get("LANDUSE_OPENAI_KEY"))
    return LocalAnswerer(args.model, pixels=args.pixels)


def evaluate(rows: list[dict], folder: Path, answerer, out: Path, progress: bool = True) -> dict[str, object]:
    """Answer and score ``rows`` (images relative to ``folder``), resuming from ``out/results.json``."""
    from tqdm import tqdm

    from training.evaluation.rsvqa import score, summarise

    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.json"
    done = {i["id"]: i for i in json.loads(path.read_text(encoding="utf-8"))["items"]} if path.exists() else {}
    if done:
        log.info("resuming: %d of %d questions already answered", len(done), len(rows))
    items = []
    for k, row in enumerate(tqdm(rows, desc="answering", unit="q", disable=not progress)):
        if row["id"] in done:
            items.append(done[row["id"]])
            continue
        images = [folder / p for p in ([row["image"]] if isinstance(row.get("image"), str) else row.get("image", []))]
        try:
            prediction, error = answerer.answer(row, images), None
        except (OSError, ValueError) as exc:  # a server that fails: counted as a wrong answer, and said
            prediction, error = "", f"{type(exc).__name__}: {exc}"
        items.append({"id": row["id"], "question": row["question"], "question_type": row.get("question_type"),
                      "language": row.get("language", ""), "answer": row["answer"], "prediction": prediction,
                      "score": score(row, prediction) if prediction else 0.0, "error": error,
                      "images": [str(p) for p in images]})
        if (k + 1) % SAVE_EVERY == 0:
            _write(path, answerer.name, items, None)
    summary = summarise(items)
    _write(path, answerer.name, items, summary)
    return summary


def _write(path: Path, model: str, items: list[dict], summary: dict | None) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"model": model, "summary": summary, "items": items}, ensure_ascii=False, indent=1),
                   encoding="utf-8")
    tmp.replace(path)


def _question_set(args: argparse.Namespace) -> tuple[list[dict], Path]:
    """The rows to answer (RSVQA layout or ours); an empty or unreadable set is an error, before any model loads."""
    from training import data
    from training.evaluation.rsvqa_files import is_rsvqa, read_rsvqa

    file = args.data / "test.json" if args.data.is_dir() else args.data
    rows = (read_rsvqa(file, args.image_folder) if is_rsvqa(file) else data.read_rows(file))[:args.limit or None]
    if not rows:
        raise ValueError(f"{file} holds no questions to evaluate (is it the split you meant? the builder writes "
                         "train.json, val.json and test.json)")
    return rows, file


def main(argv: list[str] | None = None) -> int:
    from training.failures import one_line_errors

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    return one_line_errors(lambda: _evaluate(args), args.debug)


def _evaluate(args: argparse.Namespace) -> int:
    from training import data
    from training.evaluation import dialogues
    from training.evaluation.answerers import LocalAnswerer
    from training.evaluation.judge import LocalJudge, OpenAIJudge
    from training.evaluation.rsvqa import chart, report

    if not args.data and not args.mmdu:
        raise ValueError("give --data (a question set) and/or --mmdu (dialogues)")
    if args.mmdu and not (args.judge_local or (args.judge_url and args.judge_model)):
        raise ValueError("--mmdu needs a judge: --judge-url and --judge-model, or --judge-local MODEL_DIR")
    rows, file = _question_set(args) if args.data else ([], None)  # before any model loads
    answerer = _answerer(args)
    if args.mmdu:
        conversations = data.load_rows(args.mmdu, args.image_folder)[:args.limit or None]
    sections = []
    if args.mmdu:
        if args.judge_local:
            judge = LocalJudge(LocalAnswerer(args.judge_local, max_new_tokens=256, pixels=args.pixels),
                               max_attempts=args.judge_attempts)
        else:
            judge = OpenAIJudge(args.judge_url, args.judge_model, os.environ.get("LANDUSE_JUDGE_KEY"),
                                max_attempts=args.judge_attempts)
        judged = dialogues.evaluate_dialogues(conversations, answerer, judge, args.out, progress=not args.quiet)
        sections.append(dialogues.report(judged))
        print(f"dialogues: {judged['judged']} turns judged, {judged['failed']} failed; MMDU score "
              f"{judged['mmdu_score (mean overall x 10)']}")
    if not args.data:
        (args.out / "report.md").write_text("# Evaluation report\n\n" + "\n".join(sections), encoding="utf-8")
        return 0
    summary = evaluate(rows, file.parent, answerer, args.out, progress=not args.quiet)
    summaries = {answerer.name: summary}
    if args.compare:
        other = json.loads(args.compare.read_text(encoding="utf-8"))
        summaries[other["model"]] = other["summary"]
    chart(summaries, args.out / "accuracy.png")
    (args.out / "report.md").write_text(report(summaries, "accuracy.png") + "\n".join(sections), encoding="utf-8")
    print(f"exact match: OA {summary['overall_accuracy']:.1%} (majority baseline "
          f"{summary['baseline_overall_accuracy']:.1%}), AA {summary['average_accuracy']:.1%} (baseline "
          f"{summary['baseline_average_accuracy']:.1%}); soft score: OA {summary['soft_overall_accuracy']:.1%}, "
          f"AA {summary['soft_average_accuracy']:.1%}; over {summary['n']} questions; "
          f"report in {args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
