"""What both training stages share: parsing (recipe, command line, this machine), errors, curves, the record.

Every failure of a stage ends as one ``error:`` line on stderr and exit status 2; a bare
``--debug`` shows the traceback instead (``training.failures``).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from training.arguments import DataArguments, ModelArguments, RunArguments
from training.modeling import machine_overrides

log = logging.getLogger(__name__)


def parse(config_cls: type, argv: list[str] | None = None, stage: str = "sft", description: str | None = None):
    """``(model_args, data_args, run_args, training_args, recipe)`` from ``--config recipe.yaml`` and the command line.

    The command line wins over the recipe; what this machine cannot do (no GPU, no DeepSpeed) is
    switched off last, and said.
    """
    from trl import TrlParser

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = list(sys.argv[1:] if argv is None else argv)
    parser = TrlParser((ModelArguments, DataArguments, RunArguments, config_cls), prog=f"python -m training.{stage}",
                       description=description)
    if any(a in ("-h", "--help") for a in args):
        parser.parse_args_and_config(args)  # prints the help and exits
    flags, said = machine_overrides()
    for line in said:
        log.warning(line)
    recipe = next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "--config"), None)
    return (*parser.parse_args_and_config(args + flags), recipe)


def main(stage: str, config_cls: type, build, argv: list[str] | None = None) -> int:
    """Run a stage; every failure is one ``error:`` line and exit status 2 (``--debug``: the traceback)."""
    from training.failures import one_line_errors, take_debug

    args = list(sys.argv[1:] if argv is None else argv)
    debug = take_debug(args)
    return one_line_errors(lambda: train(stage, build, *parse(config_cls, args, stage,
                                                              sys.modules[build.__module__].__doc__)), debug)


def train(stage: str, build, model_args, data_args, run_args, training_args, recipe) -> int:
    """Build the stage's trainer, train (resuming when asked), save the adapter, curves and record."""
    from training.modeling import format_summary, trainable_summary

    trainer, source, processor = build(model_args, data_args, run_args, training_args)
    print(format_summary(trainable_summary(trainer.model)))  # trainable parameters per part
    resume = newest_checkpoint(training_args.output_dir) if run_args.resume else None
    trainer.train(resume_from_checkpoint=resume)
    trainer.save_model(training_args.output_dir)
    processor.save_pretrained(training_args.output_dir)
    write_record(training_args.output_dir, stage, recipe, model_args, data_args, training_args, trainer,
                 source.base, source.adapter)
    (Path(training_args.output_dir) / "log_history.json").write_text(json.dumps(trainer.state.log_history, indent=1))
    curves = save_curves(trainer.state.log_history, Path(training_args.output_dir) / "curves.png")
    log.info("adapter saved to %s%s", training_args.output_dir, f"; curves in {curves}" if curves else "")
    return 0


def newest_checkpoint(output_dir: str) -> str | None:
    checkpoints = sorted(Path(output_dir).glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    return str(checkpoints[-1]) if checkpoints else None


def curve_keys(log_history: list[dict]) -> list[str]:
    """What to plot: the loss, the total reward, each reward function's mean, and GRPO's zero-std fraction
    (the share of groups whose rewards are all equal, so their advantage is zero and they teach nothing)."""
    logged = {k for h in log_history for k in h}
    per_reward = sorted(k for k in logged if k.startswith("rewards/") and k.endswith("/mean"))
    return [k for k in ("loss", "reward", *per_reward, "frac_reward_zero_std") if k in logged]


def save_curves(log_history: list[dict], out: Path, keys: list[str] | None = None) -> Path | None:
    """A PNG of the logged curves (``curve_keys``) against the step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = curve_keys(log_history) if keys is None else keys
    series = {k: [(h["step"], h[k]) for h in log_history if k in h and "step" in h] for k in keys}
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    columns = min(3, len(series))
    rows = -(-len(series) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.5 * rows), squeeze=False)
    for ax, (key, points) in zip(axes.flat, series.items(), strict=False):
        ax.plot([p[0] for p in points], [p[1] for p in points])
        ax.set_xlabel("step")
        ax.set_title(key)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(series):]:
        ax.set_visible(False)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def write_record(output_dir: str, stage: str, recipe: str | None, model_args: ModelArguments, data_args: DataArguments,
                 training_args, trainer, base: Path, start_adapter: Path | None) -> None:
    """``training_record.json``: provenance the merge's model card reads (base, data, recipe, steps, metrics)."""
    history = trainer.state.log_history
    final = {k: v for h in history for k, v in h.items()
             if k in ("loss", "reward", "train_loss", "frac_reward_zero_std") or
             (k.startswith("rewards/") and k.endswith("/mean"))}
    record = {"stage": stage, "base_model": absolute(base),
              "start_adapter": absolute(start_adapter) if start_adapter else None,
              "data_path": absolute(data_args.data_path), "recipe": recipe, "lora_parts": model_args.lora_parts,
              "lora_r": model_args.lora_r, "lora_alpha": model_args.lora_alpha, "train_merger": model_args.train_merger,
              "learning_rate": training_args.learning_rate, "steps": trainer.state.global_step,
              "last_logged": final, "device": "cpu" if training_args.use_cpu else "cuda"}
    (Path(output_dir) / "training_record.json").write_text(json.dumps(record, indent=2, ensure_ascii=False))
    config = Path(output_dir) / "adapter_config.json"  # peft writes the base as it was given: maybe relative
    if config.is_file():
        adapter = json.loads(config.read_text(encoding="utf-8"))
        adapter["base_model_name_or_path"] = absolute(adapter.get("base_model_name_or_path") or base)
        config.write_text(json.dumps(adapter, indent=2), encoding="utf-8")


def absolute(value: str | Path) -> str:
    """A local path made absolute, so the record works from any folder; a hub id (no such path) as it is."""
    path = Path(str(value)).expanduser()
    return str(path.resolve()) if path.exists() else str(value)
