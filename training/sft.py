"""Stage 1: supervised fine-tuning with LoRA on the vision tower and the language model.

    python -m training.sft --config training/recipes/sft_lora_vision.yaml \
        --model_id Qwen/Qwen2.5-VL-3B-Instruct --data_path data/train.json --output_dir outputs/stage1

Loss is on the assistant's tokens only (prompt and image tokens are masked): through TRL's
``assistant_only_loss`` where TRL knows the chat template, else by the assistant turns' token
spans read off the model's own template (``training.templates``), so any Qwen-VL checkpoint
trains. Checkpoints hold the adapter, not the whole model. See ``--help``.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from trl import SFTConfig

    from training import run

    return run.main("sft", SFTConfig, build, argv)


def build(model_args, data_args, run_args, training_args):
    """The configured TRL trainer, the model's source and its processor (raises ``TrainingError`` on bad input)."""
    from trl import SFTTrainer

    from training import data, lengths, modeling, templates

    # -- Dataset, chat template and lengths (checked before the model is loaded) ------------------
    cache = Path(training_args.output_dir) / "rendered"
    rows = data.load_rows(data_args.data_path, data_args.image_folder, data_args.skip_bad_rows)
    held = (data.load_rows(data_args.eval_data_path, data_args.image_folder, data_args.skip_bad_rows)
            if data_args.eval_data_path else None)
    source, processor = modeling.prepare_processor(model_args, data_args)
    masking = templates.plan(processor)
    fits = [lengths.check_lengths(r, processor, training_args.max_length, cache, data_args.skip_bad_rows)
            if r else None for r in (rows, held)]
    train, evaluation = (data.sft_dataset(r, cache) if r else None for r in fits)
    # -- Model ------------------------------------------------------------------------------------
    model, peft_config = modeling.prepare_model(source, model_args)
    # -- Training ---------------------------------------------------------------------------------
    training_args.assistant_only_loss = masking.by_trl  # loss on the answers only: prompt and images masked
    training_args.remove_unused_columns = False
    collator = None if masking.by_trl else templates.SpanMaskingCollator(
        processor, masking.markers, training_args.max_length, training_args.pad_to_multiple_of)
    trainer = SFTTrainer(model=model, args=training_args, train_dataset=train, eval_dataset=evaluation,
                         processing_class=processor, peft_config=peft_config, data_collator=collator)
    return trainer, source, processor


if __name__ == "__main__":
    sys.exit(main())
