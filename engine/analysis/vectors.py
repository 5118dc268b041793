"""Reading polygons from any vector file: GeoJSON directly, every other OGR format through pyogrio.

GeoJSON without a ``crs`` member is WGS84 lon/lat, as RFC 7946 says. A shapefile's text encoding
comes from its ``.cpg``; without one, UTF-8 is tried and then GB18030 (which covers GBK and
GB2312), because county boundary files made with Chinese desktop GIS are usually GBK without a
``.cpg``, and GDAL would otherwise read their names as Latin-1 mojibake.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from engine.errors import EngineError

log = logging.getLogger(__name__)

FALLBACK_ENCODING = "GB18030"


@dataclass
class VectorRecords:
    """(properties, geometry) per feature with a geometry, the source CRS, and what was assumed."""

    records: list[tuple[dict, BaseGeometry]]
    crs: str
    notes: list[str] = field(default_factory=list)


def _crs_of_geojson(data: dict) -> str:
    member = data.get("crs")
    if not member:
        return "EPSG:4326"
    name = (member.get("properties") or {}).get("name", "")
    if "CRS84" in name.upper():
        return "OGC:CRS84"
    return name.replace("urn:ogc:def:crs:", "").replace("::", ":") or "EPSG:4326"


def read_vector(path: Path, crs_override: str | None, error: type[EngineError],
                crs_flag: str | None = None) -> VectorRecords:
    """The features of ``path``; problems raise ``error`` (``crs_flag``: the option that sets a missing CRS)."""
    path = Path(path)
    if not path.exists():
        raise error(f"file not found: {path}")
    if path.suffix.lower() in (".geojson", ".json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            feats = data.get("features") if data.get("type") == "FeatureCollection" else [data]
            records = [(f.get("properties") or {}, shape(f["geometry"])) for f in feats if f.get("geometry")]
        except (UnicodeDecodeError, ValueError, AttributeError, KeyError, TypeError) as exc:
            raise error(f"{path.name} is not valid GeoJSON: {exc}") from None
        return VectorRecords(records, crs_override or _crs_of_geojson(data))
    meta, geometry, field_data, notes = _read_ogr(path, error)
    crs = crs_override or meta.get("crs")
    if not crs:
        fix = f"say which CRS it uses with {crs_flag} EPSG:NNNN" if crs_flag else "add its .prj"
        raise error(f"{path.name} has no CRS (no .prj next to a shapefile?); {fix} (CGCS2000 is EPSG:4490)")
    from shapely import from_wkb

    names = list(meta["fields"])
    records = []
    for i, wkb in enumerate(geometry):
        if wkb is None:
            continue
        props = {n: (col[i].item() if hasattr(col[i], "item") else col[i])
                 for n, col in zip(names, field_data, strict=True)}
        records.append((props, from_wkb(wkb)))
    return VectorRecords(records, crs, notes)


def _read_ogr(path: Path, error: type[EngineError]):
    import pyogrio.raw

    encodings: list[str | None] = [None]
    if path.suffix.lower() == ".shp" and not path.with_suffix(".cpg").exists():
        encodings = ["UTF-8", FALLBACK_ENCODING]
    notes: list[str] = []
    for encoding in encodings:
        try:
            meta, _, geometry, field_data = pyogrio.raw.read(path, encoding=encoding)
        except UnicodeDecodeError:
            continue
        except Exception as exc:  # pyogrio raises its own DataSourceError/DataLayerError
            raise error(f"cannot read {path}: {exc}") from None
        if encoding == FALLBACK_ENCODING:
            notes.append(f"{path.name} has no .cpg and is not UTF-8: its text was read as GBK/GB18030")
            log.info(notes[-1])
        return meta, geometry, field_data, notes
    raise error(f"{path.name}: its text is neither UTF-8 nor GBK; add a .cpg file naming its encoding")
