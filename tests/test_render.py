"""Rendering: Qwen2.5-VL sizes, tiles whose geotransforms map pixels back, stretch, overview cache."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from conftest import L8, write_tif
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from qwen_vl_utils.vision_process import smart_resize as qwen_smart_resize

from engine.cli import main as cli_main
from engine.scene import overviews
from engine.scene.export import save_tiles
from engine.scene.layer import open_layer
from engine.scene.render import PATCH, Composite, RenderConfig, plan, render, smart_resize
from engine.types import Extent, LayerSpec


@settings(max_examples=300, deadline=None)
@given(h=st.integers(28, 20000), w=st.integers(28, 20000))
def test_smart_resize_matches_qwen_vl_utils(h: int, w: int) -> None:
    if max(h, w) / min(h, w) > 200:  # qwen-vl-utils refuses such aspect ratios
        return
    ours = smart_resize(h, w, 28, 256 * 28 * 28, 1280 * 28 * 28)
    assert ours == tuple(qwen_smart_resize(h, w, 28, 256 * 28 * 28, 1280 * 28 * 28))
    assert ours[0] % 28 == 0 and ours[1] % 28 == 0


def _stripes(tmp_path: Path, size: int = 600) -> Path:
    """A scene whose red band encodes the column, so positions can be checked in the image."""
    cols = np.tile(np.linspace(0.05, 0.45, size, dtype=np.float32), (size, 1))
    bands = np.stack([cols, np.full_like(cols, 0.1), np.full_like(cols, 0.1), np.full_like(cols, 0.3)])
    return write_tif(tmp_path / "stripes.tif", bands, descriptions=["red", "green", "blue", "nir"],
                     transform=Affine(10, 0, 500000, 0, -10, 4000000))


def test_single_image_fits_qwen_bounds(tmp_path: Path) -> None:
    product = open_layer(LayerSpec(path=_stripes(tmp_path)))
    _, _, tiles = render(product)
    (tile,) = list(tiles)
    h, w, _ = tile.image.shape
    assert h % PATCH == 0 and w % PATCH == 0
    assert 256 * 28 * 28 <= h * w <= 1280 * 28 * 28
    # map corners of the image are the raster corners
    assert tile.pixel_to_map(0, 0) == pytest.approx((500000, 4000000))
    assert tile.pixel_to_map(w, h) == pytest.approx((506000, 3994000))
    # the stretch puts the 2nd/98th percentiles of red at 0/255: left dark, right bright
    assert tile.image[:, :5, 0].mean() < 10 and tile.image[:, -5:, 0].mean() > 245


def test_large_extent_at_resolution_becomes_tiles_with_exact_transforms(tmp_path: Path) -> None:
    product = open_layer(LayerSpec(path=_stripes(tmp_path)))
    config = RenderConfig(resolution_m=10, min_pixels=28 * 28, max_pixels=200 * 200)
    the_plan, stretch, tiles = render(product, config=config)
    tiles = list(tiles)
    assert (the_plan.rows, the_plan.cols) == (4, 4)  # 600 px at 10 m, tiles <= 196 px
    covered = 0
    for tile in tiles:
        h, w, _ = tile.image.shape
        assert h * w <= 200 * 200 and h % 28 == 0 and w % 28 == 0
        win = tile.spec.window
        covered += win.width * win.height
        # the tile's image corners are its window corners on the map
        assert tile.pixel_to_map(0, 0) == pytest.approx((500000 + 10 * win.col_off, 4000000 - 10 * win.row_off))
        assert tile.pixel_to_map(w, h) == pytest.approx(
            (500000 + 10 * (win.col_off + win.width), 4000000 - 10 * (win.row_off + win.height)))
        # an image column maps to the map x whose red value it shows
        x_map, _ = tile.pixel_to_map(w / 2, h / 2)
        expected_red = 0.05 + 0.4 * ((x_map - 500000) / 10 - 0.5) / 599
        lo, hi = stretch[Composite.TRUE_COLOR.roles[0]]
        expected_level = np.clip((expected_red - lo) / (hi - lo) * 255, 0, 255)
        assert abs(int(tile.image[h // 2, w // 2, 0]) - expected_level) <= 4
    assert covered == 600 * 600


def test_extent_plan_in_other_crs(tmp_path: Path) -> None:
    product = open_layer(LayerSpec(path=_stripes(tmp_path)))
    p = plan(product.grid, Extent(501000, 3995000, 502000, 3996000, "EPSG:32648"), RenderConfig())
    assert (p.window.width, p.window.height) == (100, 100)


def test_invalid_pixels_are_black(tmp_path: Path) -> None:
    data = np.random.default_rng(1).uniform(0.1, 0.3, (3, 100, 100)).astype(np.float32)
    data[:, :, :50] = np.nan
    path = write_tif(tmp_path / "half.tif", data, descriptions=["red", "green", "blue"])
    _, _, tiles = render(open_layer(LayerSpec(path=path)))
    (tile,) = list(tiles)
    w = tile.image.shape[1]
    assert tile.image[:, : w // 2 - 2].max() == 0
    valid_side = tile.image[:, w // 2 + 2:].max(axis=2)
    assert (valid_side > 0).mean() > 0.95


def test_render_cli_writes_png_world_file_and_sidecar(tmp_path: Path) -> None:
    out = tmp_path / "out" / "l8.png"
    assert cli_main(["render", str(L8), "--false-color", "-o", str(out), "--quiet"]) == 0
    image = Image.open(out)
    assert image.size[0] % 28 == 0 and image.mode == "RGB"
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["composite"] == "false_color" and sidecar["crs"] == "EPSG:32632"
    assert sidecar["tiles"][0]["geotransform"][0] == pytest.approx(483285.0)
    world = [float(v) for v in out.with_suffix(".pgw").read_text().split()]
    assert world[0] == pytest.approx(30 * 41 / image.size[0])


def test_overviews_are_built_once_in_the_cache_not_beside_the_file(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(overviews, "MIN_SIDE_FOR_OVERVIEWS", 512)
    user_dir = tmp_path / "user"
    user_dir.mkdir()
    yy, xx = np.mgrid[0:1024, 0:1024] / 1024.0
    smooth = np.stack([np.sin(6 * xx) ** 2, np.cos(5 * yy) ** 2, xx * yy]).astype(np.float32)  # a landscape, not noise
    path = write_tif(user_dir / "big.tif", smooth, descriptions=["red", "green", "blue"], tiled=True,
                     blockxsize=256, blockysize=256)
    before = sorted(p.name for p in user_dir.iterdir())
    product = open_layer(LayerSpec(path=path))
    full_size = RenderConfig(min_pixels=28 * 28, max_pixels=1024 * 1024)
    _, _, tiles = render(product, config=full_size)
    list(tiles)
    assert not (overviews.cache_dir() / "overviews").exists()  # an image at full size needs no overview
    small = RenderConfig(min_pixels=28 * 28, max_pixels=224 * 224)  # 4.6 window pixels per image pixel
    calls: list[int] = []
    _, _, tiles = render(product, config=small, overview_progress=lambda s, b: calls.append(b))
    (tile,) = list(tiles)
    first = tile.image
    assert sorted(p.name for p in user_dir.iterdir()) == before
    cached = list((overviews.cache_dir() / "overviews").glob("*.vrt.ovr"))
    assert len(cached) == 1
    mtime = cached[0].stat().st_mtime_ns
    _, _, tiles = render(product, config=small)
    (tile,) = list(tiles)
    again = tile.image
    assert cached[0].stat().st_mtime_ns == mtime  # reused, not rebuilt
    np.testing.assert_array_equal(first, again)
    _, _, tiles = render(product, config=dataclasses.replace(small, use_overviews=False))
    (tile,) = list(tiles)
    direct = tile.image
    assert np.abs(direct.astype(int) - first.astype(int)).mean() < 8  # same picture either way


def test_render_config_validation() -> None:
    with pytest.raises(ValueError, match="max_pixels"):
        RenderConfig(min_pixels=2000, max_pixels=1000)
    with pytest.raises(ValueError, match="resolution_m"):
        RenderConfig(resolution_m=0)


def test_save_tiles_names_tiles_by_row_and_col(tmp_path: Path) -> None:
    product = open_layer(LayerSpec(path=_stripes(tmp_path, 300)))
    the_plan, stretch, tiles = render(product, config=RenderConfig(resolution_m=10, min_pixels=784,
                                                                  max_pixels=170 * 170))
    written = save_tiles(tmp_path / "t.png", the_plan, stretch, tiles, Composite.TRUE_COLOR, {})
    assert {p.name for p in written} == {f"t_r{r}_c{c}.png" for r in range(2) for c in range(2)}
    sidecar = json.loads((tmp_path / "t.json").read_text())
    assert len(sidecar["tiles"]) == 4 and sidecar["grid"] == {"rows": 2, "cols": 2}


@pytest.mark.parametrize(("values", "valid", "k", "expected", "expected_valid"), [
    ([[1, 3], [5, 7]], [[1, 1], [1, 1]], 2, [[4.0]], [[True]]),
    ([[1, 3], [5, 7]], [[1, 0], [0, 0]], 2, [[1.0]], [[True]]),
    ([[1, 3], [5, 7]], [[0, 0], [0, 0]], 2, [[0.0]], [[False]]),
    ([[2, 4, 6]], [[1, 1, 1]], 2, [[3.0, 6.0]], [[True, True]]),  # ragged edge padded as invalid
])
def test_block_mean_over_valid_pixels(values, valid, k, expected, expected_valid) -> None:
    from engine.scene.decimate import block_mean

    (means,), ok = block_mean([np.asarray(values, np.float32)], np.asarray(valid, bool), k)
    np.testing.assert_allclose(means, expected)
    np.testing.assert_array_equal(ok, expected_valid)


def test_decimated_read_without_overviews_equals_block_average(tmp_path: Path) -> None:
    from rasterio.windows import Window

    from engine.scene.reader import SceneReader
    from engine.types import BandRole

    data = np.random.default_rng(3).uniform(0, 1, (1, 400, 600)).astype(np.float32)
    data[0, :40, :60] = np.nan  # one invalid 4x4 output block... and partial ones
    path = write_tif(tmp_path / "d.tif", data, descriptions=["red"], tiled=True, blockxsize=128, blockysize=128)
    product = open_layer(LayerSpec(path=path))
    with SceneReader(product) as reader:
        block = reader.read(Window(0, 0, 600, 400), (BandRole.RED,), out_shape=(40, 60))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks are expected
        expected = np.nanmean(data[0].reshape(40, 10, 60, 10), axis=(1, 3))
    assert not block.valid[:4, :6].any() and block.valid[4:, 6:].all()
    np.testing.assert_allclose(block.bands[BandRole.RED][block.valid], expected[block.valid], rtol=1e-5)
