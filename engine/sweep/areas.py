"""The areas of a sweep: one per feature of a boundary file, named by a field, with a file-safe name."""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass
from pathlib import Path

from engine.analysis.vectors import read_vector
from engine.errors import SweepError

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


@dataclass(frozen=True)
class Area:
    """One area to measure: its name in the boundary file and the stem of its output files."""

    name: str
    stem: str  # facts/<stem>.json
    features: int  # features of the file that carry this name (measured together, as analyse does)


def file_stem(name: str) -> str:
    """``name`` made safe as a file name on Linux and Windows (Chinese kept), never empty or hidden."""
    stem = _UNSAFE.sub("_", name).strip().strip(".") or "_"
    return stem[:60]  # 60 CJK characters are 180 bytes: with a temporary name's 40, within 255


def read_areas(path: Path, name_field: str) -> list[Area]:
    """Every distinct value of ``name_field`` in ``path`` is one area; bad input raises ``SweepError``."""
    source = read_vector(Path(path), None, SweepError)
    if not source.records:
        raise SweepError(f"{Path(path).name} holds no area")
    fields = list(dict.fromkeys(k for props, _ in source.records for k in props))
    if name_field not in fields:
        raise SweepError(f"{Path(path).name} has no field {name_field!r} (fields: {', '.join(fields) or 'none'})")
    names = [props.get(name_field) for props, _ in source.records]
    unnamed = sum(1 for n in names if n is None or not str(n).strip())
    if unnamed:
        raise SweepError(f"{unnamed} features of {Path(path).name} have no {name_field}; every area needs a name")
    counts = collections.Counter(str(n).strip() for n in names)
    stems: dict[str, str] = {}
    for name in counts:
        stem = file_stem(name)
        if stem in stems:
            raise SweepError(f"the areas {stems[stem]!r} and {name!r} would share the file name {stem!r}; "
                             "rename one of them")
        stems[stem] = name
    return [Area(name=name, stem=file_stem(name), features=n) for name, n in counts.items()]
