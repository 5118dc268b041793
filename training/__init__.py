"""Offline training package: SFT with vision LoRA, then GRPO with land-use rewards, then the merge.

Entry points: ``python -m training.sft``, ``training.grpo``, ``training.merge`` (and
``training.toy`` for a smoke-test dataset). It reuses the engine's renderer (GeoTIFF
images) and numbers audit (the grounding reward), so training and inference see the
same images and hold numbers to the same facts.
"""
