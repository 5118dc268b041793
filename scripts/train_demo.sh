#!/usr/bin/env bash
# The training pipeline end to end on this machine's CPU, with the tiny test model and a toy dataset:
# stage 1 (SFT, vision + language LoRA), stage 2 (GRPO from stage 1), merge, and an ask with the merged
# model. It shows that the commands work, not that the model learns anything useful (the real recipe
# needs the real weights and a GPU; see the README's "Training" section).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out=demo-output/training
rm -rf "$out"
mkdir -p "$out"
py=.venv/bin/python
cpu_small=(--max_steps 20 --per_device_train_batch_size 8 --min_pixels 3136 --max_pixels 3136
           --report_to tensorboard)

echo "== the tiny model and a toy dataset (水体占比是多少？ answered 0%-100%)"
$py -m engine make-tiny-model "$out/tiny"
$py -m training.toy "$out/data" --rows 64 --task share
echo "== stage 1: SFT"
$py -m training.sft --config training/recipes/sft_lora_vision.yaml --model_id "$out/tiny" \
  --data_path "$out/data/train.json" --output_dir "$out/stage1" "${cpu_small[@]}" --learning_rate 1e-2
echo "== stage 2: GRPO from stage 1"
$py -m training.grpo --config training/recipes/grpo_rsvqa.yaml --model_id "$out/stage1" \
  --data_path "$out/data/train.json" --output_dir "$out/stage2" "${cpu_small[@]}" --num_generations 8 \
  --max_completion_length 8 --learning_rate 2e-3 --per_device_train_batch_size 32 --gradient_accumulation_steps 2
$py - "$out/stage2/log_history.json" <<'PY'
import json, sys
zero = [h["frac_reward_zero_std"] for h in json.load(open(sys.argv[1])) if "frac_reward_zero_std" in h]
print(f"groups with all-equal rewards (no GRPO signal): {sum(zero) / len(zero):.0%} of the logged steps' groups")
PY
echo "   curves: $out/stage2/curves.png; TensorBoard: .venv/bin/tensorboard --logdir $out"
echo "== merge"
$py -m training.merge --adapter "$out/stage2" --output_dir "$out/merged"
echo "== ask with the merged model"
$py -m engine ask --demo --quiet --backend local --model "$out/merged" --device cpu --precision fp32 \
  --max-new-tokens 16
