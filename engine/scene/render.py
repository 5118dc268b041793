"""Rendering extents for Qwen2.5-VL: true/false colour composites in tiles with geotransforms.

Sizes follow Qwen2.5-VL's ``smart_resize`` rule (each side a multiple of 28,
area within [min_pixels, max_pixels]; defaults 256·28² and 1280·28² as in the
seed). An extent that would exceed ``max_pixels`` at the wanted ground
resolution becomes a grid of tiles; each tile keeps its own affine transform so
a pixel box the model names maps back to map coordinates. Colours are a 2–98 %
percentile stretch over valid pixels of the whole extent, shared by all tiles.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from affine import Affine
from pyproj import Geod
from rasterio.enums import Resampling
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from engine.errors import InvalidResolutionError, NoValidPixelsError
from engine.scene import overviews
from engine.scene.extent import window_for
from engine.scene.limits import check_full_read
from engine.scene.product import Grid, Product
from engine.scene.reader import Block, SceneReader, missing_band_error
from engine.types import BandRole, Extent

PATCH = 28  # Qwen2.5-VL: 14-px patches merged 2x2
STRETCH_SAMPLE_SIDE = 1024  # longest side of the read used to compute the stretch


class Composite(enum.StrEnum):
    TRUE_COLOR = "true_color"
    FALSE_COLOR = "false_color"

    @property
    def roles(self) -> tuple[BandRole, BandRole, BandRole]:
        if self is Composite.TRUE_COLOR:
            return (BandRole.RED, BandRole.GREEN, BandRole.BLUE)
        return (BandRole.NIR, BandRole.RED, BandRole.GREEN)

    @property
    def label_zh(self) -> str:
        return "真彩色" if self is Composite.TRUE_COLOR else "假彩色（近红外-红-绿）"


MAX_UPSAMPLE = 4.0  # image pixels per layer pixel: a finer --resolution only magnifies


@dataclass(frozen=True)
class RenderConfig:
    """Image size and stretch settings (pixel counts are image pixels, not ground pixels)."""

    min_pixels: int = 256 * PATCH * PATCH
    max_pixels: int = 1280 * PATCH * PATCH
    resolution_m: float | None = None  # wanted ground metres per image pixel; None = fit one image
    percentiles: tuple[float, float] = (2.0, 98.0)
    use_overviews: bool = True

    def __post_init__(self) -> None:
        if self.min_pixels < PATCH * PATCH:
            raise ValueError(f"min_pixels must be at least {PATCH * PATCH} (one 28x28 patch)")
        if self.max_pixels < self.min_pixels:
            raise ValueError(f"max_pixels ({self.max_pixels}) must be >= min_pixels ({self.min_pixels})")
        if self.resolution_m is not None and self.resolution_m <= 0:
            raise ValueError("resolution_m must be positive (metres per image pixel)")
        lo, hi = self.percentiles
        if not 0 <= lo < hi <= 100:
            raise ValueError("percentiles must satisfy 0 <= low < high <= 100, e.g. (2, 98)")


def smart_resize(height: float, width: float, factor: int = PATCH,
                 min_pixels: int = 256 * PATCH * PATCH, max_pixels: int = 1280 * PATCH * PATCH) -> tuple[int, int]:
    """Qwen2.5-VL's resize rule: sides multiples of ``factor``, area in [min, max]."""
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return int(h_bar), int(w_bar)


@dataclass(frozen=True)
class TileSpec:
    row: int
    col: int
    window: Window  # in the product grid
    out_shape: tuple[int, int]  # (height, width) of the image
    transform: Affine  # image pixel -> map coordinates (grid CRS)


@dataclass(frozen=True)
class RenderPlan:
    window: Window
    crs: str
    ground_pixel_m: float  # native ground size of one grid pixel
    rows: int
    cols: int
    tiles: tuple[TileSpec, ...]


@dataclass(frozen=True)
class Tile:
    """One rendered image with the geotransform that maps its pixels to the map."""

    spec: TileSpec
    image: np.ndarray  # uint8, shape (height, width, 3)
    crs: str

    @property
    def transform(self) -> Affine:
        return self.spec.transform

    def pixel_to_map(self, x: float, y: float) -> tuple[float, float]:
        return self.spec.transform @ (x, y)


Stretch = dict[BandRole, tuple[float, float]]


