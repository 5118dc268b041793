"""Service settings: where it listens, who may call it, which files it may read, and its limits."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServiceSettings:
    """``serve`` options; limits are per request."""

    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None  # bearer token; required off loopback
    roots: tuple[Path, ...] = ()  # layer and zone paths must lie under one of these (required off loopback)
    queue_size: int = 8  # asks waiting or running; beyond it: 429 with Retry-After
    retry_after_s: int = 10
    max_zone_features: int = 5000
    max_zone_bytes: int = 20 * 2**20
    max_body_bytes: int = 16 * 2**20  # a request body over this is refused (413) while it is read
    allowed_hosts: tuple[str, ...] = ()  # Host header names served besides loopback ones (DNS rebinding guard)
    history_tokens: int = 2048
    recent_asks: int = 20  # asks kept for the health report's latency and speed
    ui: bool = True  # the browser page at /ui
    max_upload_bytes: int = 2 * 2**30  # one file uploaded to the page; beyond it the page refuses it

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} must be in 0..65535")
        if self.queue_size < 1:
            raise ValueError("queue_size must be >= 1")
        if self.max_body_bytes < 1024:
            raise ValueError("the body limit must be at least 1 KB")
        object.__setattr__(self, "roots", tuple(Path(r).expanduser().resolve() for r in self.roots))
        if not is_loopback(self.host):
            if not self.token:
                raise ValueError(f"binding to {self.host} (not loopback) needs --token: anyone on the network "
                                 "could otherwise read files through the service")
            if not self.roots:
                raise ValueError(f"binding to {self.host} (not loopback) needs --root DIR: the folders whose "
                                 "layers and zones the service may read")
        for root in self.roots:
            if not root.is_dir():
                raise ValueError(f"--root {root} is not a folder")

    def allows(self, path: Path) -> bool:
        """Whether the service may read ``path`` (always when no roots are configured, on loopback)."""
        if not self.roots:
            return True
        try:
            resolved = Path(path).expanduser().resolve()
        except (RuntimeError, OSError, ValueError):  # an unknown "~user", a NUL, a name too long
            return False
        return any(resolved == root or resolved.is_relative_to(root) for root in self.roots)
