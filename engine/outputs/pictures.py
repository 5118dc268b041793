"""The report's pictures: the overview map (matplotlib) and before/after chips of the largest patches (Pillow).

The map is the analysed extent in true colour (the last date, through the engine's renderer), the change
patches outlined in red and numbered as in the register, the protection zones outlined in yellow and
named, with a legend, a scale bar, a north arrow and the CRS. Chinese text needs a CJK font: the first
one installed is used (``cjk_font``); without one the map's words are in English and a warning says so.
``MapPicture.to_pixel`` maps grid coordinates to the picture's pixels (for placing and checking marks).
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine
from shapely.geometry.base import BaseGeometry

from engine.outputs.labels import Labels
from engine.outputs.register import PatchRow
from engine.scene.render import Composite, RenderConfig, render_composites
from engine.types import Extent

log = logging.getLogger(__name__)

PATCH_RGB = (230, 20, 20)
ZONE_RGB = (255, 215, 0)
MAP_DPI = 150
MAP_INCHES = 7.0
MIN_FRAME_WIDTH = 320  # time-lapse frames: pixels
NUMBERED_ON_MAP = 40  # the largest patches carry their number on the map; the register numbers all
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "AR PL UMing CN")
CJK_FILES = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
             "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "C:/Windows/Fonts/msyh.ttc",
             "C:/Windows/Fonts/simhei.ttf", "/System/Library/Fonts/PingFang.ttc")


@dataclass(frozen=True)
class MapPicture:
    png: bytes
    size: tuple[int, int]  # (width, height) pixels
    to_pixel: Affine  # grid coordinates -> picture pixel (col, row)
    font: str | None  # the CJK font file used, if any


@dataclass(frozen=True)
class ChipPair:
    number: int
    before: bytes  # PNG
    after: bytes


def cjk_font() -> str | None:
    """The path of an installed font with Chinese glyphs, or None."""
    from matplotlib import font_manager

    for entry in font_manager.fontManager.ttflist:
        if entry.name in CJK_FAMILIES:
            return entry.fname
    return next((p for p in CJK_FILES if Path(p).is_file()), None)


def _extent(facts) -> Extent:
    e = facts.extent
    return Extent(float(e["xmin"]), float(e["ymin"]), float(e["xmax"]), float(e["ymax"]), str(e["crs"]))


def overview_map(analysis, rows: list[PatchRow], labels: Labels, max_pixels: int = 1200 * 1200) -> MapPicture:
    """The analysed extent with patches and zones drawn on it (see the module docstring)."""
    zones = [(z.name, z.geometry) for z in analysis.zones.zones] if analysis.zones is not None else []
    return draw_map(analysis.products[-1], _extent(analysis.facts), analysis.grid.crs,
                    [(r.number, r.map_geometry) for r in rows], zones, labels, max_pixels)


def findings_map(product, facts: dict, findings: dict, labels: Labels, max_pixels: int = 900 * 900,
                 zones: list[tuple[str, BaseGeometry]] = ()) -> MapPicture:
    """The same map from a facts record and its findings (RFC 7946, lon/lat): what a client of the service has;
    ``zones``: named polygons in the product's grid CRS."""
    from pyproj import Transformer
    from shapely.geometry import shape

    from engine.analysis.geo import reproject

    to_grid = Transformer.from_crs("EPSG:4326", product.grid.crs, always_xy=True)
    patches = [(i, reproject(shape(f["geometry"]), to_grid))
               for i, f in enumerate(findings.get("features", []), start=1)
               if (f.get("properties") or {}).get("source") == "measured"]
    e = facts["extent"]
    extent = Extent(float(e["xmin"]), float(e["ymin"]), float(e["xmax"]), float(e["ymax"]), str(e["crs"]))
    return draw_map(product, extent, product.grid.crs, patches, list(zones), labels, max_pixels)


