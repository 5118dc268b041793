"""Several products of one date (two Sentinel-2 tiles, two Landsat path/rows) as one layer: a GDAL VRT.

The VRT covers the union of the products on their common grid (same CRS and pixel size; north up).
Each band is one role, in reflectance (Float32): every product's pixels enter through a
``ComplexSource`` whose ``ScaleRatio``/``ScaleOffset`` apply that product's own calibration (Landsat
Level-1 scenes each have theirs), and whose ``NODATA`` leaves the product's empty pixels transparent
(the file's nodata, else 0, the fill of Landsat and Sentinel-2 counts), so where the products overlap
a later one is painted over an earlier one only where it has data. A
quality band whose kind all the products share (Sentinel-2 SCL, Landsat QA_PIXEL) is mosaicked raw
(as Float32, like the other bands: the codes are small integers, exact in it),
so the engine decodes clouds as it would in each product. The date and sensor are written as tags,
the roles as band descriptions, so the engine opens the VRT as any multiband stack. One VRT per date
serves every area: reading an area's window touches only the products under it.
"""

from __future__ import annotations

import math
from pathlib import Path
from xml.sax.saxutils import escape

from engine.errors import EngineError, SweepError
from engine.types import BandRole, LayerSpec

NODATA = -9999.0


def build_mosaic(specs: tuple[LayerSpec, ...], date: str, folder: Path) -> LayerSpec:
    """``folder/mosaic_<date>.vrt`` of the products ``specs`` name; the layer that reads it."""
    from engine.scene.layer import open_layer

    try:
        products = [open_layer(s) for s in specs]
    except EngineError as exc:
        raise SweepError(f"the products of {date}: {exc}") from None
    first = products[0]
    crss = {p.grid.crs.to_string() for p in products}
    if len(crss) > 1:
        raise SweepError(f"the products of {date} are in different CRSs ({', '.join(sorted(crss))}); reproject them "
                         "to one (e.g. gdalwarp -t_srs) before the sweep")
    px, py = first.grid.pixel_size
    for p in products:
        t = p.grid.transform
        if t.b or t.d or not (math.isclose(p.grid.pixel_size[0], px, rel_tol=1e-6) and
                              math.isclose(p.grid.pixel_size[1], py, rel_tol=1e-6)):
            raise SweepError(f"the products of {date} do not share a north-up grid of {px:g} m pixels "
                             f"({p.name}: {p.grid.pixel_size[0]:g} m)")
    roles = [r for r in BandRole if all(r in p.bands for p in products)]
    if not roles:
        raise SweepError(f"the products of {date} share no band")
    xmin = min(p.grid.bounds[0] for p in products)
    ymax = max(p.grid.bounds[3] for p in products)
    width = round((max(p.grid.bounds[2] for p in products) - xmin) / px)
    height = round((ymax - min(p.grid.bounds[1] for p in products)) / py)
    bands = [_band(k, r.value, "Float32", [_source(p.bands[r].path, p.bands[r].band, p.bands[r].calibration,
                                                   p.bands[r].nodata, xmin, ymax, px, py) for p in products],
                   NODATA) for k, r in enumerate(roles, start=1)]
    # (quality bands: the fill each kind uses where the file declares no nodata, e.g. a Sentinel-2 SCL .jp2)
    kinds = {p.mask.kind if p.mask else None for p in products}
    if len(kinds) == 1 and None not in kinds:
        # Float32 like the reflectance bands (one read takes one type); the codes are small integers, exact
        bands.append(_band(len(roles) + 1, _MASK_NAMES[first.mask.kind], "Float32",
                           [_source(p.mask.path, p.mask.band, None, _MASK_FILL.get(first.mask.kind), xmin, ymax, px,
                                    py, raw=True) for p in products], None))
    geotransform = f"{xmin!r}, {px!r}, 0.0, {ymax!r}, 0.0, {-py!r}"
    document = (f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">\n'
                f"  <SRS>{escape(first.grid.crs.to_wkt())}</SRS>\n  <GeoTransform>{geotransform}</GeoTransform>\n"
                f'  <Metadata>\n    <MDI key="ACQUISITION_DATE">{date}</MDI>\n'
                f'    <MDI key="SENSOR">{first.sensor.value}</MDI>\n'
                f'    <MDI key="MOSAIC_OF">{escape("; ".join(p.name for p in products))}</MDI>\n  </Metadata>\n'
                + "".join(bands) + "</VRTDataset>\n")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"mosaic_{date}.vrt"
    from engine.cachefs import write_atomic

    write_atomic(path, document.encode("utf-8"))
    return LayerSpec(path=path, date=date, sensor=first.sensor)


_MASK_NAMES = {"s2_scl": "SCL", "landsat_qa_pixel": "QA_PIXEL", "landsat_bqa_c1": "BQA", "nonzero_invalid": "mask"}
_MASK_FILL = {"s2_scl": 0.0, "landsat_qa_pixel": 1.0, "landsat_bqa_c1": 1.0}  # "no data" in each kind


def _band(number: int, description: str, data_type: str, sources: list[str], nodata: float | None) -> str:
    nodata_xml = f"    <NoDataValue>{nodata!r}</NoDataValue>\n" if nodata is not None else ""
    return (f'  <VRTRasterBand dataType="{data_type}" band="{number}">\n    <Description>{description}</Description>\n'
            + nodata_xml + "".join(sources) + "  </VRTRasterBand>\n")


def _source(path: str, band: int, calibration, nodata: float | None, xmin: float, ymax: float, px: float, py: float,
            raw: bool = False) -> str:
    """One product's band placed on the mosaic grid (its own file's grid may be coarser: Sentinel-2's 20 m bands)."""
    import rasterio

    with rasterio.open(path) as src:
        t, w, h, src_nodata = src.transform, src.width, src.height, src.nodatavals[band - 1]
        integer = src.dtypes[band - 1].startswith(("uint", "int"))
    x_off, y_off = (t.c - xmin) / px, (ymax - t.f) / py
    dst = (f'      <DstRect xOff="{x_off!r}" yOff="{y_off!r}" xSize="{w * abs(t.a) / px!r}" '
           f'ySize="{h * abs(t.e) / py!r}"/>\n')
    head = ('    <ComplexSource resampling="nearest">\n'
            f'      <SourceFilename relativeToVRT="0">{escape(str(path))}</SourceFilename>\n'
            f"      <SourceBand>{band}</SourceBand>\n"
            f'      <SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>\n' + dst)
    if src_nodata is not None:
        nodata = src_nodata
    elif nodata is None and integer and not raw:
        nodata = 0.0  # counts with no declared nodata: 0 is the fill of Landsat and Sentinel-2 products
    extra = f"      <NODATA>{nodata!r}</NODATA>\n" if nodata is not None else ""
    if raw:
        return head + extra + "    </ComplexSource>\n"
    ratio = calibration.scale / calibration.sun_factor
    offset = calibration.offset / calibration.sun_factor
    return head + extra + (f"      <ScaleOffset>{offset!r}</ScaleOffset>\n      <ScaleRatio>{ratio!r}</ScaleRatio>\n"
                           "    </ComplexSource>\n")
