"""Sentinel-2 L1C/L2A products: SAFE folders, their MTD_MSI*.xml, or loose band files.

Reflectance = (DN + offset) / quantification, with the offset per band from
``BOA_ADD_OFFSET`` (L2A) or ``RADIO_ADD_OFFSET`` (L1C). From processing
baseline 04.00 (25 January 2022) that offset is -1000; when no metadata is at
hand the reader assumes it from the acquisition date and says so.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from engine.errors import MetadataError
from engine.scene.product import BandSource, MaskKind, MaskSource, Product
from engine.scene.rasterio_io import grid_of, open_raster
from engine.types import SENSOR_BANDS, BandRole, Calibration, Sensor

log = logging.getLogger(__name__)

BASELINE_04_DATE = dt.date(2022, 1, 25)
_BAND_IDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]
_BAND_FILE = re.compile(r"_(B\d\d|B8A|SCL)(?:_(\d+)m)?\.(jp2|tif|tiff)$", re.IGNORECASE)
_SENSING = re.compile(r"_(\d{8})T\d{6}")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def find_mtd(path: Path) -> Path | None:
    """The MTD_MSIL1C/L2A.xml for a SAFE folder, the xml itself, or a band file inside a SAFE."""
    if path.is_file() and re.match(r"MTD_MSIL(1C|2A)\.xml$", path.name, re.IGNORECASE):
        return path
    folder = path if path.is_dir() else path.parent
    for _ in range(5):
        hits = sorted(folder.glob("MTD_MSIL*.xml"))
        if hits:
            return hits[0]
        if folder.parent == folder:
            break
        folder = folder.parent
    return None


def is_band_file(path: Path) -> bool:
    return bool(_BAND_FILE.search(path.name))


def _role_of(band_id: str) -> BandRole | None:
    number = band_id.upper().lstrip("B").lstrip("0")
    return SENSOR_BANDS[Sensor.SENTINEL_2].get(number)


def _pick_finest(files: dict[tuple[str, int], Path], band_id: str) -> Path | None:
    options = sorted((res, p) for (bid, res), p in files.items() if bid == band_id)
    return options[0][1] if options else None


def _index_files(paths: list[Path]) -> dict[tuple[str, int], Path]:
    """Map (band id, resolution m) -> path for band files (resolution 0 when unnamed)."""
    files: dict[tuple[str, int], Path] = {}
    for p in paths:
        match = _BAND_FILE.search(p.name)
        if match:
            files[(match.group(1).upper(), int(match.group(2) or 0))] = p
    return files


def open_sentinel2(path: Path, assume_crs: str | None = None) -> Product:
    """Resolve a Sentinel-2 product (SAFE, MTD xml or band file) into a ``Product``."""
    mtd = find_mtd(path)
    notes: list[str] = []
    offsets: dict[str, float] = {}
    quantification = 10000.0
    acquired: dt.date | None = None
    level = "L1C"
    if mtd is not None:
        root_dir = mtd.parent
        tree = ET.parse(mtd).getroot()
        image_files: list[Path] = []
        for el in tree.iter():
            tag, text = _local(el.tag), (el.text or "").strip()
            if tag == "IMAGE_FILE" and text:
                for ext in (".jp2", ".tif"):
                    if (root_dir / (text + ext)).exists():
                        image_files.append(root_dir / (text + ext))
            elif tag in ("BOA_QUANTIFICATION_VALUE", "QUANTIFICATION_VALUE") and text:
                quantification = float(text)
            elif tag in ("BOA_ADD_OFFSET", "RADIO_ADD_OFFSET") and text:
                offsets[_BAND_IDS[int(el.attrib.get("band_id", "0"))]] = float(text)
            elif tag == "PRODUCT_START_TIME" and text:
                acquired = dt.date.fromisoformat(text[:10])
            elif tag == "PROCESSING_LEVEL" and text:
                level = "L2A" if "2A" in text else "L1C"
        files = _index_files(image_files)
        if not files:
            raise MetadataError(f"{mtd}: no band files listed in IMAGE_FILE exist on disk")
        name = root_dir.name
    else:
        folder = path.parent
        siblings = [p for d in {folder, *folder.parent.glob("R*m")} for p in d.glob("*") if p.is_file()]
        prefix = _BAND_FILE.split(path.name)[0]
        files = _index_files([p for p in siblings if p.name.startswith(prefix)])
        name = prefix
        # L2A names its band files with a resolution (B04_10m) and ships SCL; L1C does neither
        if any(res for _, res in files) or any(bid == "SCL" for bid, _ in files):
            level = "L2A"
        match = _SENSING.search(path.name)
        if match:
            acquired = dt.datetime.strptime(match.group(1), "%Y%m%d").date()
        if acquired is not None and acquired >= BASELINE_04_DATE:
            offsets = dict.fromkeys(_BAND_IDS, -1000.0)
            notes.append("no MTD_MSI*.xml found: BOA_ADD_OFFSET -1000 assumed from the date "
                         "(processing baseline 04.00+); override with --offset")
        else:
            notes.append("no MTD_MSI*.xml found: no radiometric offset applied")

    bands: dict[BandRole, BandSource] = {}
    for band_id in _BAND_IDS:
        role = _role_of(band_id)
        if role is None or band_id == "B8A":
            continue
        band_path = _pick_finest(files, band_id)
        if band_path is None:
            continue
        off = offsets.get(band_id, 0.0)
        bands[role] = BandSource(
            role=role, path=str(band_path), band=1, nodata=0.0, name=band_id,
            calibration=Calibration(scale=1.0 / quantification, offset=off / quantification),
        )
    if BandRole.RED not in bands:
        raise MetadataError(f"{path}: no B04 (red) band file found for this Sentinel-2 product")
    scl = _pick_finest(files, "SCL")
    mask = MaskSource(path=str(scl), band=1, kind=MaskKind.S2_SCL) if scl else None
    with open_raster(bands[BandRole.RED].path) as src:
        grid = grid_of(src, assume_crs)
    return Product(name=name, sensor=Sensor.SENTINEL_2, acquired=acquired,
                   level=f"{level} {'surface' if level == 'L2A' else 'top-of-atmosphere'} reflectance",
                   bands=bands, grid=grid, mask=mask, notes=tuple(notes))