def draw_map(product, extent: Extent, crs, patches: list[tuple[int, BaseGeometry]],
             zones: list[tuple[str, BaseGeometry]], labels: Labels, max_pixels: int) -> MapPicture:
    """``extent`` of ``product`` in true colour, the numbered patches and the named zones (grid coordinates)
    drawn on it, with legend, scale bar, north arrow and CRS."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import patheffects
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.lines import Line2D

    font_path = cjk_font()
    if font_path is None and labels.zh:
        log.warning("no CJK font installed (e.g. apt-get install fonts-wqy-zenhei): the map's words are in English")
        labels = Labels.for_lang("en")
    font = FontProperties(fname=font_path) if font_path else FontProperties()
    _, (tile,) = render_composites(product, extent, [Composite.TRUE_COLOR],
                                   RenderConfig(min_pixels=28 * 28, max_pixels=max_pixels))
    height, width = tile.image.shape[:2]
    t = tile.transform
    left, top = t.c, t.f
    right, bottom = t.c + t.a * width, t.f + t.e * height
    map_h, foot = MAP_INCHES * height / width, 0.3  # inches: the map, and the CRS line under it
    fig = Figure(figsize=(MAP_INCHES, map_h + foot), dpi=MAP_DPI)
    ax = fig.add_axes((0.02, foot / (map_h + foot), 0.96, 0.96 * map_h / (map_h + foot)))
    ax.imshow(tile.image, extent=(left, right, bottom, top), interpolation="nearest")
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.set_xticks([])
    ax.set_yticks([])
    patch_colour = tuple(c / 255 for c in PATCH_RGB)
    zone_colour = tuple(c / 255 for c in ZONE_RGB)
    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    for name, geometry in zones:
        for ring in _rings(geometry):
            ax.plot(*ring, color=zone_colour, linewidth=1.6, linestyle="--")
        if not geometry.is_empty:
            p = geometry.representative_point()
            ax.text(p.x, p.y, name, fontproperties=font, fontsize=8, color="black", ha="center",
                    path_effects=[patheffects.withStroke(linewidth=2.5, foreground=zone_colour)], clip_on=True)
    # outlines only (unchanged specks inside a patch would be dots at this scale), one collection for them all
    outlines = [np.column_stack(ring) for _, geometry in patches for ring in _rings(geometry, holes=False)]
    ax.add_collection(LineCollection(outlines, colors=[patch_colour], linewidths=1.2))
    for number, geometry in patches[:NUMBERED_ON_MAP]:
        p = geometry.representative_point()
        ax.text(p.x, p.y, str(number), fontsize=7, color=patch_colour, ha="center", va="center",
                fontweight="bold", path_effects=halo, clip_on=True)
    handles = [Line2D([], [], color=patch_colour, linewidth=1.5, label=labels["legend_patch"])]
    if zones:
        handles.append(Line2D([], [], color=zone_colour, linewidth=1.5, linestyle="--", label=labels["legend_zone"]))
    ax.legend(handles=handles, loc="lower left", prop=font, fontsize=8, framealpha=0.85)
    _north_arrow(ax, labels, font)
    _scale_bar(ax, crs, left, right, bottom, top)
    fig.text(0.02, 0.01, f"{labels['crs']}: {crs.to_string()}" + (f" ({_crs_name(crs)})" if _crs_name(crs) else ""),
             fontproperties=font, fontsize=7)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=MAP_DPI)
    fig_w, fig_h = (round(float(v)) for v in fig.get_size_inches() * MAP_DPI)
    (x0, y0), (x1, y1) = ax.transData.transform([(left, bottom), (right, top)])
    # display coordinates count up from the bottom; picture rows count down from the top
    to_pixel = Affine((x1 - x0) / (right - left), 0, x0 - left * (x1 - x0) / (right - left),
                      0, -(y1 - y0) / (top - bottom), fig_h - y0 + bottom * (y1 - y0) / (top - bottom))
    return MapPicture(buffer.getvalue(), (fig_w, fig_h), to_pixel, font_path)


def _crs_name(crs) -> str:
    try:
        from pyproj import CRS

        return CRS.from_user_input(crs.to_wkt()).name
    except Exception:  # a CRS pyproj cannot name is still shown by its code
        return ""


def _rings(geom: BaseGeometry, holes: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for polygon in getattr(geom, "geoms", [geom]):
        if polygon.is_empty or not hasattr(polygon, "exterior"):
            continue
        for ring in (polygon.exterior, *(polygon.interiors if holes else ())):
            xs, ys = ring.xy
            out.append((np.asarray(xs), np.asarray(ys)))
    return out


def _north_arrow(ax, labels: Labels, font) -> None:
    ax.annotate(labels["north"], xy=(0.94, 0.95), xytext=(0.94, 0.83), xycoords="axes fraction",
                ha="center", va="center", fontproperties=font, fontsize=11, fontweight="bold",
                arrowprops={"facecolor": "black", "edgecolor": "white", "width": 4, "headwidth": 11},
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8})


def _scale_bar(ax, crs, left: float, right: float, bottom: float, top: float) -> None:
    """A bar of a round length, about a fifth of the map's width, in metres or kilometres."""
    metres_per_unit = 1.0
    if crs.is_geographic:  # degrees: metres along the parallel at the map's middle
        metres_per_unit = 111_320.0 * math.cos(math.radians((bottom + top) / 2))
    width_m = (right - left) * metres_per_unit
    target = width_m / 5
    magnitude = 10 ** math.floor(math.log10(target))
    length_m = max(m * magnitude for m in (1, 2, 5) if m * magnitude <= target)
    length = length_m / metres_per_unit
    x0 = right - (right - left) * 0.05 - length
    y0 = bottom + (top - bottom) * 0.05
    ax.plot([x0, x0 + length], [y0, y0], color="black", linewidth=4, solid_capstyle="butt")
    ax.plot([x0, x0 + length / 2], [y0, y0], color="white", linewidth=2, solid_capstyle="butt")
    text = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
    ax.text(x0 + length / 2, y0 + (top - bottom) * 0.02, text, ha="center", va="bottom", fontsize=8,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})


