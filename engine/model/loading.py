"""Load a Qwen2.5-VL (or Qwen2-VL) checkpoint once per process, in the precision asked, within memory.

Steps: resolve the source (a folder, or a hub id already in the local cache;
the engine never downloads weights by itself), read ``config.json``'s
``model_type`` into a ``ModelFamily``, estimate the memory the weights need
(parameter counts from the model built on the meta device) against the
device's free memory, then ``from_pretrained`` with a bitsandbytes config for
NF4 (double quantisation, vision tower and ``lm_head`` unquantised) or 8-bit,
and apply a LoRA adapter with peft when one is given.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import InsufficientMemoryError, ModelLoadError, ModelNotFoundError, UnsupportedModelError
from engine.model.config import DEFAULT_MODEL, Attention, ModelConfig, ModelFamily, Precision

log = logging.getLogger(__name__)

UNQUANTISED_MODULES = ["model.visual", "visual", "lm_head"]  # the vision tower loses most from quantisation
OVERHEAD = 1.2  # activations, KV cache for a few thousand tokens, CUDA context
_loaded: dict[ModelConfig, LoadedModel] = {}
_lock = threading.Lock()


@dataclass
class LoadedModel:
    """A model ready to generate, with what was loaded and how."""

    model: Any  # transformers model (or peft wrapper)
    processor: Any
    family: ModelFamily
    source: Path
    precision: Precision
    device: str
    attention: Attention
    adapter: Path | None
    parameters: int
    load_seconds: float
    notes: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, object]:
        return {"model": str(self.source), "family": self.family.value, "precision": self.precision.value,
                "device": self.device, "attention": self.attention.value,
                "adapter": str(self.adapter) if self.adapter else None, "parameters": self.parameters,
                "load_seconds": round(self.load_seconds, 2)}


def how_to_get(source: str) -> str:
    """The instructions a user needs when ``source`` is not on this machine."""
    repo = source if "/" in source and not Path(source).is_absolute() else DEFAULT_MODEL
    folder = f"models/{repo.split('/')[-1]}"
    return (f"download the weights once on a machine with internet and copy the folder here: "
            f"'huggingface-cli download {repo} --local-dir {folder}' (Hugging Face) or "
            f"'modelscope download --model {repo} --local_dir {folder}' (ModelScope, reachable in China); "
            f"then pass --model {folder}")


def resolve_source(source: str) -> Path:
    """A local checkpoint folder for ``source`` (a folder, or a hub id in the local cache)."""
    path = Path(source).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(f"{path} has no config.json: it is not a model checkpoint folder")
        return path
    if path.exists():
        raise ModelNotFoundError(f"{path} is a file; give the checkpoint folder that holds config.json")
    looks_like_hub_id = source.count("/") == 1 and not source.startswith((".", "/", "~"))
    if looks_like_hub_id:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            return Path(snapshot_download(source, local_files_only=True))
        except (LocalEntryNotFoundError, OSError, ValueError):
            pass
        raise ModelNotFoundError(f"model {source} is not on this machine (the engine does not download weights); "
                                 + how_to_get(source))
    raise ModelNotFoundError(f"model folder {path} does not exist; " + how_to_get(DEFAULT_MODEL))


def read_family(folder: Path) -> ModelFamily:
    """The architecture named by ``config.json``'s ``model_type``."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {folder / 'config.json'}: {exc}") from None
    model_type = config.get("model_type")
    try:
        return ModelFamily(model_type)
    except ValueError:
        known = ", ".join(f.value for f in ModelFamily)
        raise UnsupportedModelError(f"{folder} is a {model_type!r} model; the engine runs {known}") from None


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(f"device {device} asked for, but torch sees no CUDA GPU; use --device cpu")
    return device


def resolve_precision(precision: Precision, device: str) -> Precision:
    if precision is not Precision.AUTO:
        if precision in (Precision.NF4, Precision.INT8) and importlib.util.find_spec("bitsandbytes") is None:
            raise ModelLoadError(f"{precision.value} needs bitsandbytes (pip install bitsandbytes)")
        return precision
    if importlib.util.find_spec("bitsandbytes") is not None:
        return Precision.NF4
    return Precision.BF16 if device.startswith("cuda") else Precision.FP32


def resolve_attention(attention: Attention, device: str) -> Attention:
    if attention is not Attention.AUTO:
        return attention
    if device.startswith("cuda") and importlib.util.find_spec("flash_attn") is not None:
        return Attention.FLASH_ATTENTION_2
    return Attention.SDPA


