"""GPU checks (device machine only): the full-size Qwen2.5-VL-3B architecture in 4-bit through the engine.

No weights can be downloaded here, so the architecture is built from the public
3B configuration with random weights and saved; the engine then loads it as it
would the real checkpoint (NF4, vision tower unquantised, bf16 compute) and
answers one ask. Load time, first-token latency and tokens/s are printed and
written to test-artifacts/gpu_ask.json. Random weights make the answer
meaningless; the speed and memory are those of the real architecture.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import L7, L8
from test_ask_pipeline import QWEN25_VL_3B_CONFIG

from engine.analysis.run import AnalysisConfig
from engine.ask import AskRequest, collect
from engine.ask import ask as run_ask
from engine.model import loading
from engine.model.backends import LocalBackend
from engine.model.config import GenerationConfig, ModelConfig, Precision
from engine.types import LayerSpec

pytestmark = pytest.mark.gpu
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def full_size_checkpoint(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    import torch
    import transformers

    folder = tmp_path_factory.mktemp("qwen25vl3b-random")
    config = transformers.Qwen2_5_VLConfig(**{k: v for k, v in QWEN25_VL_3B_CONFIG.items() if k != "architectures"})
    with torch.device("cuda"):
        model = transformers.Qwen2_5_VLForConditionalGeneration(config).to(torch.bfloat16)
    model.save_pretrained(folder)
    del model
    torch.cuda.empty_cache()
    for name in tiny_model_dir.iterdir():  # the tiny processor: its token ids are valid in the 3B vocabulary
        if name.name not in ("config.json", "model.safetensors", "generation_config.json"):
            shutil.copy(name, folder / name.name)
    return folder


def test_full_size_architecture_in_4bit_answers_on_the_gpu(full_size_checkpoint: Path) -> None:
    import torch

    config = ModelConfig(source=str(full_size_checkpoint), precision=Precision.NF4, device="cuda")
    lm = loading.load(config)
    assert lm.precision is Precision.NF4 and lm.device == "cuda"
    memory_gib = torch.cuda.memory_allocated() / 2**30
    assert memory_gib < 5.0  # NF4: about 3.4 GB of weights (../shared/SEED.md)
    request = AskRequest("新增耕地面积是多少？", [LayerSpec(path=L7), LayerSpec(path=L8)],
                         analysis=AnalysisConfig(mmu_ha=0.18))
    out = collect(run_ask(request, LocalBackend(config), generation=GenerationConfig(max_new_tokens=64)))
    timings = out["timings"]
    record = {"load_s": lm.load_seconds, "gpu_memory_gib": memory_gib,
              "first_token_s": timings.get("first_token_s"), "tokens_per_s": timings.get("tokens_per_s"),
              "device": torch.cuda.get_device_name(), "errors": out["errors"]}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "gpu_ask.json").write_text(json.dumps(record, indent=2))
    print("\nGPU ask:", json.dumps(record))
    assert not out["errors"] and timings.get("first_token_s") is not None


@pytest.mark.parametrize("stage", ["sft", "grpo"])
def test_one_training_step_of_the_full_size_architecture_in_4bit(stage: str, full_size_checkpoint: Path,
                                                                 tmp_path: Path) -> None:
    """One SFT step and one GRPO step, 4-bit base + LoRA as the recipes set it; peak memory and step time."""
    import time

    import torch

    from training import grpo, sft
    from training.toy import write_toy_dataset

    rows = write_toy_dataset(tmp_path, rows=8, side_px=448)  # 256 visual tokens an image, the recipes' lower bound
    common = ["--model_id", str(full_size_checkpoint), "--data_path", str(rows), "--output_dir", str(tmp_path / stage),
              "--load_in_4bit", "true", "--max_steps", "1", "--per_device_train_batch_size", "1",
              "--bf16", "true", "--gradient_checkpointing", "true", "--report_to", "none", "--save_strategy", "no",
              "--deepspeed", "", "--min_pixels", str(256 * 28 * 28), "--max_pixels", str(256 * 28 * 28)]
    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    if stage == "sft":
        code = sft.main([*common, "--config", "training/recipes/sft_lora_vision.yaml"])
    else:
        code = grpo.main([*common, "--config", "training/recipes/grpo_rsvqa.yaml", "--num_generations", "2",
                          "--max_completion_length", "32", "--gradient_accumulation_steps", "2"])
    seconds = time.perf_counter() - start
    peak_gib = torch.cuda.max_memory_allocated() / 2**30
    record = {"stage": stage, "peak_gpu_memory_gib": round(peak_gib, 2), "seconds_incl_loading": round(seconds, 1),
              "device": torch.cuda.get_device_name()}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"gpu_training_{stage}.json").write_text(json.dumps(record, indent=2))
    print(f"\nGPU training step ({stage}):", json.dumps(record))
    assert code == 0
    assert peak_gib < 24  # fits an RTX 4090, as the seed claims


def _largest_image_rows(folder: Path) -> Path:
    """Two rows, each a 1120 x 896 image: 1280·28² pixels, the recipes' upper bound (1280 visual tokens)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (1120, 896), (40, 160, 40)).save(folder / "largest.png")
    rows = [{"id": f"r{i}", "image": "largest.png", "question": "水体占比是多少？", "answer": "40%",
             "question_type": "percent"} for i in range(2)]
    (folder / "rows.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return folder / "rows.json"


UPPER_BOUNDS = {
    # the SFT recipe as it is (bf16 LoRA r 32 on language + vision, max_length 3072), DeepSpeed aside
    "sft_bf16_largest_image": ("sft", ["--deepspeed", ""]),
    # the GRPO recipe's generation at its top: 4 generations of 128 tokens each, for the largest image
    "grpo_4x128_largest_image": ("grpo", ["--deepspeed", "", "--num_generations", "4", "--max_completion_length",
                                          "128", "--per_device_train_batch_size", "4",
                                          "--gradient_accumulation_steps", "1"]),
    # the SFT recipe's DeepSpeed ZeRO-2 config, on one GPU (a separate process: DeepSpeed sets up distributed)
    "sft_deepspeed_zero2": ("sft", []),
}


@pytest.mark.parametrize("case", list(UPPER_BOUNDS))
def test_the_recipes_upper_bounds(case: str, full_size_checkpoint: Path, tmp_path: Path) -> None:
    """Peak memory and step time at the recipes' largest settings, with the full-size architecture in bf16."""
    import importlib.util
    import os
    import socket
    import subprocess
    import sys
    import time

    stage, extra = UPPER_BOUNDS[case]
    if case == "sft_deepspeed_zero2" and importlib.util.find_spec("deepspeed") is None:
        pytest.skip("DeepSpeed is not installed: scripts/setup.sh --deepspeed")
    rows, out = _largest_image_rows(tmp_path / "data"), tmp_path / case
    recipe = {"sft": "training/recipes/sft_lora_vision.yaml", "grpo": "training/recipes/grpo_rsvqa.yaml"}[stage]
    args = ["--config", recipe, "--model_id", str(full_size_checkpoint), "--data_path", str(rows),
            "--output_dir", str(out), "--max_steps", "2", "--report_to", "none", "--save_strategy", "no",
            "--logging_steps", "1", "--gradient_accumulation_steps", "1", *extra]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": "0", "LOCAL_RANK": "0",
           "WORLD_SIZE": "1"}
    probe = (f"import json, sys, torch; from training import {stage}; code = {stage}.main(sys.argv[1:]); "
             "print('PEAK_GIB', torch.cuda.max_memory_allocated() / 2**30); sys.exit(code)")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", probe, *args], env=env, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=1200)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr[-3000:]
    peak = float(next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("PEAK_GIB")))
    history = json.loads((out / "log_history.json").read_text())
    summary = next(h for h in reversed(history) if "train_runtime" in h)
    record = {"case": case, "peak_gpu_memory_gib": round(peak, 2), "train_runtime_s": summary["train_runtime"],
              "seconds_per_step": round(summary["train_runtime"] / 2, 2), "seconds_incl_loading": round(seconds, 1),
              "device": __import__("torch").cuda.get_device_name()}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"gpu_upper_bound_{case}.json").write_text(json.dumps(record, indent=2))
    print(f"\nGPU upper bound ({case}):", json.dumps(record))
    assert peak < 80  # an A100 80 GB, the seed's largest card, holds every recipe at its largest setting
