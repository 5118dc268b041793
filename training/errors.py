"""The training package's exceptions: one base class, one class per failure a user can act on."""

from __future__ import annotations


class TrainingError(Exception):
    """Base class of every error the training commands report as a one-line message."""


class DataError(TrainingError, ValueError):
    """Rows of a training file are unusable; ``problems`` lists each as "file:row: what is wrong"."""

    def __init__(self, problems: list[str], total: int):
        self.problems, self.total = problems, total
        shown = "\n  ".join(problems[:20]) + (f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else "")
        super().__init__(f"{len(problems)} of {total} rows are unusable (use --skip_bad_rows to train without "
                         f"them):\n  {shown}")


class DataFileError(TrainingError, OSError):
    """A training file cannot be read as JSON or JSON lines."""


class ModelError(TrainingError):
    """The model or adapter to train cannot be loaded (missing, wrong kind, unsupported architecture)."""


class TemplateError(TrainingError):
    """The model's chat template cannot be trained on (no assistant turns to find, or not prefix-preserving)."""
