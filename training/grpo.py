"""Stage 2: GRPO alignment with land-use rewards, starting from stage 1's output.

    python -m training.grpo --config training/recipes/grpo_rsvqa.yaml \
        --model_id outputs/stage1 --data_path data/train.json --output_dir outputs/stage2

``--model_id`` may be stage 1's output folder (its adapter is merged into the base first) or a
base model with ``--adapter``. Images reach the model (the dataset's ``images`` column, as TRL
expects), rewards read the rows' ``question``/``answer``/``question_type``/``facts`` columns, and
the merger trains through ``modules_to_save`` when ``--train_merger`` is set. See ``--help``.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from trl import GRPOConfig

    from training import run

    return run.main("grpo", GRPOConfig, build, argv)


def build(model_args, data_args, run_args, training_args):
    """The configured TRL trainer, the model's source and its processor (raises ``TrainingError`` on bad input)."""
    from trl import GRPOTrainer

    from training import data, modeling
    from training.errors import TrainingError
    from training.rewards import load_reward_funcs

    try:
        reward_funcs = load_reward_funcs(run_args.reward_funcs)
    except ValueError as exc:
        raise TrainingError(str(exc)) from None
    # -- Dataset (checked before the model is loaded) ----------------------------------------------
    rows = data.load_rows(data_args.data_path, data_args.image_folder, data_args.skip_bad_rows)
    source, processor = modeling.prepare_processor(model_args, data_args)
    # -- Model ------------------------------------------------------------------------------------
    model, peft_config = modeling.prepare_model(source, model_args)
    train = data.grpo_dataset(rows, Path(training_args.output_dir) / "rendered", processor.tokenizer,
                              data_args.max_question_tokens)
    # -- Training ---------------------------------------------------------------------------------
    training_args.remove_unused_columns = False  # the rewards read question, answer, question_type, facts
    trainer = GRPOTrainer(model=model, reward_funcs=reward_funcs, args=training_args, train_dataset=train,
                          processing_class=processor, peft_config=peft_config)
    return trainer, source, processor


if __name__ == "__main__":
    sys.exit(main())
