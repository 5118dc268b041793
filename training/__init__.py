"""Offline training package: SFT with vision LoRA, then GRPO with land-use rewards.

Not implemented yet (see the README's "Training" section). It will reuse the
engine's renderer and facts, so training and inference see the same images and
the same numbers.
"""
