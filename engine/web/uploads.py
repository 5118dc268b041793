"""Files a browser uploaded, as the layers the engine reads.

Gradio stores uploads under ``<cache>/uploads`` (``GRADIO_TEMP_DIR``, set by ``engine.web.page``) and removes
them after a day. A GeoTIFF is a layer as it is; a zip (a Landsat or Sentinel-2 product, or a few GeoTIFFs) is
unpacked beside itself, inside the same folder and nowhere else, and searched for layers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import zipfile
from pathlib import Path

from engine.errors import EngineError, LayerNotFoundError
from engine.types import LayerSpec

RASTER_SUFFIXES = (".tif", ".tiff")
ZONE_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".kml")
UNPACKED_PER_UPLOAD = 4  # a zip may unpack to this many times the upload limit (products compress ~2x); no more


class UploadError(EngineError, ValueError):
    """An upload that cannot be used as a layer."""

    code = "bad_upload"


def layer_specs(paths: list[str], max_upload_bytes: int = 2 * 2**30, allows=None) -> list[LayerSpec]:
    """The layers in the uploaded files (``UploadError`` when one is neither a GeoTIFF nor a zip of layers);
    with ``allows``, every unpacked file is checked against it before any is opened."""
    from engine.scene.confine import check_request
    from engine.sweep.layers import expand

    specs: list[LayerSpec] = []
    for name in paths:
        path = Path(name)
        suffix = path.suffix.lower()
        if suffix in RASTER_SUFFIXES:
            specs.append(LayerSpec(path=path))
        elif suffix == ".zip":
            folder = unpack(path, UNPACKED_PER_UPLOAD * max_upload_bytes)
            if allows is not None:  # VRT sources, MTL/SAFE references: before GDAL opens anything
                for member in sorted(folder.rglob("*")):
                    if member.is_file():
                        check_request(member, allows)
            try:
                specs += expand(folder)
            except EngineError as exc:
                raise UploadError(f"{path.name}: no Landsat, Sentinel-2 or GeoTIFF layer inside ({exc})") from None
        else:
            raise UploadError(f"{path.name}: upload GeoTIFF (.tif) files or a zipped Landsat/Sentinel-2 product")
    if not specs:
        raise LayerNotFoundError("upload one GeoTIFF per date, or a zipped product")
    return specs


def unpack(archive_path: Path, max_bytes: int = UNPACKED_PER_UPLOAD * 2 * 2**30) -> Path:
    """The zip unpacked into a folder beside it (once); every member must land inside that folder, and all of
    them hold at most ``max_bytes`` (a zip bomb stops here)."""
    import shutil
    import tempfile

    folder = archive_path.with_suffix("")
    if folder.is_dir():
        return _single_child(folder)
    target = Path(tempfile.mkdtemp(prefix=folder.name + ".", suffix=".part", dir=folder.parent))
    try:
        with zipfile.ZipFile(archive_path) as archive:
            members = archive.infolist()
            if sum(m.file_size for m in members) > max_bytes:
                raise UploadError(f"{archive_path.name}: unpacks to more than {max_bytes / 2**20:,.0f} MB "
                                  f"({UNPACKED_PER_UPLOAD} x --max-upload-mb)")
            root = target.resolve()
            for member in members:
                destination = (root / member.filename).resolve()
                if not destination.is_relative_to(root) or member.filename.startswith("/"):
                    raise UploadError(f"{archive_path.name}: the member {member.filename!r} would land outside")
            archive.extractall(target)
        try:
            target.rename(folder)  # another request may have unpacked the same zip meanwhile: its copy stands
        except OSError:
            if not folder.is_dir():
                raise
    except zipfile.BadZipFile as exc:
        raise UploadError(f"{archive_path.name}: not a zip file ({exc})") from None
    except OSError as exc:
        raise UploadError(f"{archive_path.name}: cannot be unpacked ({exc})") from None
    finally:
        shutil.rmtree(target, ignore_errors=True)
    return _single_child(folder)


def _single_child(folder: Path) -> Path:
    """A zip of one folder (``LC08_…/`` or ``S2A_….SAFE/``) is that folder."""
    try:
        children = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    except OSError as exc:  # removed meanwhile (expired): upload it again
        raise UploadError(f"{folder.name}: the unpacked upload is gone ({exc}); upload it again") from None
    return children[0] if len(children) == 1 and children[0].is_dir() else folder


def shown_names(specs: list[LayerSpec]) -> list[str]:
    """Each layer's name in the layers table: its file name, with as many of its folders as tell apart the
    layers that share a name."""
    parts = [spec.path.parts for spec in specs]
    depth = [1] * len(specs)
    while True:
        names = ["/".join(p[-d:]) for p, d in zip(parts, depth, strict=True)]
        clashing = [i for i, n in enumerate(names) if names.count(n) > 1 and depth[i] < len(parts[i])]
        if not clashing:
            return names
        for i in clashing:
            depth[i] += 1


def confine(specs: list[LayerSpec], allows) -> None:
    """Refuse (``PathNotAllowedError``) an uploaded layer that would read a file ``allows`` refuses: a VRT named
    ``.tif`` or a product whose metadata points elsewhere (as every request's layers are checked)."""
    from engine.scene.confine import check_confined, check_request
    from engine.scene.layer import open_layer

    for spec in specs:
        check_request(spec.path, allows)
        try:
            product = open_layer(spec)
        except EngineError:  # unreadable as it is: nothing more will be opened
            continue
        check_confined(product, allows)


def corrected(specs: list[LayerSpec], table, unknown: str = "（未知）") -> list[LayerSpec]:
    """The layers with what a person typed into the layers table (file name -> date YYYY-MM-DD, sensor): a
    sensor is set only where the text differs from the one the engine read (its label or any name
    ``Sensor.parse`` knows)."""
    from engine.scene.describe import describe
    from engine.types import Sensor

    rows = table.values.tolist() if hasattr(table, "values") else (table or [])
    typed = {str(r[0]): [str(c).strip() if c is not None else "" for c in r[1:3]] for r in rows if len(r) > 1}
    labels = {sensor.label.lower(): sensor for sensor in Sensor}
    out = []
    for spec, name in zip(specs, shown_names(specs), strict=True):
        date_text, sensor_text = [*typed.get(name, []), "", ""][:2]
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", date_text):
            spec = dataclasses.replace(spec, date=dt.date.fromisoformat(date_text))
        elif date_text and date_text not in (unknown, "（未知）", "(unknown)"):
            raise UploadError(f"{name}: the date {date_text!r} is not YYYY-MM-DD / 日期应写成 YYYY-MM-DD")
        if sensor_text and sensor_text != (describe(spec).sensor_label or ""):
            try:
                sensor = labels.get(sensor_text.lower()) or Sensor.parse(sensor_text)
            except ValueError as exc:
                raise UploadError(f"{name}: {exc}") from None
            spec = dataclasses.replace(spec, sensor=sensor)
        out.append(spec)
    return out


def zones_spec(name: str | None, max_upload_bytes: int = 2 * 2**30):  # -> ZoneSpec | None
    """The uploaded protection zones (GeoJSON, GeoPackage, KML, or a zipped shapefile) as the analysis reads
    them; their CRS is their own (the analysis transforms them onto the layers' grid)."""
    from engine.analysis.run import ZoneSpec

    if not name:
        return None
    path = Path(name)
    if path.suffix.lower() == ".zip":
        folder = unpack(path, UNPACKED_PER_UPLOAD * max_upload_bytes)
        found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in ZONE_SUFFIXES)
        if len(found) != 1:
            raise UploadError(f"{path.name}: put one zones file (a shapefile with its .dbf, .shx and .prj, a "
                              f"GeoPackage or GeoJSON) in the zip; found {len(found)}")
        path = found[0]
    elif path.suffix.lower() not in ZONE_SUFFIXES:
        raise UploadError(f"{path.name}: zones are a GeoJSON, GeoPackage or KML file, or a zipped shapefile")
    _check_zone_content(path)
    return ZoneSpec(path)


