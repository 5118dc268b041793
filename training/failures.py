"""How the training commands end on failure: one ``error:`` line and exit status 2, never a traceback.

A bare ``--debug`` shows the traceback instead (transformers' own ``--debug OPTION``, where a
command parses ``TrainingArguments``, keeps its meaning).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

INTERRUPTED = 130


def describe(exc: BaseException) -> str:
    """One line for a failure: ours (and bad values) as they are, anything else with its kind and where to see more."""
    from engine.errors import EngineError
    from training.errors import TrainingError

    if isinstance(exc, TrainingError | EngineError | ValueError):
        return str(exc)
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {first} (run again with --debug for the traceback)"


def take_debug(args: list[str]) -> bool:
    """Remove a bare ``--debug`` from ``args``; ``--debug underflow_overflow`` (transformers') stays."""
    from transformers.debug_utils import DebugOption

    values = {o.value for o in DebugOption}
    found = [i for i, a in enumerate(args) if a == "--debug" and (i + 1 == len(args) or args[i + 1] not in values)]
    for i in reversed(found):
        del args[i]
    return bool(found)


def one_line_errors(body: Callable[[], int], debug: bool = False) -> int:
    """``body()``'s exit status; any failure printed as one ``error:`` line with status 2 (re-raised with debug)."""
    try:
        return body()
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as exc:
        if debug:
            raise
        print(f"error: {describe(exc)}", file=sys.stderr)
        return 2
