"""An optional TOML settings file for ``ask`` and ``serve`` (``--config FILE`` or ``$LANDUSE_CONFIG``).

Precedence: command-line options, then environment variables, then this file,
then the built-in defaults. Example::

    [model]
    backend = "local"                      # auto | local | openai | none
    model = "models/Qwen2.5-VL-3B-Instruct"
    precision = "nf4"
    # openai_url = "http://gpu-server:8000/v1"
    # openai_model = "Qwen/Qwen2.5-VL-3B-Instruct"

    [service]
    host = "127.0.0.1"
    port = 8765
    roots = ["/data/imagery"]
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

KNOWN = {
    "model": {"backend", "model", "precision", "device", "adapter", "openai_url", "openai_model", "openai_key",
              "max_new_tokens", "temperature"},
    "service": {"host", "port", "token", "roots", "queue_size"},
}


def load(path: Path | None) -> dict[str, object]:
    """The settings of ``path`` (or ``$LANDUSE_CONFIG``) as one flat dict; empty when there is no file."""
    if path is None:
        env = os.environ.get("LANDUSE_CONFIG")
        path = Path(env) if env else None
    if path is None:
        return {}
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"config file {path} is not valid TOML: {exc}") from None
    flat: dict[str, object] = {}
    for section, values in data.items():
        if section not in KNOWN or not isinstance(values, dict):
            raise ValueError(f"config file {path}: unknown section [{section}]; known: "
                             + ", ".join(f"[{s}]" for s in KNOWN))
        unknown = set(values) - KNOWN[section]
        if unknown:
            raise ValueError(f"config file {path}: unknown key(s) {', '.join(sorted(unknown))} in [{section}]; "
                             f"known: {', '.join(sorted(KNOWN[section]))}")
        flat.update(values)
    return flat
