"""The model to train: loaded by the class its ``config.json`` names, LoRA placed by explicit module paths.

Qwen2.5-VL's vision blocks and language layers both have ``mlp.gate_proj``,
``up_proj`` and ``down_proj``, so LoRA targets are regular expressions anchored
to each part (``PART_PATTERNS``), never bare names. Stage 2 makes the
vision-language merger trainable through ``modules_to_save``, which TRL's PEFT
path honours (the seed's ``--freeze_merger False`` had no effect there).
"""

from __future__ import annotations

import enum
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from training.errors import ModelError

log = logging.getLogger(__name__)


class Part(enum.StrEnum):
    """The parts of a Qwen-VL (2, 2.5 or 3) that LoRA can adapt."""

    VISION = "vision"  # the vision transformer's blocks
    MERGER = "merger"  # the patch merger projecting vision features into the language model
    LANGUAGE = "language"  # the language model's decoder layers


# module paths, anchored to each part (transformers 5 names; older releases lack the leading "model.")
PART_PATTERNS: dict[Part, str] = {
    # the vision MLP is gate/up/down_proj on Qwen2.5-VL, fc1/fc2 on Qwen2-VL, linear_fc1/fc2 on Qwen3-VL
    Part.VISION: r"(?:model\.)?visual\.blocks\.\d+\.(?:attn\.(?:qkv|proj)|"
                 r"mlp\.(?:(?:gate|up|down)_proj|fc1|fc2|linear_fc1|linear_fc2))",
    # Qwen2/2.5-VL: merger.mlp.0/2; Qwen3-VL: merger.linear_fc1/fc2 and the deepstack mergers beside it
    Part.MERGER: r"(?:model\.)?visual\.(?:merger\.mlp\.(?:0|2)|(?:merger|deepstack_merger_list\.\d+)\.linear_fc[12])",
    Part.LANGUAGE: r"(?:model\.)?(?:language_model\.)?(?:model\.)?layers\.\d+\."
                   r"(?:self_attn\.(?:q|k|v|o)_proj|mlp\.(?:gate|up|down)_proj)",
}
# the modules a trained merger saves whole: the merger, and on Qwen3-VL each deepstack merger beside it
MERGER_MODULES = r"(?:model\.)?visual\.(?:merger|deepstack_merger_list\.\d+)"


def parse_parts(text: str) -> tuple[Part, ...]:
    """"language,vision" -> (Part.LANGUAGE, Part.VISION)."""
    parts = []
    for name in (p.strip() for p in text.split(",") if p.strip()):
        try:
            parts.append(Part(name))
        except ValueError:
            raise ValueError(f"unknown LoRA part {name!r}; choose from {', '.join(p.value for p in Part)}") from None
    if not parts:
        raise ValueError("give at least one LoRA part (language, vision, merger)")
    return tuple(dict.fromkeys(parts))


def target_regex(parts: tuple[Part, ...]) -> str:
    """One regular expression (peft matches it against whole module names) for the parts' LoRA targets."""
    return r"^(?:" + "|".join(PART_PATTERNS[p] for p in parts) + r")$"


def lora_config(parts: tuple[Part, ...], r: int, alpha: int, dropout: float, merger_modules: list[str] | None = None):
    """LoRA on ``parts``; ``merger_modules`` (``find_modules(model, MERGER_MODULES)``) trained whole, if given."""
    from peft import LoraConfig

    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_regex(parts),
                      modules_to_save=merger_modules or None, task_type="CAUSAL_LM")


def part_of(name: str) -> str:
    """Which part a parameter belongs to, for the trainable-parameter summary."""
    if ".merger." in name or name.endswith(".merger") or ".deepstack_merger_list." in name:
        return "merger"
    if "visual." in name:
        return "vision"
    if "lm_head" in name:
        return "lm_head"
    if "embed_tokens" in name:
        return "embeddings"
    return "language"


@dataclass(frozen=True)
class PartCount:
    part: str
    trainable: int
    total: int


def trainable_summary(model) -> list[PartCount]:
    """Trainable and total parameters per part (vision, merger, language, embeddings, lm_head)."""
    counts: dict[str, list[int]] = {}
    for name, param in model.named_parameters():
        c = counts.setdefault(part_of(name), [0, 0])
        n = param.numel() * (2 if param.__class__.__name__ == "Params4bit" else 1)  # 4-bit packs two per byte
        c[1] += n
        if param.requires_grad:
            c[0] += n
    order = ["vision", "merger", "language", "embeddings", "lm_head"]
    return [PartCount(p, counts[p][0], counts[p][1]) for p in order if p in counts]


def format_summary(rows: list[PartCount]) -> str:
    lines = [f"{'part':<12}{'trainable':>14}{'total':>16}{'share':>9}"]
    for r in rows:
        lines.append(f"{r.part:<12}{r.trainable:>14,}{r.total:>16,}{100 * r.trainable / max(r.total, 1):>8.2f}%")
    trainable, total = sum(r.trainable for r in rows), sum(r.total for r in rows)
    lines.append(f"{'all':<12}{trainable:>14,}{total:>16,}{100 * trainable / max(total, 1):>8.2f}%")
    return "\n".join(lines)


@dataclass(frozen=True)
class Source:
    """What ``--model_id`` points at: a base checkpoint, optionally with a trained adapter to start from."""

    base: Path
    adapter: Path | None = None


