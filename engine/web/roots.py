"""Layers found under the service's ``--root`` folders, for the page to offer.

A product folder (a Landsat Level-1/2 folder with its ``*_MTL.txt``, a Sentinel-2 ``*.SAFE``) is one layer; any
other GeoTIFF is one layer. Symbolic links to folders are not followed, hidden folders are skipped, and the
listing stops at ``limit`` entries. A picked path is still checked as every request's is (``layer_spec``).
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.web.uploads import RASTER_SUFFIXES

LIMIT = 500
MAX_DEPTH = 4


def _is_product(folder: Path, files: list[str]) -> bool:
    return folder.suffix.upper() == ".SAFE" or any(f.upper().endswith("_MTL.TXT") for f in files)


def layers_under(roots: tuple[Path, ...], limit: int = LIMIT) -> list[tuple[str, str]]:
    """``(label, path)`` of each layer under ``roots``: the label is the root's name and the path below it."""
    found: list[tuple[str, str]] = []
    for root in roots:
        root = root.resolve()
        for here, folders, files in os.walk(root):  # symbolic links to folders are not followed
            folder = Path(here)
            depth = len(folder.relative_to(root).parts)
            folders[:] = sorted(f for f in folders if not f.startswith(".")) if depth < MAX_DEPTH else []
            if _is_product(folder, files):
                found.append((str(Path(root.name) / folder.relative_to(root)), str(folder)))
                folders[:] = []
                continue
            found += [(str(Path(root.name) / (folder / f).relative_to(root)), str(folder / f))
                      for f in sorted(files) if f.lower().endswith(RASTER_SUFFIXES) and not f.startswith(".")
                      and (folder / f).resolve().is_relative_to(root)]  # a link out of the root is not offered
            if len(found) >= limit:
                return found[:limit]
    return found