def ground_pixel_size_m(grid: Grid, window: Window) -> float:
    """Mean ground size of one pixel in metres (geodesic for geographic CRSs)."""
    if not grid.crs.is_geographic:
        factor = grid.crs.linear_units_factor[1] if grid.crs.linear_units_factor else 1.0
        return math.sqrt(grid.pixel_size[0] * grid.pixel_size[1]) * factor
    col = window.col_off + window.width / 2
    row = window.row_off + window.height / 2
    x0, y0 = grid.transform @ (col, row)
    x1, _ = grid.transform @ (col + 1, row)
    _, y1 = grid.transform @ (col, row + 1)
    geod = Geod(ellps="WGS84")
    dx = geod.inv(x0, y0, x1, y0)[2]
    dy = geod.inv(x0, y0, x0, y1)[2]
    return math.sqrt(abs(dx * dy))


def _split(start: int, length: int, parts: int) -> list[tuple[int, int]]:
    edges = [start + round(i * length / parts) for i in range(parts + 1)]
    return [(edges[i], edges[i + 1] - edges[i]) for i in range(parts)]


def plan(grid: Grid, extent: Extent | None, config: RenderConfig) -> RenderPlan:
    """Decide the tile grid and image sizes for ``extent`` of ``grid``."""
    window = window_for(grid, extent)
    w, h = int(window.width), int(window.height)
    pixel_m = ground_pixel_size_m(grid, window)
    zoom = 1.0 if config.resolution_m is None else pixel_m / config.resolution_m
    if zoom > MAX_UPSAMPLE:
        raise InvalidResolutionError(
            f"--resolution {config.resolution_m:g} m is much finer than the layer's pixels ({pixel_m:.3g} m): "
            f"the finest that makes sense is {pixel_m / MAX_UPSAMPLE:.3g} m")
    out_w, out_h = w * zoom, h * zoom
    if config.resolution_m is None or out_w * out_h <= config.max_pixels:
        n_rows = n_cols = 1
    else:
        side = max(PATCH, math.floor(math.sqrt(config.max_pixels) / PATCH) * PATCH)
        n_rows, n_cols = math.ceil(out_h / side), math.ceil(out_w / side)
    tiles = []
    for r, (row_off, rows) in enumerate(_split(int(window.row_off), h, n_rows)):
        for c, (col_off, cols) in enumerate(_split(int(window.col_off), w, n_cols)):
            win = Window(col_off, row_off, cols, rows)
            shape = smart_resize(rows * zoom, cols * zoom, PATCH, config.min_pixels, config.max_pixels)
            scale = Affine.scale(cols / shape[1], rows / shape[0])
            tiles.append(TileSpec(r, c, win, shape, window_transform(win, grid.transform) @ scale))
    return RenderPlan(window=window, crs=grid.crs.to_string(), ground_pixel_m=pixel_m,
                      rows=n_rows, cols=n_cols, tiles=tuple(tiles))


def display_product(product: Product, window: Window, progress: overviews.BuildProgress | None = None,
                    zoom_out: float | None = None) -> Product:
    """``product`` with large overview-less files swapped for cached overview VRTs.

    ``zoom_out`` (window pixels per image pixel) decides: below the smallest
    overview level (4) no overview can serve the read, so none is built.
    Without it, windows under half the overview threshold read full resolution.
    """
    if zoom_out is not None:
        if zoom_out < overviews.SMALLEST_LEVEL:
            return product
    elif max(window.width, window.height) < overviews.MIN_SIDE_FOR_OVERVIEWS / 2:
        return product
    swapped: dict[str, str] = {}
    for path in {b.path for b in product.bands.values()}:
        if overviews.needs_overviews(path):
            # building overviews reads the whole file: refused when that alone would take hours
            check_full_read(Window(0, 0, product.grid.width, product.grid.height),
                            f"building display overviews of {product.name} (an extent this zoomed out needs them)")
            swapped[path] = overviews.cached_overview_path(path, progress)
    if not swapped:
        return product
    bands = {role: dataclasses.replace(b, path=swapped.get(b.path, b.path)) for role, b in product.bands.items()}
    mask = product.mask
    if mask is not None and mask.path in swapped:
        mask = dataclasses.replace(mask, path=swapped[mask.path])
    return dataclasses.replace(product, bands=bands, mask=mask)


def _read_display(reader: SceneReader, window: Window, roles: tuple[BandRole, ...], shape: tuple[int, int]) -> Block:
    resampling = Resampling.average if shape[0] * shape[1] < window.width * window.height else Resampling.nearest
    return reader.read(window, roles, shape, resampling)


def stretch_of(block: Block, roles: tuple[BandRole, ...], percentiles: tuple[float, float], name: str) -> Stretch:
    """Per-band percentile limits over the valid pixels of ``block``."""
    if not block.valid.any():
        raise NoValidPixelsError(f"no valid pixels to render in the extent of {name} (nodata, cloud or shadow)")
    stretch: Stretch = {}
    for role in roles:
        lo, hi = np.percentile(block.bands[role][block.valid], percentiles)
        stretch[role] = (float(lo), float(hi) if hi > lo else float(lo) + 1e-6)
    return stretch