def resolve(model_id: str, adapter: str | None = None) -> Source:
    """A base model folder (or cached hub id, never downloaded) and an optional adapter.

    ``model_id`` may itself be an adapter folder (a previous stage's output): its base is the one
    named in its ``adapter_config.json``.
    """
    from engine.errors import EngineError
    from engine.model.loading import resolve_source

    path = Path(model_id).expanduser()
    if (path / "adapter_config.json").is_file():
        if adapter:
            raise ModelError(f"{model_id} is an adapter already; give the base as --model_id, or drop --adapter")
        base = json.loads((path / "adapter_config.json").read_text(encoding="utf-8")).get("base_model_name_or_path")
        if not base:
            raise ModelError(f"{path / 'adapter_config.json'} does not name its base model")
        model_id, adapter = base, str(path)
    try:
        base_path = resolve_source(model_id)
    except EngineError as exc:
        raise ModelError(str(exc)) from None
    if adapter is not None and not (Path(adapter) / "adapter_config.json").is_file():
        raise ModelError(f"{adapter} has no adapter_config.json: it is not a LoRA adapter folder")
    return Source(base=base_path, adapter=Path(adapter) if adapter else None)


def load_model(source: Source, dtype: str = "auto", load_in_4bit: bool = False, merge_adapter: bool = True):
    """The model (its class from ``config.json``'s ``model_type``) and its processor.

    A starting adapter (stage 1's) is merged into the weights, so the next stage trains its own
    LoRA on top of what stage 1 learnt.
    """
    import torch
    import transformers

    from engine.errors import EngineError
    from engine.model.loading import read_family

    try:
        family = read_family(source.base)
    except EngineError as exc:
        raise ModelError(str(exc)) from None
    cls = getattr(transformers, family.class_name)
    if dtype == "auto":
        dtype = "bfloat16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "float32"
    kwargs: dict[str, object] = {"dtype": getattr(torch, dtype)}
    if load_in_4bit:
        kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=kwargs["dtype"], llm_int8_skip_modules=["visual", "lm_head"])
    model = cls.from_pretrained(source.base, **kwargs)
    processor = load_processor(source)
    if source.adapter is not None:
        from peft import PeftModel

        log.info("starting from the adapter %s", source.adapter)
        model = PeftModel.from_pretrained(model, source.adapter)
        if merge_adapter:
            model = model.merge_and_unload()
    return model, processor


def load_processor(source: Source):
    """The processor (tokenizer, chat template, image processor): an adapter's own if it saved one, else the base's."""
    import transformers

    try:
        return transformers.AutoProcessor.from_pretrained(source.adapter or source.base)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the processor of {source.adapter or source.base}: {exc}") from None


def prepare_processor(model_args, data_args):
    """What both stages check before any weights load: the source, and its processor with the image bounds set."""
    source = resolve(model_args.model_id, model_args.adapter)
    processor = load_processor(source)
    set_image_pixels(processor, data_args.min_pixels, data_args.max_pixels)
    return source, processor


def prepare_model(source: Source, model_args):
    """The model to train and its LoRA config (the merger, and Qwen3-VL's deepstack mergers, saved whole if asked)."""
    model, _ = load_model(source, model_args.dtype, model_args.load_in_4bit)
    merger = find_modules(model, MERGER_MODULES) if model_args.train_merger else None
    peft = lora_config(model_args.parts, model_args.lora_r, model_args.lora_alpha, model_args.lora_dropout, merger)
    return model, peft


def set_image_pixels(processor, min_pixels: int | None, max_pixels: int | None) -> None:
    """Bound the images' pixel counts (the seed's 256·28² to 1280·28²) through the image processor's ``size``."""
    image_processor = processor.image_processor
    size = dict(getattr(image_processor, "size", None) or {})
    if min_pixels:
        size["shortest_edge"] = min_pixels
    if max_pixels:
        size["longest_edge"] = max_pixels
    image_processor.size = size


def machine_overrides() -> tuple[list[str], list[str]]:
    """Command-line overrides for what this machine lacks, and what they change, in words.

    Without a CUDA GPU a run trains on the CPU (slowly) instead of failing on bf16, DeepSpeed or
    Liger; without DeepSpeed or Liger installed, a recipe's use of them is dropped.
    """
    import importlib.util

    import torch

    flags, said = [], []
    if not torch.cuda.is_available():
        flags += ["--use_cpu", "true", "--bf16", "false", "--fp16", "false", "--tf32", "false"]
        said.append("no CUDA GPU: training on the CPU, slowly (bf16 off)")
    if not torch.cuda.is_available() or importlib.util.find_spec("deepspeed") is None:
        flags += ["--deepspeed", ""]
        said.append("DeepSpeed " + ("needs a GPU" if not torch.cuda.is_available() else
                                    "is not installed (scripts/setup.sh --deepspeed)") + ": not used")
    if not torch.cuda.is_available() or importlib.util.find_spec("liger_kernel") is None:
        flags += ["--use_liger_kernel", "false"]
    return flags, said


def find_modules(model, pattern: str) -> list[str]:
    """Names of the modules matching ``pattern`` (what peft's regex target selects)."""
    compiled = re.compile(pattern)
    return [name for name, _ in model.named_modules() if compiled.fullmatch(name)]
