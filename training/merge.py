"""Merge the trained adapters into the base model, in bf16, for the engine (and vLLM, which ignores vision LoRA).

    python -m training.merge --adapter outputs/stage2 --output_dir models/county-qwen2.5-vl

The chain is followed back from ``--adapter``: stage 2's record names the stage 1 adapter it
started from, stage 1's adapter names the base. Each adapter is merged in turn, in the order
they were trained. The folder written holds safetensors weights, the processor files and a model
card with the provenance (base, data, recipes, steps, metrics); the engine loads it as it is.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("training.merge")


@dataclass
class MergeArguments:
    adapter: str = field(metadata={"help": "the last stage's output folder (e.g. outputs/stage2)"})
    output_dir: str = field(metadata={"help": "where the merged model is written"})
    model_id: str | None = field(default=None, metadata={
        "help": "the base model, when it is not where the first adapter's adapter_config.json says"})
    dtype: str = field(default="bfloat16", metadata={
        "help": "dtype the merge is done and saved in: bfloat16 (default; never float16, which overflows) or "
                "float32"})

    def __post_init__(self) -> None:
        if self.dtype not in ("bfloat16", "float32"):
            raise ValueError(f"--dtype {self.dtype}: merge in bfloat16 or float32 (float16 overflows)")


def near(value: str, folder: Path) -> Path:
    """A path from a record: absolute as it is; relative ones tried beside the record's folder, then as given
    (records written before paths were made absolute)."""
    path = Path(value)
    if path.is_absolute() or path.exists():
        return path
    beside = folder.parent / path
    return beside if beside.exists() else path


def adapter_chain(last: Path) -> list[Path]:
    """The adapters from the first stage to ``last``, following each record's ``start_adapter``."""
    from training.errors import ModelError

    chain, current = [], last
    while current is not None:
        if not (current / "adapter_config.json").is_file():
            raise ModelError(f"{current} has no adapter_config.json: give a training stage's output folder")
        if current in chain:
            raise ModelError(f"the adapters' records loop back to {current}")
        chain.append(current)
        record = current / "training_record.json"
        start = json.loads(record.read_text(encoding="utf-8")).get("start_adapter") if record.is_file() else None
        current = near(start, current) if start else None
    return chain[::-1]


def merge(adapters: list[Path], base_id: str | None, dtype: str):
    """The base with every adapter merged in order; returns (model, processor, base path)."""
    import torch
    from peft import PeftModel

    from training.modeling import load_model, resolve

    base = base_id or json.loads((adapters[0] / "adapter_config.json").read_text())["base_model_name_or_path"]
    source = resolve(base)
    model, _ = load_model(source, dtype=dtype)
    for adapter in adapters:
        log.info("merging %s", adapter)
        model = PeftModel.from_pretrained(model, adapter, torch_dtype=getattr(torch, dtype)).merge_and_unload()
    from transformers import AutoProcessor

    # the base's processor: the engine sizes its images itself (training's pixel bounds stay with the run)
    return model, AutoProcessor.from_pretrained(source.base), source.base


def model_card(base: Path, adapters: list[Path], dtype: str) -> str:
    lines = ["---", f"base_model: {base}", "library_name: transformers", "tags: [qwen2.5-vl, land-use, lora-merged]",
             "---", "", "# Merged land-use model", "",
             f"The base model `{base}` with these adapters merged into its weights in {dtype}, in order:", ""]
    for adapter in adapters:
        record_path = adapter / "training_record.json"
        record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.is_file() else {}
        lines.append(f"- `{adapter}`: stage {record.get('stage', '?')}, data `{record.get('data_path', '?')}`, "
                     f"recipe `{record.get('recipe') or 'none (flags only)'}`, "
                     f"LoRA on {record.get('lora_parts', '?')} (r {record.get('lora_r', '?')}, "
                     f"α {record.get('lora_alpha', '?')}), merger trained: {record.get('train_merger', '?')}, "
                     f"{record.get('steps', '?')} steps at lr {record.get('learning_rate', '?')}, "
                     f"last logged {json.dumps(record.get('last_logged', {}))}")
    lines += ["", "Written by `python -m training.merge`; it loads in the engine as it is "
              "(`python -m engine serve --model THIS_FOLDER`)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from transformers import HfArgumentParser

    from training.failures import one_line_errors, take_debug

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = take_debug(argv)
    parser = HfArgumentParser((MergeArguments,), prog="python -m training.merge", description=__doc__.split("\n")[0])
    return one_line_errors(lambda: _merge(*parser.parse_args_into_dataclasses(args=argv)), debug)


def _merge(args: MergeArguments) -> int:
    adapters = adapter_chain(Path(args.adapter))
    model, processor, base = merge(adapters, args.model_id, args.dtype)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    processor.save_pretrained(out)
    (out / "README.md").write_text(model_card(base, adapters, args.dtype), encoding="utf-8")
    print(f"merged {len(adapters)} adapter(s) into {base}: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