def parameter_counts(family: ModelFamily, folder: Path) -> tuple[int, int]:
    """(quantisable, kept) parameter counts: language-model linear layers vs the rest (vision, embeddings...)."""
    import torch
    import transformers

    config = transformers.AutoConfig.from_pretrained(folder)
    with torch.device("meta"):
        model = getattr(transformers, family.class_name)(config)
    quantisable = kept = 0
    seen: set[int] = set()  # tied weights (embeddings and lm_head) count once
    for name, module in model.named_modules():
        own = [p for p in module.parameters(recurse=False) if id(p) not in seen]
        seen.update(id(p) for p in own)
        params = sum(p.numel() for p in own)
        if not params:
            continue
        in_kept = any(name == m or name.startswith(m + ".") for m in UNQUANTISED_MODULES)
        if isinstance(module, torch.nn.Linear) and not in_kept:
            quantisable += params
        else:
            kept += params
    return quantisable, kept


def estimate_bytes(quantisable: int, kept: int, precision: Precision, device: str) -> int:
    """Memory for the weights in ``precision`` plus a margin for activations and the KV cache."""
    kept_bytes = 4 if device == "cpu" and precision in (Precision.FP32, Precision.NF4, Precision.INT8) else 2
    weights = quantisable * precision.bytes_per_weight + kept * kept_bytes
    return int(weights * OVERHEAD)


def free_bytes(device: str) -> int | None:
    """Free memory on ``device`` (GPU memory, or available RAM for the CPU), if known."""
    if device.startswith("cuda"):
        import torch

        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def load(config: ModelConfig) -> LoadedModel:
    """The model for ``config``, loaded on the first call and shared afterwards."""
    with _lock:
        if config not in _loaded:
            _loaded[config] = _load(config)
        return _loaded[config]


def _load(config: ModelConfig) -> LoadedModel:
    import torch
    import transformers

    started = time.perf_counter()
    folder = resolve_source(config.source)
    adapter = config.adapter
    family = read_family(folder)
    if (folder / "adapter_config.json").is_file() and adapter is None:
        raise ModelLoadError(f"{folder} is a LoRA adapter, not a model: pass the base model with --model and "
                             f"this folder with --adapter")
    device = resolve_device(config.device)
    precision = resolve_precision(config.precision, device)
    attention = resolve_attention(config.attention, device)
    quantisable, kept = parameter_counts(family, folder)
    need = estimate_bytes(quantisable, kept, precision, device)
    free = free_bytes(device)
    if config.check_memory and free is not None and need > free:
        raise InsufficientMemoryError(
            f"{folder.name} in {precision.value} needs about {need / 2**30:.1f} GiB on {device}, "
            f"{free / 2**30:.1f} GiB is free; use a lower precision (--precision nf4), a smaller model, "
            "or free memory")
    compute = torch.bfloat16 if device.startswith("cuda") else torch.float32
    kwargs: dict[str, Any] = {"attn_implementation": attention.value, "device_map": device}
    if precision is Precision.NF4:
        kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute, llm_int8_skip_modules=UNQUANTISED_MODULES)
        kwargs["dtype"] = compute
    elif precision is Precision.INT8:
        kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_8bit=True, llm_int8_skip_modules=UNQUANTISED_MODULES)
        kwargs["dtype"] = compute
    else:
        kwargs["dtype"] = torch.bfloat16 if precision is Precision.BF16 else torch.float32
    cls = getattr(transformers, family.class_name)
    try:
        model = cls.from_pretrained(folder, **kwargs)
        bounds = {k: v for k, v in (("min_pixels", config.min_pixels), ("max_pixels", config.max_pixels)) if v}
        processor = transformers.AutoProcessor.from_pretrained(folder, **bounds)
    except (OSError, ValueError, RuntimeError, ImportError) as exc:
        raise ModelLoadError(f"cannot load {folder} ({family.value}, {precision.value} on {device}): {exc}") from exc
    notes = []
    if adapter is not None:
        from peft import PeftModel

        try:
            model = PeftModel.from_pretrained(model, adapter)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise ModelLoadError(f"cannot apply the adapter {adapter} to {folder}: {exc}") from exc
        notes.append(f"LoRA adapter {adapter} applied")
    model.eval()
    seconds = time.perf_counter() - started
    log.info("loaded %s (%s, %s, %s attention) on %s in %.1f s", folder, family.value, precision.value,
             attention.value, device, seconds)
    return LoadedModel(model=model, processor=processor, family=family, source=folder, precision=precision,
                       device=device, attention=attention, adapter=adapter, parameters=quantisable + kept,
                       load_seconds=seconds, notes=notes)


def loaded(config: ModelConfig) -> LoadedModel | None:
    """The model already loaded for ``config``, if any (health reports must not trigger a load)."""
    return _loaded.get(config)

