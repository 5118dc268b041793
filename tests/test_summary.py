"""``inspect`` statistics equal an independent numpy computation over valid pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from engine.scene.layer import open_layer
from engine.scene.summary import CHUNK, summarise
from engine.synthetic import SyntheticSpec, write_scene
from engine.types import Extent, LayerSpec


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory):
    spec = SyntheticSpec(width=700, height=500, cloud_fraction=0.2, nodata_border_px=7, block_px=128, seed=4)
    return write_scene(spec, tmp_path_factory.mktemp("syn"))


def _expected(path: Path, window: tuple[slice, slice] = (slice(None), slice(None))) -> dict[str, float]:
    with rasterio.open(path) as src:
        dn = src.read().astype(np.float64)[:, window[0], window[1]]
    refl = (dn[:6] - 1000) / 10000
    valid = (dn[:6] != 0).all(axis=0) & ~np.isin(dn[6], (0, 1, 3, 8, 9, 10))
    blue, green, red, nir, swir1, swir2 = (b[valid] for b in refl)
    return {
        "red": red.mean(), "nir": nir.mean(), "swir2": swir2.mean(), "red_min": red.min(),
        "ndvi": ((nir - red) / (nir + red)).mean(), "mndwi": ((green - swir1) / (green + swir1)).mean(),
        "bsi": (((swir1 + red) - (nir + blue)) / ((swir1 + red) + (nir + blue))).mean(),
        "valid_fraction": valid.mean(),
    }


@pytest.mark.parametrize("budget_mb", [1, 256])
def test_summary_matches_numpy(scene, budget_mb: int) -> None:
    layer = scene.layers[1]  # the date with clouds
    got = summarise(open_layer(LayerSpec(path=layer)), budget_mb=budget_mb).to_dict()
    want = _expected(layer)
    assert 700 * 500 > CHUNK  # several chunks per strip are exercised
    for role in ("red", "nir", "swir2"):
        assert got["bands"][role]["mean"] == pytest.approx(want[role], abs=1e-6)
    assert got["bands"]["red"]["min"] == pytest.approx(want["red_min"], abs=1e-6)
    for name in ("ndvi", "mndwi", "bsi"):
        assert got["indices"][name]["mean"] == pytest.approx(want[name], abs=1e-5)
    assert got["valid_fraction"] == pytest.approx(want["valid_fraction"])
    assert got["valid_fraction"] < 0.95  # clouds and border really are excluded


def test_summary_over_an_extent(scene) -> None:
    layer = scene.layers[0]
    # pixels 100..299 (cols) x 50..149 (rows), at 10 m from (500000, 4000000)
    extent = Extent(501000, 3998500, 503000, 3999500, "EPSG:32648")
    got = summarise(open_layer(LayerSpec(path=layer)), extent).to_dict()
    assert got["window"] == {"col_off": 100, "row_off": 50, "width": 200, "height": 100}
    want = _expected(layer, (slice(50, 150), slice(100, 300)))
    assert got["bands"]["nir"]["mean"] == pytest.approx(want["nir"], abs=1e-6)
    assert got["bounds"] == pytest.approx((501000, 3998500, 503000, 3999500))


@pytest.mark.parametrize(("index", "bands", "expected"), [
    ("ndvi", {"nir": 0.5, "red": 0.1}, (0.5 - 0.1) / (0.5 + 0.1)),
    ("ndvi", {"nir": 0.0, "red": 0.0}, float("nan")),
    ("mndwi", {"green": 0.08, "swir1": 0.02}, (0.08 - 0.02) / (0.08 + 0.02)),
    ("ndbi", {"swir1": 0.3, "nir": 0.2}, (0.3 - 0.2) / (0.3 + 0.2)),
    ("bsi", {"swir1": 0.3, "red": 0.2, "nir": 0.25, "blue": 0.1}, (0.5 - 0.35) / (0.5 + 0.35)),
])
def test_index_formulas(index: str, bands: dict[str, float], expected: float) -> None:
    from engine.scene.indices import Index, compute
    from engine.types import BandRole

    arrays = {BandRole(k): np.full(3, v, np.float32) for k, v in bands.items()}
    got = compute(Index(index), arrays)
    np.testing.assert_allclose(got, np.full(3, expected, np.float32), rtol=1e-6)
