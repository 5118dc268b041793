"""``python -m engine serve``: the engine as a local HTTP service (``engine.service.app``) with the browser page
at ``/ui`` (``engine.web``); loopback only unless a token and ``--root`` folders are given."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli_measure import add_run_options, positive_int
from engine.cli_model import add_backend_options, backend_from, generation_from, setting


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="run the engine as a local HTTP service (the QGIS plugin talks to it)",
                       description="Serve /v1/health, /v1/ask and /v1/analyse (JSON or server-sent events), "
                                   "/v1/inspect, /v1/audit, DELETE /v1/sessions/{id} and /openapi.json. Loopback "
                                   "only unless --token and --root are given. Backend options as for ask.")
    p.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8765)")
    p.add_argument("--token", default=None, metavar="TOKEN",
                   help="require 'Authorization: Bearer TOKEN' (default $LANDUSE_TOKEN; required off loopback; "
                        "visible in ps: prefer --token-file or the environment)")
    p.add_argument("--token-file", type=Path, default=None, metavar="FILE",
                   help="read the token from the first line of FILE (not visible in ps)")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="a Host header name served besides loopback ones (repeat; guards against DNS rebinding)")
    p.add_argument("--max-body-mb", type=positive_int, default=None, metavar="N",
                   help="largest request body, MB (default 16); larger ones get 413 while they are read")
    p.add_argument("--root", action="append", type=Path, default=[], metavar="DIR",
                   help="a folder whose layers and zones may be read, and sweeps written (repeat; required off "
                        "loopback)")
    p.add_argument("--queue-size", type=positive_int, default=None, metavar="N",
                   help="asks admitted at once, running or waiting (default 8); beyond: 429 with Retry-After")
    p.add_argument("--no-ui", action="store_true", help="no browser page at /ui")
    p.add_argument("--max-upload-mb", type=positive_int, default=None, metavar="N",
                   help="largest file the browser page takes (default 2048)")
    add_backend_options(p)
    add_run_options(p)
    p.set_defaults(func=cmd_serve)


def _token(args: argparse.Namespace) -> str | None:
    """The bearer token: --token-file (its first line), else --token, $LANDUSE_TOKEN or the config file."""
    if args.token_file is not None:
        try:
            token = args.token_file.read_text(encoding="utf-8").strip().splitlines()[0].strip()
        except (OSError, IndexError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read a token from {args.token_file}: {exc}") from None
        if not token:
            raise ValueError(f"{args.token_file} holds no token")
        return token
    return setting(args, "token", "LANDUSE_TOKEN", None) or None


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from engine.analysis.cache import AnalysisCache
    from engine.service.app import create_app
    from engine.service.settings import ServiceSettings

    args.json = False
    backend = backend_from(args)
    settings = ServiceSettings(host=str(setting(args, "host", None, "127.0.0.1")),
                               port=int(setting(args, "port", None, 8765)),
                               token=_token(args),
                               max_body_bytes=int(setting(args, "max_body_mb", None, 16)) << 20,
                               allowed_hosts=tuple(args.allowed_host or args.file_config.get("allowed_hosts", [])),
                               roots=tuple(Path(r) for r in (args.root or args.file_config.get("roots", []))),
                               queue_size=int(setting(args, "queue_size", None, 8)), ui=not args.no_ui,
                               max_upload_bytes=int(setting(args, "max_upload_mb", None, 2048)) << 20)
    backend.prepare()  # load the model now: errors show at start, and the first ask is not slowed
    app = create_app(settings, backend, generation_from(args), AnalysisCache())
    info = backend.info()
    model = f"，模型 {info.get('model')}" if info.get("model") else ""
    page = f"; 浏览器页面 / browser page http://{settings.host}:{settings.port}/ui/" if settings.ui else ""
    print(f"分析引擎服务已启动 / engine service on http://{settings.host}:{settings.port}（后端 / backend "
          f"{info.get('backend')}{model}）; API /openapi.json{page}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="debug" if args.debug else "warning")
    return 0
