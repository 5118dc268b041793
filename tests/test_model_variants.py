"""Model variants through the one loader: LoRA adapters, merged models, Qwen2-VL; grounding on a rendered scene."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from pyproj import Transformer
from scipy import ndimage
from shapely.geometry import shape

from engine.analysis.run import analyse
from engine.answer.grounding import boxes_to_features
from engine.ask import render_images
from engine.model import loading
from engine.model.config import ModelConfig, ModelFamily
from engine.synthetic import CLASS_CODES, SyntheticSpec, write_scene
from engine.types import LayerSpec


def _logits(model: torch.nn.Module, vocab: int) -> torch.Tensor:
    ids = torch.arange(1, 12).unsqueeze(0) % vocab
    with torch.no_grad():
        return model(input_ids=ids).logits


@pytest.fixture(scope="module")
def adapter_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2_5_VLForConditionalGeneration

    base = Qwen2_5_VLForConditionalGeneration.from_pretrained(tiny_model_dir)
    lora = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                           init_lora_weights=False))  # non-zero B: the adapter changes outputs
    out = tmp_path_factory.mktemp("adapter")
    lora.save_pretrained(out)
    return out


def test_lora_adapter_is_applied_on_load(tiny_model_dir: Path, adapter_dir: Path) -> None:
    plain = loading.load(ModelConfig(source=str(tiny_model_dir), precision="fp32", device="cpu"))
    adapted = loading.load(ModelConfig(source=str(tiny_model_dir), precision="fp32", device="cpu",
                                       adapter=adapter_dir))
    assert type(adapted.model).__name__ == "PeftModel" and adapted.describe()["adapter"] == str(adapter_dir)
    vocab = plain.model.config.text_config.vocab_size
    assert not torch.allclose(_logits(plain.model, vocab), _logits(adapted.model, vocab))


def test_merged_model_loads_as_a_plain_model(tiny_model_dir: Path, adapter_dir: Path, tmp_path: Path) -> None:
    from peft import PeftModel
    from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

    merged = PeftModel.from_pretrained(Qwen2_5_VLForConditionalGeneration.from_pretrained(tiny_model_dir),
                                       adapter_dir).merge_and_unload()
    merged.save_pretrained(tmp_path / "merged")
    AutoProcessor.from_pretrained(tiny_model_dir).save_pretrained(tmp_path / "merged")
    lm = loading.load(ModelConfig(source=str(tmp_path / "merged"), precision="fp32", device="cpu"))
    assert type(lm.model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    adapted = loading.load(ModelConfig(source=str(tiny_model_dir), precision="fp32", device="cpu",
                                       adapter=adapter_dir))
    vocab = lm.model.config.text_config.vocab_size
    torch.testing.assert_close(_logits(lm.model, vocab), _logits(adapted.model, vocab), rtol=1e-4, atol=1e-4)


def test_an_adapter_given_as_the_model_is_refused_with_the_fix(adapter_dir: Path, tmp_path: Path,
                                                               tiny_model_dir: Path) -> None:
    folder = tmp_path / "adapter-as-model"
    shutil.copytree(adapter_dir, folder)
    shutil.copy(tiny_model_dir / "config.json", folder / "config.json")
    with pytest.raises(Exception, match="--adapter"):
        loading.load(ModelConfig(source=str(folder), precision="fp32", device="cpu"))


def test_qwen2_vl_loads_through_the_same_code(tiny_model_dir: Path, tmp_path: Path) -> None:
    import transformers

    tiny = transformers.AutoConfig.from_pretrained(tiny_model_dir)
    text = tiny.text_config.to_dict()
    config = transformers.Qwen2VLConfig(
        text_config={k: text[k] for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                                          "num_attention_heads", "num_key_value_heads", "rope_parameters",
                                          "bos_token_id", "eos_token_id", "pad_token_id")},
        vision_config={"depth": 2, "embed_dim": 32, "hidden_size": 64, "num_heads": 2, "mlp_ratio": 2,
                       "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2},
        image_token_id=tiny.image_token_id, video_token_id=tiny.video_token_id,
        vision_start_token_id=tiny.vision_start_token_id, vision_end_token_id=tiny.vision_end_token_id)
    folder = tmp_path / "tiny-qwen2-vl"
    transformers.Qwen2VLForConditionalGeneration(config).save_pretrained(folder)
    for f in tiny_model_dir.iterdir():
        if f.suffix in (".json", ".jinja", ".txt") and f.name not in ("config.json", "generation_config.json"):
            shutil.copy(f, folder / f.name)
    lm = loading.load(ModelConfig(source=str(folder), precision="nf4", device="cpu"))
    assert lm.family is ModelFamily.QWEN2_VL and type(lm.model).__name__ == "Qwen2VLForConditionalGeneration"


def test_a_box_around_dark_water_in_the_image_lands_on_water_in_the_truth(tmp_path: Path) -> None:
    """Image content -> bbox_2d -> map polygon -> truth raster: no transform is inverted by the test."""
    scene = write_scene(SyntheticSpec(width=448, height=336, patch_px=56, seed=3, noise=0.0), tmp_path)
    result = analyse([LayerSpec(path=p) for p in scene.layers])
    images = render_images(result, (28 * 28, 448 * 336))
    false_colour = next(i for i in images if i.frame.composite == "false_color" and i.frame.date == "2023-05-01")
    dark = false_colour.pixels[..., 0] < 20  # water: no near-infrared (the red channel of the false colour)
    labels, n = ndimage.label(dark)
    assert n > 0
    biggest = 1 + int(np.argmax(ndimage.sum(dark, labels, range(1, n + 1))))
    rows, cols = ndimage.find_objects(labels)[biggest - 1]
    text = (f'{{"bbox_2d": [{cols.start}, {rows.start}, {cols.stop}, {rows.stop}], "label": "water", '
            f'"image": {next(n for n, i in enumerate(images, 1) if i is false_colour)}}}')
    (feature,) = boxes_to_features(text, [i.frame for i in images])
    to_grid = Transformer.from_crs("EPSG:4326", scene.spec.crs, always_xy=True)
    ring = [to_grid.transform(lon, lat) for lon, lat in shape(feature["geometry"]).exterior.coords]
    xmin, ymin = min(x for x, _ in ring), min(y for _, y in ring)
    xmax, ymax = max(x for x, _ in ring), max(y for _, y in ring)
    with rasterio.open(scene.truth[0]) as src:
        window = rasterio.windows.from_bounds(xmin, ymin, xmax, ymax, src.transform).round_offsets().round_lengths()
        truth = src.read(1, window=window)
    assert (truth == CLASS_CODES["water"]).mean() > 0.8  # the box covers water on the ground


def test_qwen3_vl_answers_through_the_same_code(tmp_path: Path) -> None:
    """A Qwen3-VL checkpoint (32-px visual tokens, its own template) loads in 4-bit and answers an ask."""
    from test_ask_pipeline import LAYERS, demo_analysis

    from engine.ask import AskRequest, collect
    from engine.ask import ask as run_ask
    from engine.model.backends import LocalBackend
    from engine.model.config import GenerationConfig
    from engine.model.tiny import build_tiny_model

    folder = build_tiny_model(tmp_path / "tiny-qwen3-vl", family="qwen3_vl")
    config = ModelConfig(source=str(folder), precision="nf4", device="cpu")
    lm = loading.load(config)
    assert lm.family is ModelFamily.QWEN3_VL and type(lm.model).__name__ == "Qwen3VLForConditionalGeneration"
    backend = LocalBackend(config)
    assert backend.box_scale() == 1000
    out = collect(run_ask(AskRequest("新增建设用地面积是多少？", LAYERS, analysis=demo_analysis()), backend,
                          generation=GenerationConfig(max_new_tokens=4)))
    assert not out["errors"] and out["timings"].get("first_token_s") is not None
