"""The compiled kernels against plain numpy/scipy references: labelling, validity, classification, sampling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.windows import Window
from scipy import ndimage

from engine.analysis import kernels
from engine.analysis.areas import PixelAreas
from engine.analysis.classify import Thresholds, classify, classify_flat
from engine.scene import masks
from engine.scene.masks import decode_mask, valid_pixels
from engine.scene.product import MaskKind
from engine.scene.reader import _sample_cells, calibrate
from engine.types import BandRole, Calibration


def _blobby_codes(rng: np.random.Generator, shape: tuple[int, int], n_codes: int) -> np.ndarray:
    """Codes in clumps (smoothed noise), so components are large and cross block seams."""
    noise = ndimage.uniform_filter(rng.random(shape), size=5)
    levels = np.quantile(noise, np.linspace(0, 1, n_codes + 2)[1:-1])
    return np.digitize(noise, levels).astype(np.uint8)  # 0 = no change, 1..n_codes


def _scipy_components(codes: np.ndarray) -> set[frozenset[int]]:
    out = set()
    for code in np.unique(codes[codes > 0]):
        lab, n = ndimage.label(codes == code, structure=np.ones((3, 3), bool))
        flat = lab.ravel()
        order = np.argsort(flat, kind="stable")
        bounds = np.searchsorted(flat[order], np.arange(1, n + 2))
        out.update(frozenset(order[bounds[k]:bounds[k + 1]].tolist()) for k in range(n))
    return out


@pytest.mark.parametrize("blocks", [1, 2, 3, 7])
@pytest.mark.parametrize("seed", [0, 1])
def test_labelling_matches_scipy_across_block_seams(blocks: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    codes = _blobby_codes(rng, (97, 61), 3)
    row_areas = rng.uniform(800, 900, codes.shape[0])  # every row and column its own factor, as off a meridian
    col_factors = rng.uniform(0.98, 1.02, codes.shape[1])
    labels = np.zeros(codes.shape, np.int32)
    comp = kernels.label_same_code(codes, PixelAreas(row_areas, col_factors, "test"), labels, blocks=blocks)
    flat = labels.ravel()
    ours = {frozenset(np.flatnonzero(flat == k).tolist()) for k in range(1, comp.code.size + 1)}
    assert ours == _scipy_components(codes)
    assert (labels > 0).sum() == (codes > 0).sum()
    for k in range(1, comp.code.size + 1):
        ys, xs = np.nonzero(labels == k)
        j = k - 1
        assert comp.code[j] == codes[ys[0], xs[0]] and set(codes[ys, xs]) == {comp.code[j]}
        assert comp.pixels[j] == ys.size
        assert comp.area_m2[j] == pytest.approx((row_areas[ys] * col_factors[xs]).sum())
        assert (comp.row_min[j], comp.row_max[j], comp.col_min[j], comp.col_max[j]) == (
            ys.min(), ys.max(), xs.min(), xs.max())
        assert comp.row_sum[j] == ys.sum() and comp.col_sum[j] == xs.sum()


def test_labelling_joins_a_diagonal_across_the_seam() -> None:
    codes = np.zeros((4, 4), np.uint8)
    codes[1, 1] = codes[2, 2] = 9  # touching only diagonally, on either side of the seam at row 2
    codes[1, 3] = 9
    codes[2, 0] = 10  # another code: its own component
    labels = np.zeros(codes.shape, np.int32)
    comp = kernels.label_same_code(codes, PixelAreas.uniform(1.0, 4, 4), labels, blocks=2)
    assert sorted(comp.pixels.tolist()) == [1, 3]
    assert labels[1, 1] == labels[2, 2] == labels[1, 3] != labels[2, 0]


def test_labelling_nothing_changed() -> None:
    codes = np.zeros((600, 5), np.uint8)
    labels = np.zeros(codes.shape, np.int32)
    comp = kernels.label_same_code(codes, PixelAreas.uniform(1.0, 600, 5), labels, blocks=2)
    assert comp.code.size == 0 and not labels.any()


def test_transition_codes_and_clear_unkept() -> None:
    before = np.array([[0, 1, 2, 4]], np.uint8)
    after = np.array([[2, 1, 3, 0]], np.uint8)
    codes = np.empty_like(before)
    kernels.transition_codes(before, after, codes)
    assert codes.tolist() == [[0, 0, 2 * 8 + 3, 0]]  # invalid on either date, or unchanged: no code
    labels = np.array([[0, 0, 1, 0]], np.int32)
    kernels.clear_unkept(codes, labels, np.array([False, False]))
    assert not codes.any() and not labels.any()


def test_row_class_areas() -> None:
    classes = np.array([[0, 1, 1], [5, 5, 4]], np.uint8)
    assert kernels.row_class_areas(classes, 8, np.ones(3)).tolist() == [[1, 2, 0, 0, 0, 0, 0, 0],
                                                                       [0, 0, 0, 0, 1, 2, 0, 0]]
    weighted = kernels.row_class_areas(classes, 8, np.array([1.0, 2.0, 4.0]))
    assert weighted.tolist() == [[1, 6, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 4, 3, 0, 0]]


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("kind", list(MaskKind))
@pytest.mark.parametrize("qa_dtype", [np.uint8, np.uint16, np.int32])
def test_validity_matches_the_bit_rules(kind: MaskKind, qa_dtype: type, compiled: bool,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(masks, "COMPILED_MIN_PIXELS", 0 if compiled else 1 << 40)
    rng = np.random.default_rng(3)
    high = 256 if qa_dtype is np.uint8 else 1 << 16
    qa = rng.integers(0, high, (37, 29)).astype(qa_dtype)
    qa[0, :12] = [0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7]  # every SCL class of interest
    bands = rng.integers(0, 4, (3, 37, 29)).astype(np.uint16)  # zeros are fill
    q = qa.astype(np.int64)
    expected_invalid = {
        MaskKind.S2_SCL: np.isin(q, [0, 1, 3, 8, 9, 10]),
        MaskKind.LANDSAT_QA_PIXEL: (q & 0b11111) != 0,
        MaskKind.LANDSAT_BQA_C1: ((q & 1) != 0) | ((q & 16) != 0) | (((q >> 7) & 3) == 3) | (((q >> 11) & 3) == 3),
        MaskKind.NONZERO_INVALID: q != 0,
    }[kind]
    assert np.array_equal(decode_mask(qa, kind), expected_invalid)
    valid = np.ones(qa.shape, bool)
    valid[5] = False  # validity already known is kept
    expected = valid & ~expected_invalid & (bands.min(axis=0) != 0)
    valid_pixels(bands, True, qa, kind, valid)
    assert np.array_equal(valid, expected)


def test_validity_without_fill_rule_or_qa_changes_nothing() -> None:
    valid = np.ones((2, 3), bool)
    valid_pixels(np.zeros((2, 2, 3), np.uint16), False, None, None, valid)
    assert valid.all()


def test_kernel_calibrates_raw_dns_as_the_reader_does() -> None:
    """Classifying raw DNs with a calibration equals classifying the reader's reflectance."""
    rng = np.random.default_rng(5)
    roles = (BandRole.BLUE, BandRole.GREEN, BandRole.RED, BandRole.NIR, BandRole.SWIR1, BandRole.SWIR2)
    raw = {r: rng.integers(1, 12000, 5000).astype(np.uint16) for r in roles}
    cals = {r: Calibration(scale=2.75e-5, offset=-0.2, sun_factor=0.8 + 0.01 * i) for i, r in enumerate(roles)}
    valid = rng.random(5000) > 0.1
    t = Thresholds(water_mndwi=0.05)
    out = np.empty(5000, np.uint8)
    classify_flat(raw, valid, t, out, cals)
    reflectance = {r: calibrate(raw[r], cals[r]) for r in roles}
    assert np.array_equal(out, classify(reflectance, valid, t))
    assert len(set(out.tolist())) >= 4  # the data exercises several rules


@settings(max_examples=60, deadline=None)
@given(row_off=st.integers(0, 3000), col_off=st.integers(0, 3000), height=st.integers(1, 6000),
       width=st.integers(1, 6000), bh=st.sampled_from([1, 16, 256, 512]), bw=st.sampled_from([256, 512, 8000]),
       max_pixels=st.integers(1000, 1 << 21))
def test_sample_cells_are_disjoint_inside_the_window(row_off: int, col_off: int, height: int, width: int,
                                                     bh: int, bw: int, max_pixels: int) -> None:
    window = Window(col_off, row_off, width, height)
    cells = _sample_cells(window, (bh, bw), max_pixels)
    assert cells
    seen = np.zeros((height, width), np.uint8)
    for c in cells:
        r0, c0 = int(c.row_off) - row_off, int(c.col_off) - col_off
        assert r0 >= 0 and c0 >= 0 and r0 + c.height <= height and c0 + c.width <= width
        seen[r0:r0 + int(c.height), c0:c0 + int(c.width)] += 1
    assert seen.max() == 1
