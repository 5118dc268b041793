"""RSVQA-style evaluation on the builder's output: the measurements-only answerer agrees with the builder,
a tiny local model and an OpenAI-compatible stub run end to end, and a stopped run resumes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.synthetic import SyntheticSpec, write_scene
from training import evaluate as cli
from training.build_dataset import build
from training.evaluation.answerers import FactsAnswerer, OpenAIAnswerer


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scene = write_scene(SyntheticSpec(width=448, height=448, patch_px=16, noise=0.01, seed=3),
                        tmp_path_factory.mktemp("s"))
    out = tmp_path_factory.mktemp("dataset")
    build(scene.layers, out, tile_size=56, block=2, val=0.25, test=0.25, seed=1, progress=False)
    return out


def test_measurements_only_agree_with_the_builder(dataset: Path, tmp_path: Path) -> None:
    assert cli.main(["--backend", "none", "--data", str(dataset), "--out", str(tmp_path), "--quiet"]) == 0
    summary = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["summary"]
    for kind in ("area", "presence"):
        assert summary["per_type"][kind]["accuracy"] >= 0.99, summary["per_type"][kind]
    assert summary["overall_accuracy"] > summary["baseline_overall_accuracy"]
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "majority-answer baseline" in report and (tmp_path / "accuracy.png").stat().st_size > 1000


class _Counting(FactsAnswerer):
    def __init__(self) -> None:
        self.calls = 0

    def answer(self, row: dict, images: list[Path]) -> str:
        self.calls += 1
        return super().answer(row, images)


def test_a_stopped_run_resumes_without_answering_again(dataset: Path, tmp_path: Path) -> None:
    rows = json.loads((dataset / "test.json").read_text(encoding="utf-8"))
    first, second = _Counting(), _Counting()
    cli.evaluate(rows[:5], dataset, first, tmp_path, progress=False)
    summary = cli.evaluate(rows[:9], dataset, second, tmp_path, progress=False)
    assert (first.calls, second.calls, summary["n"]) == (5, 4, 9)


def test_the_tiny_local_model_and_a_comparison_report(dataset: Path, tmp_path: Path, tiny_model_dir: Path) -> None:
    base = tmp_path / "base"
    assert cli.main(["--model", str(tiny_model_dir), "--data", str(dataset), "--out", str(base), "--limit", "6",
                     "--pixels", "3136", "--quiet"]) == 0
    items = json.loads((base / "results.json").read_text(encoding="utf-8"))["items"]
    assert len(items) == 6 and all(0.0 <= i["score"] <= 1.0 for i in items)
    none = tmp_path / "none"
    assert cli.main(["--backend", "none", "--data", str(dataset), "--out", str(none), "--limit", "6",
                     "--compare", str(base / "results.json"), "--quiet"]) == 0
    report = (none / "report.md").read_text(encoding="utf-8")
    assert f"## {tiny_model_dir}" in report and "## measurements only" in report


def test_an_openai_compatible_server_gets_the_images(dataset: Path, openai_stub) -> None:
    url, queue, calls = openai_stub
    row = next(r for r in json.loads((dataset / "test.json").read_text(encoding="utf-8"))
               if isinstance(r["image"], list))
    queue.append("是")
    answer = OpenAIAnswerer(url, "served-model").answer(row, [dataset / p for p in row["image"]])
    assert answer == "是"
    content = calls[0]["messages"][0]["content"]
    assert [p["type"] for p in content] == ["image_url", "image_url", "text"]
    assert content[0]["image_url"]["url"].startswith("data:image/png;base64,")


def test_bad_requests_say_what_to_do(tmp_path: Path, capsys) -> None:
    missing = ["--data", str(tmp_path / "none.json"), "--out", str(tmp_path / "o")]
    assert cli.main(["--backend", "none", *missing]) == 2
    assert "cannot read" in capsys.readouterr().err
    from PIL import Image

    Image.new("RGB", (28, 28)).save(tmp_path / "x.png")
    (tmp_path / "q.json").write_text(json.dumps([{"id": "r1", "image": "x.png", "question": "是否有水体？",
                                                  "answer": "是"}]), encoding="utf-8")
    assert cli.main(["--backend", "openai", "--model", "m", "--data", str(tmp_path / "q.json"),
                     "--out", str(tmp_path / "o")]) == 2
    assert "--openai-url" in capsys.readouterr().err


def _rsvqa_split(folder: Path) -> Path:
    """A tiny RSVQA-HR-style split in the published layout (questions, answers, images files, Images/ TIFFs)."""
    from PIL import Image

    (folder / "Images").mkdir()
    for img_id, colour in ((0, (30, 60, 200)), (1, (40, 160, 40))):
        Image.fromarray(np.full((64, 64, 3), colour, np.uint8)).save(folder / "Images" / f"{img_id}.tif")
    questions = [
        {"id": 10, "img_id": 0, "type": "presence", "question": "Is there a water area?", "answers_ids": [100],
         "active": True},
        {"id": 11, "img_id": 0, "type": "count", "question": "How many buildings are there?", "answers_ids": [101],
         "active": True},
        {"id": 12, "img_id": 1, "type": "area", "question": "What is the area covered by buildings?",
         "answers_ids": [102], "active": True},
        {"id": 13, "img_id": 1, "type": "comp", "question": "Is the number of roads equal to the number of "
                                                            "buildings?", "answers_ids": [103], "active": False},
    ]
    answers = [{"id": 100, "question_id": 10, "answer": "yes", "active": True},
               {"id": 101, "question_id": 11, "answer": "between 11 and 100", "active": True},
               {"id": 102, "question_id": 12, "answer": "between 101m2 and 1000m2", "active": True},
               {"id": 103, "question_id": 13, "answer": "no", "active": True}]
    (folder / "HR_split_test_questions.json").write_text(json.dumps({"questions": questions}))
    (folder / "HR_split_test_answers.json").write_text(json.dumps({"answers": answers}))
    (folder / "HR_split_test_images.json").write_text(json.dumps({"images": [{"id": 0}, {"id": 1}]}))
    return folder / "HR_split_test_questions.json"


def test_rsvqa_published_layout_with_bins(tmp_path: Path, openai_stub) -> None:
    url, queue, calls = openai_stub
    split = _rsvqa_split(tmp_path)
    queue += ["Yes.", "about 42", "roughly 500 m2"]  # all three right: yes, the count bin, the area bin
    out = tmp_path / "out"
    assert cli.main(["--backend", "openai", "--openai-url", url, "--model", "served", "--data", str(split),
                     "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "results.json").read_text(encoding="utf-8"))["summary"]
    assert summary["n"] == 3 and summary["soft_overall_accuracy"] == 1.0  # the inactive question is skipped
    assert summary["overall_accuracy"] == pytest.approx(1 / 3)  # exact match: only "Yes." is the answer
    assert calls[0]["messages"][0]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    from training.rewards import score_answer

    assert score_answer("5000 m2", "between 101m2 and 1000m2", "What is the area covered by buildings?") == 0.0


def test_an_empty_question_set_is_an_error_before_any_model_loads(tmp_path: Path) -> None:
    import subprocess
    import sys

    empty = tmp_path / "test.json"
    empty.write_text("[]")
    done = subprocess.run([sys.executable, "-m", "training.evaluate", "--backend", "none", "--model", "none",
                           "--data", str(tmp_path), "--out", str(tmp_path / "out"), "--quiet"],
                          cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "holds no questions" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "report.md").exists()


@pytest.mark.parametrize("prediction, reference, expected", [
    ("yes", "yes", 1.0), ("Yes.", "yes", 1.0), ("是", "yes", 1.0), ("否。", "no", 1.0), ("乡村", "rural", 1.0),
    ("1200 亩", "1200亩", 1.0), ("1,200亩", "1200亩", 1.0), ("urban", "rural", 0.0),
    ("It is a rural area", "rural", 0.0), ("约1200亩", "1200亩", 0.0), ("1190亩", "1200亩", 0.0),
    ("between 11 and 100", "between 11 and 100", 1.0), ("about 42", "between 11 and 100", 0.0), ("", "no", 0.0),
])
def test_exact_match_is_the_answer_itself(prediction: str, reference: str, expected: float) -> None:
    from training.evaluation.majority import exact_match

    assert exact_match(prediction, reference) == expected


def test_stats_and_evaluate_report_one_majority_baseline(dataset: Path, tmp_path: Path) -> None:
    stats = json.loads((dataset / "stats.json").read_text(encoding="utf-8"))["splits"]["test"]["types"]
    rows = json.loads((dataset / "test.json").read_text(encoding="utf-8"))
    summary = cli.evaluate(rows, dataset, FactsAnswerer(), tmp_path, progress=False)
    assert set(stats) == set(summary["per_type"])
    for kind, s in stats.items():
        assert summary["per_type"][kind]["majority_accuracy"] == pytest.approx(s["majority_baseline_accuracy"]), kind
        assert summary["per_type"][kind]["majority_answer"] == s["majority_answer"], kind


def test_partial_credit_is_not_the_headline(tmp_path: Path) -> None:
    from training.evaluation.rsvqa import summarise

    items = [{"id": "a", "question": "这里是城镇还是乡村？", "question_type": "rural_urban", "language": "zh",
              "answer": "乡村", "prediction": "这里是乡村", "score": 1.0, "images": []},
             {"id": "b", "question": "Is this area urban or rural?", "question_type": "rural_urban",
              "language": "en", "answer": "rural", "prediction": "urban", "score": 0.0, "images": []},
             {"id": "c", "question": "Is this area urban or rural?", "question_type": "rural_urban",
              "language": "en", "answer": "rural", "prediction": "rural", "score": 1.0, "images": []}]
    summary = summarise(items)
    assert summary["overall_accuracy"] == pytest.approx(1 / 3)
    assert summary["soft_overall_accuracy"] == pytest.approx(2 / 3)
    assert summary["baseline_overall_accuracy"] == 1.0  # 乡村 and rural are one answer
    assert [f["id"] for f in summary["failures"]] == ["a", "b"]
