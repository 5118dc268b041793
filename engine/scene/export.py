"""Writing rendered tiles: PNG images, ESRI world files and one JSON sidecar.

A single tile is written to the path asked for; a grid of tiles is written as
``<stem>_r<row>_c<col>.png``. Each PNG gets a world file (``.pgw``) so GIS
software places it, and ``<stem>.json`` records the CRS, every tile's GDAL
geotransform, the composite and the stretch, so a pixel box maps back to the map.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from engine.cachefs import write_atomic
from engine.scene.render import Composite, RenderPlan, Stretch, Tile


def _world_file(tile: Tile) -> str:
    t = tile.transform
    # World files give the centre of the upper-left pixel.
    cx, cy = t @ (0.5, 0.5)
    return "\n".join(f"{v:.10f}" for v in (t.a, t.d, t.b, t.e, cx, cy)) + "\n"


def tile_path(out: Path, plan: RenderPlan, tile: Tile) -> Path:
    if len(plan.tiles) == 1:
        return out
    return out.with_name(f"{out.stem}_r{tile.spec.row}_c{tile.spec.col}{out.suffix}")


def save_tiles(out: Path, plan: RenderPlan, stretch: Stretch, tiles: Iterable[Tile],
               composite: Composite, meta: dict[str, object]) -> list[Path]:
    """Write every tile as PNG + world file, then the JSON sidecar; return the PNG paths."""
    out = out if out.suffix.lower() == ".png" else out.with_suffix(".png")
    out.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    records = []
    for tile in tiles:
        path = tile_path(out, plan, tile)
        png = io.BytesIO()
        Image.fromarray(tile.image, mode="RGB").save(png, format="PNG")
        write_atomic(path, png.getvalue())
        write_atomic(path.with_suffix(".pgw"), _world_file(tile).encode())
        written.append(path)
        records.append({
            "file": path.name, "row": tile.spec.row, "col": tile.spec.col,
            "width": tile.image.shape[1], "height": tile.image.shape[0],
            "geotransform": list(tile.transform.to_gdal()),
            "window": {"col_off": int(tile.spec.window.col_off), "row_off": int(tile.spec.window.row_off),
                       "width": int(tile.spec.window.width), "height": int(tile.spec.window.height)},
        })
    sidecar = {
        **meta,
        "composite": composite.value,
        "crs": plan.crs,
        "grid": {"rows": plan.rows, "cols": plan.cols},
        "ground_pixel_m": plan.ground_pixel_m,
        "stretch": {role.value: list(limits) for role, limits in stretch.items()},
        "tiles": records,
    }
    write_atomic(out.with_suffix(".json"), json.dumps(sidecar, indent=2, ensure_ascii=False).encode())
    return written
