"""The README's path, end to end on the CPU with the tiny model: layers -> dataset -> SFT -> GRPO -> merge ->
a report comparing the base and the fine-tuned model."""

from __future__ import annotations

import json
from pathlib import Path

from engine.synthetic import SyntheticSpec, write_scene
from training import build_dataset, evaluate, grpo, merge, sft

SMALL = ["--min_pixels", "3136", "--max_pixels", "3136", "--report_to", "none", "--save_strategy", "no",
         "--per_device_train_batch_size", "4"]


def test_from_layers_to_a_comparison_report(tmp_path: Path, tiny_model_dir: Path) -> None:
    scene = write_scene(SyntheticSpec(width=448, height=448, patch_px=16, noise=0.01, seed=5), tmp_path / "layers")
    dataset = tmp_path / "data"
    assert build_dataset.main([*(a for p in scene.layers for a in ("--layer", str(p))), "--out", str(dataset),
                               "--tile-size", "56", "--block", "2", "--val", "0.25", "--test", "0.25",
                               "--quiet"]) == 0
    train = str(dataset / "train.json")
    assert sft.main(["--config", "training/recipes/sft_lora_vision.yaml", "--model_id", str(tiny_model_dir),
                     "--data_path", train, "--output_dir", str(tmp_path / "stage1"), "--max_steps", "4",
                     *SMALL]) == 0
    assert grpo.main(["--config", "training/recipes/grpo_rsvqa.yaml", "--model_id", str(tmp_path / "stage1"),
                      "--data_path", train, "--output_dir", str(tmp_path / "stage2"), "--max_steps", "2",
                      "--num_generations", "4", "--max_completion_length", "8",
                      "--gradient_accumulation_steps", "1", *SMALL]) == 0
    assert merge.main(["--adapter", str(tmp_path / "stage2"), "--output_dir", str(tmp_path / "merged")]) == 0
    base, tuned = tmp_path / "reports" / "base", tmp_path / "reports" / "tuned"
    common = ["--data", str(dataset), "--limit", "8", "--pixels", "3136", "--quiet"]
    assert evaluate.main(["--model", str(tiny_model_dir), "--out", str(base), *common]) == 0
    assert evaluate.main(["--model", str(tmp_path / "merged"), "--out", str(tuned), *common,
                          "--compare", str(base / "results.json")]) == 0
    report = (tuned / "report.md").read_text(encoding="utf-8")
    assert f"## {tmp_path / 'merged'}" in report and f"## {tiny_model_dir}" in report
    assert "majority-answer baseline" in report and (tuned / "accuracy.png").is_file()
    assert json.loads((tuned / "results.json").read_text(encoding="utf-8"))["summary"]["n"] == 8