def patch_chips(analysis, rows: list[PatchRow], count: int, side: int = 256) -> list[ChipPair]:
    """Before (first date) and after (last date) true-colour pictures around each of the ``count`` largest
    patches, the patch outlined in red on both."""
    if count <= 0 or not rows:
        return []
    first, last = analysis.products[0], analysis.products[-1]
    pixel = max(analysis.grid.pixel_size)
    crs = str(analysis.facts.extent["crs"])
    config = RenderConfig(min_pixels=28 * 28, max_pixels=side * side, use_overviews=False)
    chips = []
    for row in rows[:count]:
        xmin, ymin, xmax, ymax = row.map_geometry.bounds
        half = max(xmax - xmin, ymax - ymin) * 0.75 + 20 * pixel  # the patch and its surroundings
        cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
        extent = Extent(cx - half, cy - half, cx + half, cy + half, crs)
        pictures = []
        for product in (first, last):
            _, (tile,) = render_composites(product, extent, [Composite.TRUE_COLOR], config)
            pictures.append(_outlined(tile.image, ~tile.transform, row.map_geometry, side))
        chips.append(ChipPair(row.number, *pictures))
    return chips


def _outlined(image: np.ndarray, to_pixel: Affine, geom: BaseGeometry, side: int) -> bytes:
    """The picture enlarged (whole pixels, nearest) to about ``side`` wide, the outline drawn on it sharp."""
    from PIL import Image, ImageDraw

    scale = max(1, math.ceil(side / image.shape[1]))
    picture = Image.fromarray(image).resize((image.shape[1] * scale, image.shape[0] * scale), Image.NEAREST)
    to_pixel = Affine.scale(scale) @ to_pixel
    draw = ImageDraw.Draw(picture)
    for xs, ys in _rings(geom, holes=False):
        points = [to_pixel @ (x, y) for x, y in zip(xs, ys, strict=True)]
        draw.line(points, fill=PATCH_RGB, width=2)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def time_lapse_gif(products: list, extent: Extent | None = None, max_pixels: int = 480 * 480,
                   frame_ms: int = 1200) -> bytes:
    """The dates in true colour as an animated GIF that loops, one frame per date in date order, each stamped
    with its date; ``extent`` (default: the first date's layer) is read from every date on its own grid."""
    from PIL import Image, ImageDraw

    ordered = sorted(products, key=lambda p: str(p.acquired or ""))
    if extent is None:
        left, bottom, right, top = ordered[0].grid.bounds
        extent = Extent(left, bottom, right, top, ordered[0].grid.crs.to_string())
    frames: list[Image.Image] = []
    for product in ordered:
        _, (tile,) = render_composites(product, extent, [Composite.TRUE_COLOR],
                                       RenderConfig(min_pixels=28 * 28, max_pixels=max_pixels))
        frame = Image.fromarray(tile.image)
        if frames and frame.size != frames[0].size:  # another grid: the first date's size
            frame = frame.resize(frames[0].size, Image.Resampling.BILINEAR)
        elif frame.width < MIN_FRAME_WIDTH:  # a small extent: enlarged, its pixels kept square
            factor = -(-MIN_FRAME_WIDTH // frame.width)
            frame = frame.resize((frame.width * factor, frame.height * factor), Image.Resampling.NEAREST)
        draw = ImageDraw.Draw(frame)
        stamp = str(product.acquired or "?")
        corner = (6, frame.height - 18)  # bottom left: a viewer's caption sits at the top
        box = draw.textbbox(corner, stamp)
        draw.rectangle((box[0] - 4, box[1] - 3, box[2] + 4, box[3] + 3), fill=(0, 0, 0))
        draw.text(corner, stamp, fill=(255, 255, 255))
        frames.append(frame)
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
    return buffer.getvalue()
