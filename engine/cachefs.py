"""Cache entries that are safe across processes and crashes: parts, then a manifest, under a file lock.

An entry is one or more part files and a manifest. Parts are written under
unique temporary names and renamed to names that carry their content hash, so
two writers never touch the same file; the manifest (each part's file, size
and SHA-256) is written last, atomically. An entry is read only through a valid
manifest whose parts all have their recorded size and hash: anything else (no
manifest, ``{}``, bad JSON, a missing, truncated or swapped part) is reported
as a ``CacheWarning`` and the entry is recomputed, never a traceback. A file
lock (``filelock``) per key makes a second process wait for the first one's
entry instead of computing it again. A killed writer leaves only temporary or
unreferenced files, which nothing reads and ``sweep`` removes.

``LANDUSE_FAULT`` names a point where the process kills itself (SIGKILL), so
tests can crash a writer exactly there; it is never set otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import signal
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from engine.errors import CacheWarning

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1
STALE_S = 3600.0  # temporary and unreferenced files older than this are swept
LOCK_TIMEOUT_S = 6 * 3600.0  # a lock held longer than this is a writer that will not finish
Writer = Callable[[Path], None]  # writes one part at the path it is given


def fault(point: str) -> None:
    """Die here (SIGKILL) when ``$LANDUSE_FAULT`` names ``point``: crash tests only."""
    if os.environ.get("LANDUSE_FAULT") == point:
        os.kill(os.getpid(), signal.SIGKILL)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def temporary(path: Path) -> Path:
    """A unique temporary name beside ``path`` (never shared by two writers)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


def save_atomic(path: Path, write: Writer) -> Path:
    """``write(tmp)`` to a temporary name with ``path``'s suffix (drivers pick formats by it), then rename it over
    ``path``: readers see the old file or the whole new one."""
    tmp = temporary(path).with_suffix(path.suffix)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_atomic(path: Path, data: bytes) -> None:
    tmp = temporary(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class EntryStore:
    """Entries of one kind in one folder."""

    def __init__(self, folder: Path):
        self.folder = folder

    def lock(self, key: str) -> FileLock:
        """The cross-process lock of ``key``: a new lock object each time, so never nest the same key."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.folder / f"{key}.lock"), timeout=LOCK_TIMEOUT_S)

    def manifest_path(self, key: str) -> Path:
        return self.folder / f"{key}.manifest.json"

    def write(self, key: str, parts: dict[str, tuple[str, Writer]]) -> None:
        """Write ``parts`` (name -> (suffix, writer)) and then the manifest that commits them."""
        self.folder.mkdir(parents=True, exist_ok=True)
        record: dict[str, dict[str, object]] = {}
        for name, (suffix, writer) in parts.items():
            tmp = temporary(self.folder / f"{key}.{name}{suffix}")
            try:
                writer(tmp)
                digest = sha256_of(tmp)
                final = self.folder / f"{key}.{name}.{digest[:16]}{suffix}"
                os.replace(tmp, final)
            finally:
                tmp.unlink(missing_ok=True)
            record[name] = {"file": final.name, "size": final.stat().st_size, "sha256": digest}
            fault(f"entry:after-part:{name}")
        fault("entry:before-manifest")
        manifest = {"version": MANIFEST_VERSION, "key": key, "parts": record, "written": time.time()}
        write_atomic(self.manifest_path(key), json.dumps(manifest).encode())

    def read(self, key: str, verify: tuple[str, ...] | None = None) -> dict[str, Path] | None:
        """The parts of a complete, undamaged entry (name -> path), or None.

        Every part's size is checked; the hash of the parts named in ``verify`` (all when None) too.
        """
        path = self.manifest_path(key)
        if not path.exists():
            return None
        try:
            manifest = json.loads(path.read_bytes())
            parts = manifest["parts"]
            if manifest.get("version") != MANIFEST_VERSION or manifest.get("key") != key or not parts:
                raise ValueError("not a manifest of this entry")
            out = {}
            for name, part in parts.items():
                file = self.folder / str(part["file"])
                if "/" in str(part["file"]) or not file.is_file():
                    raise ValueError(f"part {name} is missing")
                if file.stat().st_size != int(part["size"]):
                    raise ValueError(f"part {name} has {file.stat().st_size} bytes, not {part['size']}")
                if (verify is None or name in verify) and sha256_of(file) != part["sha256"]:
                    raise ValueError(f"part {name} does not have its recorded content (edited or swapped)")
                out[name] = file
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self.damaged(key, str(exc))
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used
        return out

    def damaged(self, key: str, why: str) -> None:
        """Report a damaged entry and drop its manifest, so it is recomputed."""
        message = f"cache entry {key} in {self.folder} is damaged ({why}); recomputing it"
        warnings.warn(message, CacheWarning, stacklevel=3)
        log.warning(message)
        self.manifest_path(key).unlink(missing_ok=True)

    def entries(self) -> Iterator[tuple[float, int, list[Path]]]:
        """(last use, bytes, files) of each committed entry."""
        for manifest in self.folder.glob("*.manifest.json"):
            try:
                parts = json.loads(manifest.read_bytes())["parts"]
                files = [self.folder / str(p["file"]) for p in parts.values()]
                yield manifest.stat().st_mtime, sum(f.stat().st_size for f in files if f.exists()), [*files, manifest]
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                continue

    def sweep(self, max_bytes: int) -> None:
        """Remove stale temporary and unreferenced files, then the least recently used entries over ``max_bytes``."""
        if not self.folder.exists():
            return
        entries = sorted(self.entries(), key=lambda e: e[0])
        referenced = {f.name for _, _, files in entries for f in files}
        now = time.time()
        for file in self.folder.iterdir():
            with contextlib.suppress(OSError):
                if (file.is_file() and file.name not in referenced and not file.name.endswith(".lock")
                        and now - file.stat().st_mtime > STALE_S):
                    file.unlink()
        total = sum(size for _, size, _ in entries)
        for _, size, files in entries:
            if total <= max_bytes:
                break
            key = files[-1].name.removesuffix(".manifest.json")
            lock = FileLock(str(self.folder / f"{key}.lock"), timeout=0)
            try:
                with lock:  # an entry being written or read by another process is left for a later sweep
                    for file in files:
                        file.unlink(missing_ok=True)
            except Timeout:
                continue
            total -= size
            log.info("cache: evicted %s", files[-1].name)
