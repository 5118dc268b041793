"""The register as files: ``patches.xlsx`` (openpyxl), ``patches.gpkg`` in CGCS2000 with a QGIS style beside it,
and optionally a Shapefile (UTF-8 ``.cpg``, ``.prj``). Every row of the register, no cap; every file atomic.
"""

from __future__ import annotations

import logging
from pathlib import Path

from engine.cachefs import save_atomic, write_atomic
from engine.outputs.labels import PATCH_COLUMNS, REGISTER_EXTRA, Labels
from engine.outputs.register import CGCS2000, PatchRow, Register

log = logging.getLogger(__name__)

#: The GeoPackage/Shapefile attributes (10 characters at most, for the Shapefile), from a register row.
FIELDS = {"number": "int32", "cls_from": object, "cls_to": object, "change": object, "area_m2": "float64",
          "area_mu": "float64", "area_ha": "float64", "lon": "float64", "lat": "float64", "gk_x": "float64",
          "gk_y": "float64", "gk_epsg": "int32", "zone": object, "date_from": object, "date_to": object,
          "source": object, "method": object}
_NUMBER_FORMATS = {"area_mu": "0.00", "area_ha": "0.0000", "area_m2": "0.0", "lon": "0.000000", "lat": "0.000000",
                   "gk_x_m": "0.00", "gk_y_m": "0.00"}


def register_value(row: PatchRow, key: str, labels: Labels) -> object:
    """A register cell: numbers as measured (formats round them for display), names in the report's language."""
    if key == "change":
        return labels.change(row.class_from, row.class_to)
    if key in ("class_from", "class_to"):
        return labels.cls(getattr(row, key))
    if key == "zone":
        return row.zone or ""
    if key == "method":
        return "遥感量测" if labels.zh else "measured"
    return getattr(row, key)


def write_register_xlsx(register: Register, labels: Labels, path: Path) -> Path:
    """One row per patch, all of them, with a total row of 亩 and 公顷 under it."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    columns = labels.columns(PATCH_COLUMNS + REGISTER_EXTRA)
    book = Workbook()
    sheet = book.active
    sheet.title = "图斑台账" if labels.zh else "patches"
    sheet.append([title for _, title in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in register.rows:
        sheet.append([register_value(row, key, labels) for key, _ in columns])
    for index, (key, _) in enumerate(columns, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = 24 if key in ("change", "source", "zone") else 14
        if key in _NUMBER_FORMATS:
            for (cell,) in sheet.iter_rows(min_row=2, max_row=len(register.rows) + 1, min_col=index, max_col=index):
                cell.number_format = _NUMBER_FORMATS[key]
    keys = [key for key, _ in columns]
    total = [""] * len(columns)
    total[0] = labels["total"]
    total[keys.index("area_mu")] = round(sum(r.area_mu for r in register.rows), 2)
    total[keys.index("area_ha")] = round(sum(r.area_ha for r in register.rows), 4)
    sheet.append([])
    sheet.append(total)
    sheet.freeze_panes = "B2"
    return save_atomic(path, book.save)


def _attributes(row: PatchRow, register: Register, labels: Labels) -> dict[str, object]:
    gk = register.gauss_kruger
    return {"number": row.number, "cls_from": row.class_from, "cls_to": row.class_to,
            "change": labels.change(row.class_from, row.class_to), "area_m2": row.area_m2, "area_mu": row.area_mu,
            "area_ha": row.area_ha, "lon": row.lon, "lat": row.lat, "gk_x": _nan(row.gk_x_m),
            "gk_y": _nan(row.gk_y_m), "gk_epsg": gk.epsg if gk is not None else 0, "zone": row.zone or "",
            "date_from": row.date_from, "date_to": row.date_to, "source": row.source, "method": "measured"}


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value


def write_register_vectors(register: Register, labels: Labels, path: Path, driver: str = "GPKG") -> Path:
    """The patches as CGCS2000 (EPSG:4490) multipolygons with the register's attributes (``driver`` GPKG or
    ``ESRI Shapefile``; a Shapefile gets a UTF-8 ``.cpg`` and a ``.prj``)."""
    import numpy as np
    import pyogrio.raw
    from shapely import to_wkb

    rows = [_attributes(r, register, labels) for r in register.rows]
    columns = [np.array([r[f] for r in rows], dtype=dtype) for f, dtype in FIELDS.items()]
    geometry = np.array([to_wkb(r.geometry) for r in register.rows], dtype=object)
    options = {"layer_options": {"ENCODING": "UTF-8"}} if driver == "ESRI Shapefile" else {}
    if driver == "ESRI Shapefile":  # several files: written in place, after the others were removed
        for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            path.with_suffix(suffix).unlink(missing_ok=True)
        pyogrio.raw.write(path, geometry=geometry, field_data=columns, fields=list(FIELDS), crs=CGCS2000,
                          geometry_type="MultiPolygon", driver=driver, promote_to_multi=True, **options)
        return path
    return save_atomic(path, lambda tmp: pyogrio.raw.write(
        tmp, geometry=geometry, field_data=columns, fields=list(FIELDS), crs=CGCS2000, layer="patches",
        geometry_type="MultiPolygon", driver=driver, promote_to_multi=True))


def write_style(path: Path, labels: Labels) -> Path:
    """A QGIS style (``.qml``) beside the layer: red outlines, no fill, each patch labelled with its number.

    QGIS loads a ``.qml`` of the same name as a file layer's default style."""
    title = labels["legend_patch"]
    qml = f"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology|Labeling" labelsEnabled="1">
  <renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">
    <symbols>
      <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" pass="0" locked="0">
          <Option type="Map">
            <Option type="QString" name="color" value="255,0,0,0"/>
            <Option type="QString" name="style" value="no"/>
            <Option type="QString" name="outline_color" value="230,20,20,255"/>
            <Option type="QString" name="outline_style" value="solid"/>
            <Option type="QString" name="outline_width" value="0.6"/>
            <Option type="QString" name="outline_width_unit" value="MM"/>
          </Option>
        </layer>
      </symbol>
    </symbols>
  </renderer-v2>
  <labeling type="simple">
    <settings calloutType="simple">
      <text-style fieldName="number" fontSize="9" fontWeight="75" textColor="230,20,20,255" isExpression="0"
                  fontSizeUnit="Point" namedStyle="Bold">
        <text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,255"/>
      </text-style>
      <placement placement="0" dist="0" priority="5"/>
      <rendering obstacle="1" displayAll="1"/>
    </settings>
  </labeling>
  <layerGeometryType>2</layerGeometryType>
  <!-- {title} -->
</qgis>
"""
    write_atomic(path, qml.encode("utf-8"))
    return path
