"""Model stage: loading Qwen2.5-VL checkpoints (and the tiny test model)."""
