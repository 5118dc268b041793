"""A tiny, randomly initialised Qwen-VL (2, 2.5 or 3) for tests and offline demos.

It uses the real classes (e.g. ``Qwen2_5_VLForConditionalGeneration`` and
``Qwen2_5_VLProcessor`` with Qwen's image and video processors), is written with
``save_pretrained`` and loads with ``from_pretrained`` exactly as the real 3B
checkpoint does; only the sizes are small (a few hundred thousand parameters).
Its tokenizer is a byte-level BPE trained here on a small bilingual land-use
corpus, carrying Qwen's special tokens and chat template, so prompts are laid
out as in production. The idea follows nanoVLM's and TRL's tiny test models.
It knows nothing: its answers are random tokens.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from pathlib import Path

from engine.errors import ModelBuildError
from engine.model.config import ModelFamily

log = logging.getLogger(__name__)

#: Qwen2.5-VL's special tokens, in Qwen's order.
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
)
TINY_VOCAB = 1024
TINY_MIN_PIXELS = 4 * 28 * 28
TINY_MAX_PIXELS = 64 * 28 * 28
# The (tied) embeddings are drawn wider than transformers' 0.02: behind a frozen final norm, 0.02 caps every
# logit near 1.3, so no LoRA could make the tiny model confident and training tests could not show learning.
TINY_EMBEDDING_STD = 0.3

_CORPUS = (
    "You are a helpful assistant. The user asks about a satellite image of a county. "
    "Answer with the measured facts only. water built-up bare cropland forest grassland invalid cloud shadow "
    "area change from to increase decrease hectare hectares km2 square kilometres mu percent NDVI MNDWI NDBI BSI "
    "Landsat Sentinel true colour false colour near infrared red green blue yes no is there how many what "
    "{\"bbox_2d\": [10, 20, 110, 220], \"label\": \"built_up\"} 0 1 2 3 4 5 6 7 8 9 10 25 100 0.5 12.5 2024-05-01",
    "你是县域自然资源局的土地利用监测助手。请只使用测量得到的数据回答。水体 建设用地 裸地 耕地 草地 林地 无效 云 阴影 "
    "面积 变化 新增 减少 公顷 亩 平方公里 平方米 百分比 是否 是不是 有没有 吗 多少 几个 "
    "基本农田 生态红线 保护区 边界 侵占 疑似违规建设 建议实地核查 土地利用结构 趋势 第二季度 2024年 2023年",
)


def _train_tokenizer():  # -> transformers.PreTrainedTokenizerFast
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TINY_VOCAB - len(QWEN_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(_CORPUS) * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok)
    fast.add_special_tokens({"additional_special_tokens": list(QWEN_SPECIAL_TOKENS)})
    fast.eos_token = "<|im_end|>"
    fast.pad_token = "<|endoftext|>"
    fast.padding_side = "left"
    return fast


def qwen25_vl_chat_template() -> str:
    """Qwen2.5-VL's chat template, as shipped with TRL (identical to the model's own, and to Qwen2-VL's)."""
    return resources.files("trl").joinpath("chat_templates/qwen2_5_vl.jinja").read_text()


def qwen3_vl_chat_template() -> str:
    """Qwen3-VL's chat template, as shipped with TRL (identical to the model's own)."""
    return resources.files("trl").joinpath("chat_templates/qwen3_vl.jinja").read_text()


def _config(family: ModelFamily, ids: dict[str, int], vocab_size: int):
    """A tiny config of ``family``: two decoder layers of width 64, two vision blocks of width 32."""
    import transformers

    text = {"vocab_size": vocab_size, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 4096,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]},
            "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"]}
    tokens = {"image_token_id": ids["<|image_pad|>"], "video_token_id": ids["<|video_pad|>"],
              "vision_start_token_id": ids["<|vision_start|>"], "vision_end_token_id": ids["<|vision_end|>"]}
    if family is ModelFamily.QWEN2_VL:
        vision = {"depth": 2, "embed_dim": 32, "hidden_size": 64, "num_heads": 2, "mlp_ratio": 2,
                  "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2}
        return transformers.Qwen2VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=True,
                                          **tokens)
    if family is ModelFamily.QWEN3_VL:
        text = {**text, "head_dim": 16, "rope_parameters": {**text["rope_parameters"], "mrope_interleaved": True}}
        vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64,
                  "deepstack_visual_indexes": [1], "num_position_embeddings": 64, "patch_size": 16,
                  "spatial_merge_size": 2, "temporal_patch_size": 2}
        return transformers.Qwen3VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=True,
                                          **tokens)
    vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64,
              "fullatt_block_indexes": [1], "window_size": 112, "patch_size": 14, "spatial_merge_size": 2,
              "temporal_patch_size": 2}
    return transformers.Qwen2_5_VLConfig(text_config={**text, "max_window_layers": 2}, vision_config=vision,
                                         tie_word_embeddings=True, **tokens)


def _processor(family: ModelFamily, tokenizer, chat_template: str | None):
    """The family's real processor around the tiny tokenizer; Qwen3-VL sees 32-px (16 x 2) tokens."""
    import transformers

    if family is ModelFamily.QWEN3_VL:
        side = 32
        image = transformers.Qwen2VLImageProcessor(min_pixels=4 * side * side, max_pixels=64 * side * side,
                                                   patch_size=16, merge_size=2)
        video = transformers.Qwen3VLVideoProcessor()
        cls, template = transformers.Qwen3VLProcessor, chat_template or qwen3_vl_chat_template()
    else:
        image = transformers.Qwen2VLImageProcessor(min_pixels=TINY_MIN_PIXELS, max_pixels=TINY_MAX_PIXELS)
        video = transformers.Qwen2VLVideoProcessor()
        cls = transformers.Qwen2VLProcessor if family is ModelFamily.QWEN2_VL else transformers.Qwen2_5_VLProcessor
        template = chat_template or qwen25_vl_chat_template()
    return cls(image_processor=image, tokenizer=tokenizer, video_processor=video, chat_template=template)


def build_tiny_model(output: str | Path, seed: int = 0, family: ModelFamily | str = ModelFamily.QWEN2_5_VL,
                     chat_template: str | None = None) -> Path:
    """Write a tiny random model of ``family`` (model + processor) to ``output`` and return it.

    ``chat_template`` replaces the family's own (as an edited or re-saved checkpoint would).
    """
    import torch
    import transformers

    output, family = Path(output), ModelFamily(family)
    try:
        tokenizer = _train_tokenizer()
        ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIAL_TOKENS}
        config = _config(family, ids, len(tokenizer))
        torch.manual_seed(seed)
        model = getattr(transformers, family.class_name)(config).eval()
        with torch.no_grad():
            model.get_input_embeddings().weight.normal_(0.0, TINY_EMBEDDING_STD)
        model.generation_config.eos_token_id = ids["<|im_end|>"]
        model.generation_config.pad_token_id = ids["<|endoftext|>"]
        processor = _processor(family, tokenizer, chat_template)
        output.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(output)
        processor.save_pretrained(output)
        n_params = sum(p.numel() for p in model.parameters())
        (output / "TINY_MODEL.json").write_text(json.dumps({
            "what": f"tiny randomly initialised {family.value} for tests and offline demos; it knows nothing",
            "parameters": n_params, "seed": seed, "family": family.value,
            "chat_template": "edited" if chat_template else "the family's own",
        }, indent=2))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ModelBuildError(f"could not build the tiny model in {output}: {exc}") from exc
    log.info("tiny %s (%d parameters) written to %s", family.value, n_params, output)
    return output
