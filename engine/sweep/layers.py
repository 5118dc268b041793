"""A sweep's ``--layer`` arguments: files, product folders, folders of products, or globs, grouped by date.

Each argument becomes one or more products (a folder that is not itself a product is searched for
products one level down; a glob is expanded and sorted). Products are grouped by acquisition date;
a date given as several products (two Sentinel-2 tiles, two Landsat path/rows) is mosaicked per area
(``mosaic.py``), so each area sees one layer per date.
"""

from __future__ import annotations

import glob
import logging
from dataclasses import dataclass
from pathlib import Path

from engine.errors import EngineError, SweepError
from engine.types import LayerSpec

log = logging.getLogger(__name__)

_GLOB = set("*?[")


@dataclass(frozen=True)
class DatedProducts:
    """The products of one acquisition date (one, or several to mosaic)."""

    date: str
    specs: tuple[LayerSpec, ...]


def expand(argument: str | Path, sensor: str | None = None, assume_crs: str | None = None) -> list[LayerSpec]:
    """The layers one ``--layer`` argument names."""
    from engine.scene.layer import open_layer

    text = str(argument)
    if _GLOB & set(text):
        found = sorted(glob.glob(text))
        if not found:
            raise SweepError(f"--layer {text}: the pattern matches no file or folder")
        return [LayerSpec(path=Path(p).resolve(), sensor=sensor, assume_crs=assume_crs) for p in found]
    path = Path(text).expanduser().resolve()  # absolute: workers in other folders open it by the same path
    if not path.exists():
        raise SweepError(f"--layer {text}: not found")
    spec = LayerSpec(path=path, sensor=sensor, assume_crs=assume_crs)
    if path.is_file():
        return [spec]
    try:
        open_layer(spec)
        return [spec]  # a product folder (Landsat, Sentinel-2 SAFE)
    except EngineError:
        pass
    children = [LayerSpec(path=p, sensor=sensor, assume_crs=assume_crs) for p in sorted(path.iterdir())
                if not p.name.startswith(".") and _opens(p, sensor, assume_crs)]
    if not children:
        raise SweepError(f"--layer {text}: no readable layer in this folder")
    return children


def _opens(path: Path, sensor: str | None, assume_crs: str | None) -> bool:
    from engine.scene.layer import open_layer

    if path.is_file() and path.suffix.lower() not in (".tif", ".tiff", ".vrt", ".jp2", ".img"):
        return False
    try:
        open_layer(LayerSpec(path=path, sensor=sensor, assume_crs=assume_crs))
        return True
    except EngineError:
        return False


def by_date(arguments: list[str | Path], sensor: str | None = None,
            assume_crs: str | None = None) -> list[DatedProducts]:
    """Every product the arguments name, opened once to learn its date, grouped by date in date order."""
    from engine.scene.layer import open_layer

    groups: dict[str, list[LayerSpec]] = {}
    seen: set[tuple[str, ...]] = set()
    for argument in arguments:
        for spec in expand(argument, sensor, assume_crs):
            try:
                product = open_layer(spec)
            except EngineError as exc:
                raise SweepError(f"--layer {spec.path}: {exc}") from None
            identity = tuple(sorted(str(Path(b.path).resolve()) for b in product.bands.values()))
            if identity in seen:
                continue  # named twice: a file and a glob that matches it, or two band files of one product
            seen.add(identity)
            if product.acquired is None:
                raise SweepError(f"--layer {spec.path}: acquisition date unknown; put it in the file name "
                                 "(e.g. scene_2024-05-01.tif)")
            groups.setdefault(product.acquired.isoformat(), []).append(spec)
    if not groups:
        raise SweepError("give at least one --layer")
    return [DatedProducts(date, tuple(specs)) for date, specs in sorted(groups.items())]


def spec_record(spec: LayerSpec) -> dict[str, object]:
    """A ``LayerSpec`` as plain data a worker rebuilds it from."""
    return {"path": str(spec.path), "date": spec.date.isoformat() if spec.date else None,
            "sensor": spec.sensor.value if spec.sensor else None,
            "band_map": {role.value: i for role, i in spec.band_map.items()}, "scale": spec.scale,
            "offset": spec.offset, "assume_crs": spec.assume_crs}
