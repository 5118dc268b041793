"""How much of GRPO's batch teaches anything: the zero-std fraction under exact and graded rewards.

    .venv/bin/python tests/bench_grpo_signal.py [--steps 24] [--out bench-out/grpo-signal]

GRPO's advantage is a completion's reward minus its group's mean; a group whose rewards are all
equal has zero advantage and contributes no gradient (TRL logs the share of such groups as
``frac_reward_zero_std``). On the toy "水体占比是多少？" task (answers 0-100 % in tenths), the tiny
model is warmed by SFT until it answers in the right form ("40%"), then GRPO runs twice from the
same warm model, same seed and same data: once rewarded by exact match only (right or 0), once
by ``training.rewards:accuracy_reward`` (graded closeness for numbers). The table gives, per run,
the zero-std fraction over the first and last third of the steps and overall, the mean reward,
and the ratio of the two runs' zero-std fractions, measured in this one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PIXELS = ["--min_pixels", "3136", "--max_pixels", "3136"]
QUIET = ["--report_to", "none", "--seed", "0", "--save_strategy", "no", *PIXELS]


def run(out: Path, steps: int) -> dict[str, dict[str, float]]:
    from engine.model.tiny import build_tiny_model
    from training import grpo, sft
    from training.toy import write_toy_dataset

    model = build_tiny_model(out / "tiny")
    data = write_toy_dataset(out / "data", 64, seed=0, task="share")
    warm = out / "warm"
    if sft.main(["--model_id", str(model), "--data_path", str(data), "--output_dir", str(warm), "--max_steps", "30",
                 "--per_device_train_batch_size", "8", "--learning_rate", "1e-2", "--lora_parts", "language",
                 "--lora_r", "16", "--lora_alpha", "32", "--logging_steps", "10", *QUIET]) != 0:
        raise SystemExit("the warm-up SFT failed")
    results = {}
    for name, reward in (("exact match", "training.rewards:exact_match_reward"),
                         ("graded (accuracy_reward)", "training.rewards:accuracy_reward")):
        target = out / name.split()[0]
        if grpo.main(["--model_id", str(warm), "--data_path", str(data), "--output_dir", str(target),
                      "--max_steps", str(steps), "--per_device_train_batch_size", "32", "--num_generations", "8",
                      "--max_completion_length", "4", "--learning_rate", "2e-3", "--beta", "0.0",
                      "--temperature", "1.0", "--lora_parts", "language", "--lora_r", "16", "--lora_alpha", "32",
                      "--reward_funcs", reward, "--logging_steps", "1", *QUIET]) != 0:
            raise SystemExit(f"GRPO with {reward} failed")
        history = json.loads((target / "log_history.json").read_text())
        zero = [h["frac_reward_zero_std"] for h in history if "frac_reward_zero_std" in h]
        third = max(1, len(zero) // 3)
        results[name] = {"first": statistics.mean(zero[:third]), "last": statistics.mean(zero[-third:]),
                         "all": statistics.mean(zero),
                         "reward": statistics.mean(h["reward"] for h in history if "reward" in h)}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--out", type=Path, default=Path("bench-out/grpo-signal"))
    args = parser.parse_args()
    results = run(args.out, args.steps)
    print(f"\nGRPO on the toy share task, {args.steps} steps, 4 prompts x 8 generations per step")
    print(f"{'reward':<26}{'zero-std first 1/3':>20}{'last 1/3':>10}{'all':>8}{'mean reward':>13}")
    for name, r in results.items():
        print(f"{name:<26}{r['first']:>20.3f}{r['last']:>10.3f}{r['all']:>8.3f}{r['reward']:>13.3f}")
    exact, graded = results["exact match"]["all"], results["graded (accuracy_reward)"]["all"]
    print(f"zero-std fraction, graded / exact: {graded / exact:.2f}" if exact else "exact match: no zero-std groups")
    return 0


if __name__ == "__main__":
    sys.exit(main())
