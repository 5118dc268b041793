"""Each date's land-cover map as a GeoTIFF with a colour table (the plugin adds them as styled raster layers).

Codes are ``LandCover`` values (0 = invalid: nodata, cloud, shadow; nodata in
the file), the colour table is ``CLASS_COLOURS`` and each file is written under
a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import transform as window_transform

from engine.analysis.classes import MEASURED, LandCover
from engine.analysis.landcover import ClassMap
from engine.scene.product import Grid

#: Display colours of the classes (the plugin's findings layer uses the same, held by a contract test).
CLASS_COLOURS = {"water": "#2b7bba", "built_up": "#d7301f", "bare": "#c8a165", "cropland_grassland": "#f1d84b",
                 "forest": "#1a9641"}


def _rgba(hex_colour: str) -> tuple[int, int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16), 255)


def write_class_map(cmap: ClassMap, grid: Grid, path: Path) -> Path:
    """Write ``cmap`` (its window of ``grid``) to ``path`` as a tiled, compressed GeoTIFF with a colour table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = cmap.classes.shape
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": "uint8",
               "crs": grid.crs, "transform": window_transform(cmap.window, grid.transform), "nodata": 0,
               "compress": "deflate", "tiled": width >= 256 and height >= 256, "photometric": "palette"}
    if profile["tiled"]:
        profile.update(blockxsize=256, blockysize=256)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(np.ascontiguousarray(cmap.classes), 1)
            dst.write_colormap(1, {0: (0, 0, 0, 0), **{int(c): _rgba(CLASS_COLOURS[c.key]) for c in MEASURED}})
            dst.update_tags(1, **{str(int(c)): c.key for c in LandCover})
            dst.set_band_description(1, f"land cover ({cmap.method})"[:200])
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