_ZONE_MAGIC = {".gpkg": b"SQLite format 3\0", ".shp": b"\x00\x00\x27\x0a"}


def _check_zone_content(path: Path) -> None:
    """The file is what its name says (GDAL picks a driver by content: an OGR VRT named ``.kml`` could read
    files anywhere): a GeoPackage or shapefile by its first bytes, KML by its first element; GeoJSON is parsed
    as JSON, never by GDAL."""
    import xml.etree.ElementTree as ET

    suffix = path.suffix.lower()
    if suffix == ".kml":
        try:
            _, first = next(ET.iterparse(path, events=("start",)))
            matches = first.tag.rsplit("}", 1)[-1].lower() == "kml"
        except (ET.ParseError, StopIteration, OSError):
            matches = False
    elif suffix in _ZONE_MAGIC:
        with path.open("rb") as f:
            matches = f.read(len(_ZONE_MAGIC[suffix])) == _ZONE_MAGIC[suffix]
    else:
        return
    if not matches:
        raise UploadError(f"{path.name}: not a {suffix[1:].upper()} file")


def expire(folder: Path, max_age_s: float) -> int:
    """Remove files under ``folder`` unchanged for ``max_age_s`` (uploads, what was unpacked or drawn from them,
    files left by an earlier run that Gradio no longer tracks) and the folders that leaves empty (a new, still
    empty folder stays); returns how many files went."""
    import os
    import time

    cutoff = time.time() - max_age_s
    removed, emptied = 0, set()
    for here, _, files in os.walk(folder, topdown=False):
        place = Path(here)
        for name in files:
            try:
                if (place / name).lstat().st_mtime < cutoff:
                    (place / name).unlink()
                    removed += 1
                    emptied.add(place)
            except OSError:  # gone meanwhile: next time
                continue
        if place != folder:
            try:
                if place in emptied or place.stat().st_mtime < cutoff:
                    place.rmdir()  # only when empty
                    emptied.add(place.parent)
            except OSError:
                pass
    return removed