def compute_stretch(reader: SceneReader, window: Window, composite: Composite,
                    percentiles: tuple[float, float]) -> Stretch:
    """Stretch from a display-size read of the whole ``window``."""
    scale = min(1.0, STRETCH_SAMPLE_SIDE / max(window.width, window.height))
    shape = (max(1, round(window.height * scale)), max(1, round(window.width * scale)))
    return stretch_of(_read_display(reader, window, composite.roles, shape), composite.roles, percentiles,
                      reader.product.name)


def to_image(block: Block, composite: Composite, stretch: Stretch) -> np.ndarray:
    """Stretch a display block to uint8 RGB; invalid pixels black."""
    image = np.zeros((*block.valid.shape, 3), dtype=np.uint8)
    for channel, role in enumerate(composite.roles):
        lo, hi = stretch[role]
        scaled = (block.bands[role] - lo) * (255.0 / (hi - lo))
        np.clip(scaled, 0, 255, out=scaled)
        image[..., channel] = np.where(block.valid, scaled, 0).astype(np.uint8)
    return image


def render_tile(reader: SceneReader, spec: TileSpec, composite: Composite, stretch: Stretch) -> Tile:
    """Read one tile at image size and stretch it to uint8 RGB."""
    block = _read_display(reader, spec.window, composite.roles, spec.out_shape)
    return Tile(spec=spec, image=to_image(block, composite, stretch), crs=reader.grid.crs.to_string())


def render(product: Product, extent: Extent | None = None, composite: Composite = Composite.TRUE_COLOR,
           config: RenderConfig | None = None,
           progress: Callable[[int, int], None] | None = None,
           overview_progress: overviews.BuildProgress | None = None) -> tuple[RenderPlan, Stretch, Iterator[Tile]]:
    """Plan, stretch and lazily render ``extent``; tiles are produced one at a time."""
    config = config or RenderConfig()
    if any(r not in product.bands for r in composite.roles):
        raise missing_band_error(product, composite.roles, f"the {composite.value.replace('_', ' ')} composite")
    the_plan = plan(product.grid, extent, config)
    first_tile = the_plan.tiles[0]
    zoom_out = first_tile.window.height / first_tile.out_shape[0]
    source = display_product(product, the_plan.window, overview_progress, zoom_out) if config.use_overviews \
        else product
    reader = SceneReader(source, grid=product.grid).__enter__()
    first: Tile | None = None
    try:
        if len(the_plan.tiles) == 1:  # one read serves both the stretch and the image
            spec = the_plan.tiles[0]
            block = _read_display(reader, spec.window, composite.roles, spec.out_shape)
            stretch = stretch_of(block, composite.roles, config.percentiles, product.name)
            first = Tile(spec=spec, image=to_image(block, composite, stretch), crs=the_plan.crs)
        else:
            stretch = compute_stretch(reader, the_plan.window, composite, config.percentiles)
    except BaseException:
        reader.close()
        raise

    def tiles() -> Iterator[Tile]:
        try:
            for i, spec in enumerate(the_plan.tiles):
                yield first if first is not None else render_tile(reader, spec, composite, stretch)
                if progress is not None:
                    progress(i + 1, len(the_plan.tiles))
        finally:
            reader.close()

    return the_plan, stretch, tiles()


def render_composites(product: Product, extent: Extent | None, composites: list[Composite],
                      config: RenderConfig | None = None) -> tuple[RenderPlan, list[Tile]]:
    """Several composites of ``extent``, each fitted into one image, from one read of their bands.

    Each band's stretch is computed once, so a band looks the same in every composite.
    """
    config = dataclasses.replace(config or RenderConfig(), resolution_m=None)
    roles = tuple(dict.fromkeys(r for c in composites for r in c.roles))
    if any(r not in product.bands for r in roles):
        raise missing_band_error(product, roles, "the " + " and ".join(c.value.replace("_", " ") for c in composites))
    the_plan = plan(product.grid, extent, config)
    (spec,) = the_plan.tiles
    zoom_out = spec.window.height / spec.out_shape[0]
    source = display_product(product, the_plan.window, zoom_out=zoom_out) if config.use_overviews else product
    with SceneReader(source, grid=product.grid) as reader:
        block = _read_display(reader, spec.window, roles, spec.out_shape)
    stretch = stretch_of(block, roles, config.percentiles, product.name)
    return the_plan, [Tile(spec=spec, image=to_image(block, c, stretch), crs=the_plan.crs) for c in composites]
