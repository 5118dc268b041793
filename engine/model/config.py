"""Which vision-language model to run and how: source, precision, device, attention, adapter.

The architecture is read from the checkpoint's ``config.json`` (``model_type``)
and mapped through ``ModelFamily``, never guessed from a path.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL = "Qwen/Qwen2.5-VL-3B-Instruct"


class ModelFamily(enum.StrEnum):
    """Architectures the engine runs, keyed by ``config.json``'s ``model_type``."""

    QWEN2_5_VL = "qwen2_5_vl"
    QWEN2_VL = "qwen2_vl"
    QWEN3_VL = "qwen3_vl"

    @property
    def class_name(self) -> str:
        """The transformers class that loads it."""
        return {ModelFamily.QWEN2_5_VL: "Qwen2_5_VLForConditionalGeneration",
                ModelFamily.QWEN2_VL: "Qwen2VLForConditionalGeneration",
                ModelFamily.QWEN3_VL: "Qwen3VLForConditionalGeneration"}[self]

    @property
    def box_scale(self) -> int | None:
        """What grounding boxes are relative to: None for the image's pixels (Qwen2/2.5-VL), 1000 for Qwen3-VL."""
        return 1000 if self is ModelFamily.QWEN3_VL else None


class Precision(enum.StrEnum):
    """Weight precision. ``auto``: 4-bit NF4 when bitsandbytes is installed, else bf16 on GPU, fp32 on CPU."""

    AUTO = "auto"
    NF4 = "nf4"  # 4-bit NormalFloat, double quantisation; vision tower kept unquantised
    INT8 = "int8"
    BF16 = "bf16"
    FP32 = "fp32"

    @property
    def bytes_per_weight(self) -> float:
        return {Precision.NF4: 0.5 + 0.0625, Precision.INT8: 1.0 + 0.03, Precision.BF16: 2.0,
                Precision.FP32: 4.0}[self]  # quantised: plus scales (double-quantised for NF4)


class Attention(enum.StrEnum):
    AUTO = "auto"  # flash-attention 2 when installed and on GPU, else SDPA
    FLASH_ATTENTION_2 = "flash_attention_2"
    SDPA = "sdpa"
    EAGER = "eager"


@dataclass(frozen=True)
class ModelConfig:
    """How to load the model; ``source`` is a local folder or a Hugging Face hub id."""

    source: str = DEFAULT_MODEL
    precision: Precision = Precision.AUTO
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    attention: Attention = Attention.AUTO
    adapter: Path | None = None  # a peft LoRA adapter folder, applied on load
    min_pixels: int | None = None  # image size bounds for the processor; None: the checkpoint's own
    max_pixels: int | None = None
    check_memory: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "precision", Precision(self.precision))
        object.__setattr__(self, "attention", Attention(self.attention))
        if not self.source:
            raise ValueError("the model source is empty: give a local folder or a hub id such as " + DEFAULT_MODEL)
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise ValueError(f"device {self.device!r} must be auto, cpu, cuda or cuda:N")
        low, high = self.min_pixels or 1, self.max_pixels or 1 << 40
        if not 0 < low <= high:
            raise ValueError(f"min_pixels ({self.min_pixels}) must be positive and <= max_pixels ({self.max_pixels})")
        if self.adapter is not None and not Path(self.adapter, "adapter_config.json").is_file():
            raise ValueError(f"{self.adapter} is not a LoRA adapter folder (no adapter_config.json)")


@dataclass(frozen=True)
class GenerationConfig:
    """Sampling settings of one answer."""

    max_new_tokens: int = 512
    temperature: float = 0.0  # 0: greedy, so the same facts give the same wording
    top_p: float = 0.9

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature {self.temperature} must be in [0, 2]")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p {self.top_p} must be in (0, 1]")
