"""The tiny Qwen2.5-VL round-trips through save/from_pretrained and generates from an image and a question."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from conftest import L8
from transformers import AutoConfig, AutoProcessor, Qwen2_5_VLForConditionalGeneration

from engine.scene.layer import open_layer
from engine.scene.render import render
from engine.types import LayerSpec


def test_tiny_model_is_the_real_architecture(tiny_model_dir: Path) -> None:
    config = AutoConfig.from_pretrained(tiny_model_dir)
    assert config.model_type == "qwen2_5_vl"
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(tiny_model_dir)
    n_params = sum(p.numel() for p in model.parameters())
    assert 50_000 < n_params < 1_000_000
    info = json.loads((tiny_model_dir / "TINY_MODEL.json").read_text())
    assert info["parameters"] == n_params


def test_processor_has_qwen_special_tokens_and_chat_template(tiny_model_dir: Path) -> None:
    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    tok = processor.tokenizer
    config = AutoConfig.from_pretrained(tiny_model_dir)
    assert tok.convert_tokens_to_ids("<|image_pad|>") == config.image_token_id
    assert tok.convert_tokens_to_ids("<|vision_start|>") == config.vision_start_token_id
    text = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "新增耕地面积是多少？"}]}],
        add_generation_prompt=True,
    )
    assert "<|vision_start|><|image_pad|><|vision_end|>新增耕地面积是多少？" in text
    assert text.endswith("<|im_start|>assistant\n")
    # Chinese round-trips through the byte-level BPE
    ids = tok("基本农田内疑似违规建设", add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == "基本农田内疑似违规建设"


def test_generates_tokens_from_rendered_scene_and_question(tiny_model_dir: Path) -> None:
    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(tiny_model_dir).eval()
    _, _, tiles = render(open_layer(LayerSpec(path=L8)))
    image = next(iter(tiles)).image
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "图中是否有水体？"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    inputs = processor(text=[text], images=[image], return_tensors="pt")
    n_image_tokens = int((inputs["input_ids"] == model.config.image_token_id).sum())
    grid = inputs["image_grid_thw"][0]
    assert n_image_tokens == int(grid.prod()) // 4  # 2x2 patch merge
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=6, do_sample=False)
    new = out[0, inputs["input_ids"].shape[1]:]
    assert 1 <= new.numel() <= 6
    # the image really reaches the model: a different image changes the logits
    with torch.no_grad():
        a = model(**inputs).logits[0, -1]
        other = processor(text=[text], images=[np.zeros_like(image)], return_tensors="pt")
        b = model(**other).logits[0, -1]
    assert not torch.allclose(a, b)


def test_cli_writes_tiny_model(tmp_path: Path) -> None:
    from engine.cli import main

    assert main(["make-tiny-model", str(tmp_path / "m")]) == 0
    assert (tmp_path / "m" / "config.json").exists() and (tmp_path / "m" / "model.safetensors").exists()
