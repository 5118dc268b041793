"""Reference land-use layers: ESA WorldCover rasters or GB/T 21010 (三调) vectors as class maps.

A reference layer stands in for the classifier on its own date (e.g. the
county's land-use survey), or is compared with the classifier on the date
nearest to it. Codes are mapped onto the engine's classes with a table that
users can replace (``--reference-map table.json``: ``{"scheme": {"code": "class"}}``
with classes water, built_up, bare, cropland_grassland, forest or invalid; its entries
add to or replace the defaults code by code). Codes that
the table does not know are refused, listed, with how to map them.

GB/T 21010-2017 first-level classes: 01 耕地, 02 园地, 03 林地, 04 草地, 05
商服用地, 06 工矿仓储用地, 07 住宅用地, 08 公共管理与公共服务用地, 09 特殊用地,
10 交通运输用地, 11 水域及水利设施用地, 12 其他土地; the first two digits of a
longer code (e.g. 0101 水田) give its first-level class.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyproj import CRS as ProjCRS
from pyproj import Transformer
from rasterio import features
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from engine.analysis.areas import PixelAreas, all_units
from engine.analysis.classes import LandCover
from engine.analysis.geo import reproject
from engine.analysis.vectors import read_vector
from engine.errors import ReferenceLayerError
from engine.scene.product import Grid
from engine.scene.rasterio_io import gdal_env, open_raster
from engine.scene.stack import date_in_name

DEFAULT_MAPS: dict[str, dict[str, str]] = {
    "worldcover": {  # ESA WorldCover 10 m v100/v200
        "10": "forest", "20": "forest", "30": "cropland_grassland", "40": "cropland_grassland", "50": "built_up",
        "60": "bare",
        "70": "invalid", "80": "water", "90": "water", "95": "forest", "100": "bare", "0": "invalid",
    },
    "gbt21010": {  # first-level classes of GB/T 21010-2017
        "01": "cropland_grassland", "02": "cropland_grassland", "03": "forest", "04": "cropland_grassland",
        "05": "built_up",
        "06": "built_up", "07": "built_up", "08": "built_up", "09": "built_up", "10": "built_up",
        "11": "water", "12": "bare",
    },
}
GBT21010_NAMES = {"01": ("耕地", "cropland"), "02": ("园地", "garden land"), "03": ("林地", "forest land"),
                  "04": ("草地", "grassland"), "05": ("商服用地", "commercial land"),
                  "06": ("工矿仓储用地", "industrial and storage land"), "07": ("住宅用地", "residential land"),
                  "08": ("公共管理与公共服务用地", "public administration and services land"),
                  "09": ("特殊用地", "special land"), "10": ("交通运输用地", "transport land"),
                  "11": ("水域及水利设施用地", "water and water facilities"), "12": ("其他土地", "other land")}
CODE_FIELDS = ("DLBM", "dlbm", "code", "CODE", "class", "CLASS", "landuse", "地类编码")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


@dataclass(frozen=True)
class ReferenceSpec:
    path: Path
    date: dt.date | None = None
    code_field: str | None = None
    table: Path | None = None  # JSON mapping that replaces the defaults


@dataclass
class ReferenceMap:
    classes: np.ndarray  # uint8 LandCover over the window
    date: dt.date
    scheme: str
    name: str
    survey: np.ndarray | None = None  # uint8 GB/T 21010 first-level class (1-12, 0 = none) for survey vectors


def load_table(path: Path | None) -> dict[str, dict[str, str]]:
    if path is None:
        return DEFAULT_MAPS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReferenceLayerError(f"cannot read the reference mapping table {path}: {exc}") from None
    for table in data.values():
        for cls in table.values():
            LandCover.from_key(cls)  # raises with the list of known classes
    merged = {scheme: dict(table) for scheme, table in DEFAULT_MAPS.items()}
    for scheme, table in data.items():
        merged.setdefault(scheme, {}).update({str(k): v for k, v in table.items()})
    return merged


def reference_date(spec: ReferenceSpec) -> dt.date:
    if spec.date is not None:
        return spec.date
    date = date_in_name(spec.path.name)
    if date is not None:
        return date
    match = _YEAR.search(spec.path.name)
    if match:
        return dt.date(int(match.group(1)), 12, 31)
    raise ReferenceLayerError(
        f"date of the reference layer {spec.path.name} is unknown; give --reference-date YYYY-MM-DD")


def _lookup(codes: list[str], table: dict[str, str], scheme: str) -> dict[str, LandCover]:
    out, unknown = {}, []
    for code in codes:
        key = code if code in table else code[:2] if scheme == "gbt21010" and code[:2] in table else None
        if key is None:
            unknown.append(code)
        else:
            out[code] = LandCover.from_key(table[key])
    if unknown:
        raise ReferenceLayerError(
            f"reference codes not in the {scheme} table: {', '.join(sorted(unknown)[:20])}"
            f"{' ...' if len(unknown) > 20 else ''}; map them in a JSON table given with --reference-map, "
            f'e.g. {{"{scheme}": {{"{sorted(unknown)[0]}": "cropland_grassland"}}}}'
        )
    return out


def _raster(spec: ReferenceSpec, grid: Grid, window: Window, tables: dict[str, dict[str, str]]) -> np.ndarray:
    table = tables["worldcover"]
    with gdal_env(), open_raster(spec.path) as src:
        if src.crs is None:
            raise ReferenceLayerError(f"{spec.path.name} has no CRS")
        with WarpedVRT(src, crs=grid.crs, transform=grid.transform, width=grid.width, height=grid.height,
                       resampling=Resampling.mode) as vrt:
            raw = vrt.read(1, window=window)
            nodata = src.nodata
    values = np.unique(raw)
    codes = [str(int(v)) for v in values if nodata is None or v != nodata]
    mapping = _lookup(codes, table, "worldcover")
    lut = np.zeros(int(values.max()) + 1 if values.size else 1, np.uint8)
    for code, cls in mapping.items():
        lut[int(code)] = cls
    return lut[raw]


def _vector(spec: ReferenceSpec, grid: Grid, window: Window,
            tables: dict[str, dict[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    source = read_vector(spec.path, None, ReferenceLayerError)
    names = list(dict.fromkeys(k for props, _ in source.records for k in props))
    field = spec.code_field or next((f for f in CODE_FIELDS if f in names), None)
    if field is None:
        raise ReferenceLayerError(f"no land-use code field in {spec.path.name} (fields: {', '.join(names)}); "
                                  "name it with --reference-field")
    codes = [str(props.get(field)).strip() for props, _ in source.records]
    mapping = _lookup(sorted(set(codes)), tables["gbt21010"], "gbt21010")
    to_grid = Transformer.from_crs(ProjCRS.from_user_input(source.crs), grid.crs, always_xy=True)
    geoms = [(reproject(g, to_grid), c) for (_, g), c in zip(source.records, codes, strict=True)]
    shape = (int(window.height), int(window.width))
    transform = window_transform(window, grid.transform)
    classes = features.rasterize([(g, int(mapping[c])) for g, c in geoms], out_shape=shape, transform=transform,
                                 fill=int(LandCover.INVALID), dtype=np.uint8)
    first_level = [(g, int(c[:2])) for g, c in geoms if c[:2] in GBT21010_NAMES]
    survey = (features.rasterize(first_level, out_shape=shape, transform=transform, fill=0, dtype=np.uint8)
              if first_level else np.zeros(shape, np.uint8))
    return classes, survey


def read_reference(spec: ReferenceSpec, grid: Grid, window: Window) -> ReferenceMap:
    """The reference layer as a class map over ``window`` of ``grid``."""
    if not spec.path.exists():
        raise ReferenceLayerError(f"reference layer not found: {spec.path}")
    tables = load_table(spec.table)
    date = reference_date(spec)
    is_vector = spec.path.suffix.lower() in (".shp", ".gpkg", ".geojson", ".json", ".gml", ".kml", ".fgb")
    if is_vector:
        classes, survey = _vector(spec, grid, window, tables)
        return ReferenceMap(classes=classes, date=date, scheme="gbt21010", name=spec.path.name, survey=survey)
    return ReferenceMap(classes=_raster(spec, grid, window, tables), date=date, scheme="worldcover",
                        name=spec.path.name)


def survey_areas(survey: np.ndarray, areas: PixelAreas) -> dict[str, dict[str, object]]:
    """Area of each GB/T 21010 first-level class present in the survey (e.g. 耕地 and 草地 apart)."""
    out: dict[str, dict[str, object]] = {}
    for code in np.unique(survey):
        if code == 0:
            continue
        key = f"{int(code):02d}"
        zh, en = GBT21010_NAMES[key]
        out[key] = {"name_zh": zh, "name_en": en, **all_units(areas.of_mask(survey == code))}
    return out


def agreement(reference: np.ndarray, classified: np.ndarray) -> dict[str, object]:
    """Overall and per-class agreement of a classified map with the reference (both valid)."""
    both = (reference != LandCover.INVALID) & (classified != LandCover.INVALID)
    n = int(both.sum())
    if n == 0:
        return {"pixels": 0, "overall": None, "per_class": {}}
    per_class = {}
    for cls in LandCover:
        if cls is LandCover.INVALID:
            continue
        ref = both & (reference == cls)
        if ref.any():
            per_class[cls.key] = float((classified[ref] == cls).mean())  # producer's accuracy
    return {"pixels": n, "overall": float((reference[both] == classified[both]).mean()), "per_class": per_class}
