"""Give freed heap memory back to the operating system between the analysis stages.

Strip buffers (tens of MB) are freed after reading, but glibc keeps such
blocks in its heap once its adaptive mmap threshold has risen, so a process's
resident size would carry them into the labelling stage, the largest one.
``malloc_trim`` returns them; elsewhere (macOS, Windows, musl) it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def release_free_heap() -> None:
    """Return free heap pages to the OS (glibc only)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
