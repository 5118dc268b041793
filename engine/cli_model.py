"""The command line's model options (``--backend``, ``--model``, ``--openai-url``, ...) and the backend they choose,
shared by ``ask``, ``serve`` and ``report``. An option comes from the command line, else the environment, else the
``--config`` file, else its default."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from engine.cli_measure import positive_int


def add_backend_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None, metavar="FILE.toml",
                   help="settings file (default $LANDUSE_CONFIG); options and environment variables win over it")
    p.add_argument("--backend", choices=["auto", "local", "openai", "none"], default=None,
                   help="how to answer (default $LANDUSE_BACKEND, the config file, else auto)")
    p.add_argument("--model", default=None, metavar="DIR|HUB_ID",
                   help="model folder or hub id already downloaded (default $LANDUSE_MODEL, the config file, "
                        "else Qwen/Qwen2.5-VL-3B-Instruct)")
    p.add_argument("--precision", choices=["auto", "nf4", "int8", "bf16", "fp32"], default=None,
                   help="weights: nf4 4-bit (auto: nf4 when bitsandbytes is installed), int8, bf16, fp32")
    p.add_argument("--device", default=None, help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--adapter", type=Path, default=None, metavar="DIR", help="a LoRA adapter folder to apply")
    p.add_argument("--openai-url", default=None, metavar="URL",
                   help="OpenAI-compatible server, e.g. http://gpu-server:8000/v1 (default $LANDUSE_OPENAI_URL)")
    p.add_argument("--openai-model", default=None, metavar="NAME", help="model name on that server")
    p.add_argument("--max-new-tokens", type=positive_int, default=None, metavar="N", help="default 512")
    p.add_argument("--temperature", type=float, default=None, help="0 = greedy (default)")


def setting(args: argparse.Namespace, name: str, env: str | None, default: object) -> object:
    """An option: given on the command line, else from the environment, else the config file, else ``default``."""
    value = getattr(args, name, None)
    if value is not None:
        return value
    if env and os.environ.get(env):
        return os.environ[env]
    return args.file_config.get(name, default)


def backend_from(args: argparse.Namespace):  # -> Backend
    from engine import config_file
    from engine.model.backends import BackendKind, choose_backend
    from engine.model.config import DEFAULT_MODEL, ModelConfig

    args.file_config = config_file.load(args.config)
    kind = BackendKind(setting(args, "backend", "LANDUSE_BACKEND", "auto"))
    model = setting(args, "model", "LANDUSE_MODEL", None)
    adapter = setting(args, "adapter", None, None)
    config = ModelConfig(source=str(model or DEFAULT_MODEL), precision=setting(args, "precision", None, "auto"),
                         device=str(setting(args, "device", None, "auto")),
                         adapter=Path(adapter) if adapter else None)
    backend, note = choose_backend(kind, config, model is not None,
                                   setting(args, "openai_url", "LANDUSE_OPENAI_URL", None),
                                   setting(args, "openai_model", "LANDUSE_OPENAI_MODEL", None),
                                   setting(args, "openai_key", "LANDUSE_OPENAI_KEY", None))
    if note and not getattr(args, "json", False):
        print(f"note: {note}", file=sys.stderr)
    return backend


def generation_from(args: argparse.Namespace):  # -> GenerationConfig
    from engine.model.config import GenerationConfig

    return GenerationConfig(max_new_tokens=int(setting(args, "max_new_tokens", None, 512)),
                            temperature=float(setting(args, "temperature", None, 0.0)))
