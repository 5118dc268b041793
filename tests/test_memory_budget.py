"""A memory budget that holds for any raster: wide ones read in pieces, absurd ones refused before anything is read.

A GeoTIFF header can claim 1,000,000 × 1,000,000 pixels in a 48 MB file. Under
a 4 GB address-space limit, ``inspect``, ``analyse``, ``render`` and ``ask``
on it end within a minute with exit status 2 and one line saying why and what
to do, and the service answers 4xx; a wide raster whose one block row exceeds
the reading budget is read in pieces across and classified exactly as with a
large budget.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window

from engine.analysis.classify import Thresholds
from engine.analysis.landcover import classify_window
from engine.scene.layer import open_layer
from engine.scene.reader import SceneReader
from engine.synthetic import SyntheticSpec, write_scene
from engine.types import LayerSpec

REPO = Path(__file__).resolve().parents[1]
ADDRESS_SPACE = 4 * 2**30


@pytest.fixture(scope="module")
def huge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sparse BigTIFF whose header claims 10^6 × 10^6 pixels of five bands (one block written)."""
    path = tmp_path_factory.mktemp("huge") / "huge_2024-05-01.tif"
    with rasterio.open(path, "w", driver="GTiff", width=1_000_000, height=1_000_000, count=5, dtype="uint16",
                       crs="EPSG:32648", transform=Affine(10, 0, 0, 0, -10, 10_000_000), BIGTIFF="YES",
                       SPARSE_OK="TRUE", tiled=True, blockxsize=512, blockysize=512) as dst:
        dst.descriptions = ("blue", "green", "red", "nir", "swir1")
        dst.write(np.full((5, 512, 512), 1200, np.uint16), window=Window(0, 0, 512, 512))
    return path


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@pytest.mark.parametrize("command", [
    ["inspect", "{huge}"],
    ["analyse", "--layer", "{huge}", "--no-cache"],
    ["render", "{huge}", "-o", "{out}"],
    ["ask", "--layer", "{huge}", "--backend", "none", "--no-cache", "新增耕地面积是多少？"],
])
def test_a_huge_header_ends_within_a_minute_under_4_gb(huge: Path, tmp_path: Path, command: list[str]) -> None:
    args = [a.format(huge=huge, out=tmp_path / "out.png") for a in command]
    done = subprocess.run([sys.executable, "-m", "engine", *args, "--quiet"], cwd=REPO, capture_output=True,
                          text=True, timeout=60, preexec_fn=_limited,
                          env={**os.environ, "PYTHONPATH": str(REPO), "LANDUSE_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("note:")]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "--bbox" in lines[0] and "1,000,000 × 1,000,000" in lines[0], lines[0]


def test_a_huge_header_is_a_4xx_from_the_service(huge: Path, tmp_path: Path) -> None:
    from test_service import Engine

    server = Engine("--backend", "none", env={"LANDUSE_CACHE_DIR": str(tmp_path)})
    try:
        for path in ("/v1/analyse", "/v1/ask"):
            reply = httpx.post(server.url + path, json={"question": "q", "layers": [{"path": str(huge)}]},
                               timeout=60)
            assert reply.status_code == 422 and reply.json()["error"]["code"] == "extent_too_large", reply.text
        small = {"xmin": 0, "ymin": 10_000_000 - 5120, "xmax": 5120, "ymax": 10_000_000, "crs": "EPSG:32648"}
        reply = httpx.post(server.url + "/v1/analyse", json={"layers": [{"path": str(huge)}], "extent": small},
                           timeout=60)
        assert reply.status_code == 200, reply.text  # a --bbox is the way on
    finally:
        server.stop()


def test_a_wide_raster_is_read_in_pieces_and_classified_the_same(tmp_path: Path) -> None:
    spec = SyntheticSpec(width=8192, height=600, dates=("2024-05-01",), changes=(), block_px=512, seed=4)
    layer = write_scene(spec, tmp_path).layers[0]
    product = open_layer(LayerSpec(path=layer))
    window = Window(0, 0, 8192, 600)
    thresholds = Thresholds(water_mndwi=0.0)
    with SceneReader(product) as reader:
        rows = reader.strip_rows(window, 6, budget_mb=4)
        assert rows * 8192 * 2 * (6 * 4 + 1) > 4 * 2**20  # one block row alone is over the budget
        cols = reader.strip_cols(window, rows, 6, budget_mb=4)
        assert cols < 8192 and cols % 512 == 0  # so it is cut across, on block edges
        pieces = classify_window(product, window, thresholds, reader, budget_mb=4)
    with SceneReader(product) as reader:
        whole = classify_window(product, window, thresholds, reader, budget_mb=512)
    assert np.array_equal(pieces.classes, whole.classes)
    assert pieces.index_means == pytest.approx(whole.index_means, rel=1e-5)


def test_a_file_stored_as_one_huge_block_is_refused_not_read_whole(tmp_path: Path) -> None:
    """GDAL decodes a block whole, so a single-strip file cannot be read in pieces: it is refused with the fix."""
    path = tmp_path / "one_strip_2024-05-01.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4000, height=4000, count=5, dtype="uint16", crs="EPSG:32648",
                       transform=Affine(10, 0, 500000, 0, -10, 4000000), compress="deflate",
                       blockysize=4000) as dst:  # one strip of 4000 rows: the whole image is one block
        dst.descriptions = ("blue", "green", "red", "nir", "swir1")
        dst.write(np.full((5, 4000, 4000), 1200, np.uint16))
    product = open_layer(LayerSpec(path=path))
    from engine.errors import ExtentTooLargeError

    with SceneReader(product) as reader, pytest.raises(ExtentTooLargeError, match="TILED=YES"):
        classify_window(product, Window(0, 0, 4000, 4000), Thresholds(water_mndwi=0.0), reader, budget_mb=4)
    with SceneReader(product) as reader:  # with the budget it needs, it is read
        classify_window(product, Window(0, 0, 4000, 4000), Thresholds(water_mndwi=0.0), reader, budget_mb=1024)
