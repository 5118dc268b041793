"""MMDU-style dialogues: answered turn by turn with the model's own history, every turn judged by a stub
OpenAI-compatible judge (valid, malformed and truncated replies), failures counted, runs resumable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training import data
from training import evaluate as cli
from training.evaluation.dialogues import evaluate_dialogues
from training.evaluation.judge import OpenAIJudge

VALID = '{"Creativity": 6, "Richness": 7, "Visual Perception": 8, "Logical Coherence": 8, "Answer Accuracy": 7, ' \
        '"Image Relationship Understanding": 6, "Overall Score": 7}'


@pytest.fixture
def benchmark(tmp_path: Path) -> Path:
    """Two dialogues in MMDU's layout: image lists, user/assistant turns, <ImageHere> placeholders."""
    for name, colour in (("a.png", (30, 60, 200)), ("b.png", (40, 160, 40))):
        Image.fromarray(np.full((56, 56, 3), colour, np.uint8)).save(tmp_path / name)
    dialogues = [
        {"id": "d1", "image": ["a.png", "b.png"], "conversations": [
            {"from": "user", "value": "Image 1: <ImageHere>\nImage 2: <ImageHere>\nWhich image shows water?"},
            {"from": "assistant", "value": "The first one."},
            {"from": "user", "value": "And the second?"}, {"from": "assistant", "value": "Vegetation."}]},
        {"id": "d2", "image": ["b.png"], "conversations": [
            {"from": "user", "value": "<ImageHere>是否有水体？"}, {"from": "assistant", "value": "否"}]},
    ]
    path = tmp_path / "benchmark.json"
    path.write_text(json.dumps(dialogues, ensure_ascii=False), encoding="utf-8")
    return path


class _Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[tuple[list[dict], int]] = []

    def chat(self, messages: list[dict], images: list[Path]) -> str:
        self.seen.append((messages, len(images)))
        return f"answer {len(self.seen)}"


def test_turns_carry_the_models_own_history_and_are_all_judged(benchmark: Path, tmp_path: Path, openai_stub) -> None:
    url, queue, calls = openai_stub
    queue += [VALID, "I refuse", "still no", "no scores", '{"Creativity": 5, "Overa', VALID]
    rows = data.load_rows(benchmark)
    answerer = _Recorder()
    judge = OpenAIJudge(url, "judge", max_attempts=3, retry_wait_s=0.0)
    out = tmp_path / "run"
    summary = evaluate_dialogues(rows, answerer, judge, out, progress=False)
    second_turn, images = answerer.seen[1]
    assert [m["role"] for m in second_turn] == ["user", "assistant", "user"]
    assert second_turn[1]["content"][0]["text"] == "answer 1" and images == 2  # its own answer, both images
    assert summary["turns"] == 3 and summary["judged"] == 2 and summary["failed"] == 1  # counted, not dropped
    assert summary["mmdu_score (mean overall x 10)"] == pytest.approx(70.0)
    assert len(calls) == 6  # 1 + 3 (bounded retries, then failed) + 2
    again = evaluate_dialogues(rows, _Recorder(), judge, out, progress=False)  # resumed: nothing asked again
    assert len(calls) == 6 and again["judged"] == 2


def test_the_tiny_model_through_the_command(benchmark: Path, tmp_path: Path, tiny_model_dir: Path,
                                            openai_stub) -> None:
    url, queue, _ = openai_stub
    queue += [VALID] * 3
    out = tmp_path / "report"
    assert cli.main(["--model", str(tiny_model_dir), "--mmdu", str(benchmark), "--judge-url", url,
                     "--judge-model", "judge", "--pixels", "3136", "--out", str(out), "--quiet"]) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "MMDU-style dialogues" in report and "mmdu_score" in report
    items = json.loads((out / "dialogues.json").read_text(encoding="utf-8"))["items"]
    assert len(items) == 3 and all(i["scores"] is not None for i in items)


def test_dialogues_need_a_judge(benchmark: Path, tmp_path: Path, capsys) -> None:
    assert cli.main(["--backend", "none", "--mmdu", str(benchmark), "--out", str(tmp_path)]) == 2
    assert "--judge-url" in capsys.readouterr().err


def test_a_local_judge_that_cannot_score_is_counted_as_failed(benchmark: Path, tmp_path: Path,
                                                              tiny_model_dir: Path) -> None:
    """The tiny model as judge: its replies hold no scores, so every turn fails after the bounded attempts."""
    out = tmp_path / "report"
    assert cli.main(["--model", str(tiny_model_dir), "--mmdu", str(benchmark), "--judge-local", str(tiny_model_dir),
                     "--judge-attempts", "2", "--pixels", "3136", "--out", str(out), "--quiet"]) == 0
    record = json.loads((out / "dialogues.json").read_text(encoding="utf-8"))
    assert len(record["items"]) == 3 and all(i["prediction"] for i in record["items"])  # the tiny model answered
    assert all(i["attempts"] == 2 and i["scores"] is None for i in record["items"])  # judged twice, no score
    assert record["summary"]["failed"] == 3 and record["summary"]["judged"] == 0
