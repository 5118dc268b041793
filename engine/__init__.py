"""Local engine of the county land-use monitoring assistant.

Stages, each returning a typed value to the next: scene (rasterio reading,
calibration, extents, rendering) -> analysis -> prompt -> model -> audit ->
response. This package never prints; the CLI in ``engine.cli`` does.
"""

import os

# GDAL reads GDAL_CACHEMAX once, when its block cache is first used; bound it
# before rasterio is imported so that RSS stays flat on 10980x10980 scenes.
os.environ.setdefault("GDAL_CACHEMAX", "64")

__version__ = "0.1.0"
