"""The dataset builder on a synthetic two-date scene: grounded answers, leak-free splits, balanced yes/no, stats."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rasterio.windows import Window
from rasterio.windows import bounds as window_bounds

from engine.analysis.areas import pixel_areas
from engine.analysis.classify import Thresholds
from engine.analysis.run import AnalysisConfig, ZoneSpec, analyse
from engine.analysis.zones import read_zones
from engine.synthetic import SyntheticSpec, write_scene
from engine.types import Extent, LayerSpec
from training import data
from training.build_dataset import answer_value, build
from training.dataset.questions import NAMES
from training.dataset.splits import assign
from training.dataset.tiles import tile_facts
from training.rewards import score_answer


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("s")
    scene = write_scene(SyntheticSpec(width=448, height=448, patch_px=16, noise=0.01), folder)
    zones = folder / "zones.geojson"  # a protection zone over the western half (the scene's UTM 48N metres)
    ring = [[500000, 3995520], [502240, 3995520], [502240, 4000000], [500000, 4000000], [500000, 3995520]]
    feature = {"type": "Feature", "properties": {"name": "红线"},
               "geometry": {"type": "Polygon", "coordinates": [ring]}}
    zones.write_text(json.dumps({"type": "FeatureCollection", "features": [feature],
                                 "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32648"}}}))
    out = tmp_path_factory.mktemp("dataset")
    build(scene.layers, out, tile_size=56, block=2, val=0.25, test=0.25, seed=0, progress=False, zones=zones)
    return out


def _rows(folder: Path) -> dict[str, list[dict]]:
    return {s: json.loads((folder / f"{s}.json").read_text(encoding="utf-8")) for s in ("train", "val", "test")}


def test_files_load_as_training_rows(dataset: Path) -> None:
    rows = _rows(dataset)
    assert all(rows.values()), {k: len(v) for k, v in rows.items()}
    for split in rows:
        loaded = data.load_rows(dataset / f"{split}.json")  # the seed's format, every image present
        assert len(loaded) == len(rows[split])
    kinds = {r["question_type"] for r in rows["train"] + rows["test"]}
    assert kinds >= {"presence", "comparison", "count", "area", "change", "violation", "rural_urban", "zone"}
    change = next(r for r in rows["test"] if r["question_type"] == "change")
    assert isinstance(change["image"], list) and len(change["image"]) == 2  # both dates shown


def test_answers_come_from_the_tile_facts(dataset: Path) -> None:
    checked = 0
    for row in [r for rows in _rows(dataset).values() for r in rows]:
        facts = json.loads(row["facts"])
        last = facts["dates"][-1]
        if row["question_type"] == "area":
            key = next(k for k, zh_en in NAMES.items() if any(n in row["question"] for n in zh_en))
            measured = f"{facts['classes'][last][key]['area_m2']} m2"
            assert score_answer(row["answer"], measured, row["question"]) == 1.0, (row, measured)
            checked += 1
        if row["question_type"] == "change":
            gained = sum(t["area_m2"] for t in facts["transitions"] if t["to"] == "built_up")
            assert score_answer(row["answer"], f"{gained} m2", row["question"]) == 1.0 or gained == 0
            checked += 1
        if row["question_type"] == "zone":
            tile_col = row["tile"][1]
            assert tile_col < 4, row  # only tiles of the western half (56-px tiles, zone 224 px wide)
            gained = sum(t["area_m2"] for z in facts["zones"] for t in z["transitions"] if t["to"] == "built_up")
            assert row["answer"] in (("是", "yes") if gained > 0 else ("否", "no"))
            checked += 1
        if row["question_type"] == "count" and row["language"] == "zh":  # the engine's change patches
            assert row["answer"] == str(sum(t["patches"] for t in facts["transitions"] if t["to"] == "built_up"))
            checked += 1
    assert checked > 20


def _leaves(node: object, path: str = "") -> dict[str, object]:
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _leaves(value, f"{path}.{key}").items()}
    if isinstance(node, list):
        return {k: v for i, value in enumerate(node) for k, v in _leaves(value, f"{path}[{i}]").items()}
    return {path: node}


def test_a_tile_measures_as_analyse_over_its_extent(tmp_path: Path) -> None:
    """Same classes, minimum mapping unit, patches and zones: the tile's facts are ``analyse`` over the tile."""
    scene = write_scene(SyntheticSpec(width=256, height=256, patch_px=12, noise=0.01), tmp_path)
    zones = tmp_path / "zones.geojson"  # a zone over part of one tile and part of its neighbour
    ring = [[500600, 3998000], [501800, 3998000], [501800, 3999400], [500600, 3999400], [500600, 3998000]]
    zones.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "红线"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}],
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32648"}}}))
    config = AnalysisConfig(thresholds=Thresholds(water_mndwi=0.05), mmu_ha=0.3)  # one threshold for both runs
    specs = [LayerSpec(path=p) for p in scene.layers]
    whole = analyse(specs, config=config, keep_class_maps=True)
    window = whole.class_maps[0].window
    layers = [(d.date, d.layer, d.sensor) for d in whole.facts.per_date]
    tiles = list(tile_facts(whole.class_maps, layers, whole.grid, window, pixel_areas(whole.grid, window), 128,
                            0.5, config.mmu_ha * 10_000, read_zones(zones, whole.grid)))
    assert len(tiles) == 4
    for tile in tiles:
        extent = Extent(*window_bounds(Window(tile.col0, tile.row0, 128, 128), whole.grid.transform),
                        crs=whole.grid.crs.to_string())
        alone = analyse(specs, extent, config, zones=ZoneSpec(zones)).facts.to_dict()
        ours = tile.to_facts()
        assert ours["tile"] == {"row": tile.row, "col": tile.col, "size_px": 128}
        assert ours["transitions"] and ours["findings_count"] == alone["findings_count"] > 0
        skip = (".per_date[0].indices", ".per_date[1].indices", ".index_change", ".notes", ".tile")
        want = {k: v for k, v in _leaves(alone).items() if not k.startswith(skip)}
        got = {k: v for k, v in _leaves(ours).items() if not k.startswith(skip)}
        assert got.keys() == want.keys()
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-6, abs=1e-6), key
            else:
                assert got[key] == value, key


def test_no_tile_or_neighbour_is_shared_across_splits(dataset: Path) -> None:
    tiles = {split: {tuple(r["tile"]) for r in rows} for split, rows in _rows(dataset).items()}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        for (r1, c1) in tiles[a]:
            for (r2, c2) in tiles[b]:
                assert max(abs(r1 - r2), abs(c1 - c2)) > 1, (a, (r1, c1), b, (r2, c2))


@given(st.sets(st.tuples(st.integers(0, 12), st.integers(0, 12)), max_size=120), st.integers(1, 4),
       st.integers(0, 1000))
def test_splits_never_touch_for_any_tiles(tiles: set, block: int, seed: int) -> None:
    kept = assign(tiles, block, 0.2, 0.2, seed)
    assert set(kept) <= tiles
    for (r, c), s in kept.items():
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                other = kept.get((r + dr, c + dc))
                assert other in (None, s)


def test_yes_no_answers_are_balanced_and_stats_give_the_majority_baseline(dataset: Path) -> None:
    stats = json.loads((dataset / "stats.json").read_text(encoding="utf-8"))
    for split, rows in _rows(dataset).items():
        counts = collections.Counter((r["question_type"], r["language"], r["answer"]) for r in rows
                                     if r["answer"] in ("是", "否", "yes", "no"))
        for (kind, language, _), n in counts.items():
            yes, no = ("是", "否") if language == "zh" else ("yes", "no")
            assert counts[(kind, language, yes)] == counts[(kind, language, no)] == n
        for kind, s in stats["splits"][split]["types"].items():
            answers = [r["answer"] for r in rows if r["question_type"] == kind]
            assert s["rows"] == len(answers)
            assert s["majority_baseline_accuracy"] == max(s["answers"].values()) / len(answers)


def test_a_600_px_scene_at_10_m_has_val_and_test_rows(tmp_path: Path, caplog) -> None:
    """With the defaults (256-px tiles, 4-tile blocks, 10 % each) such a scene used to give empty val and test."""
    scene = write_scene(SyntheticSpec(width=600, height=600, pixel_size_m=10.0, patch_px=24, noise=0.01),
                        tmp_path / "s")
    out = tmp_path / "dataset"
    with caplog.at_level("WARNING", logger="training.build_dataset"):
        stats = build(scene.layers, out, progress=False)
    for split in ("train", "val", "test"):
        assert stats["splits"][split]["rows"] > 0, split
        assert json.loads((out / f"{split}.json").read_text(encoding="utf-8")), split
    assert stats["layout_adapted"] and stats["tile_size_px"] < 256
    assert "are small" in caplog.text and f"{stats['tile_size_px']}-px tiles" in caplog.text


def test_a_scene_below_the_minimum_is_refused_with_the_minimum(tmp_path: Path, capsys) -> None:
    from training import build_dataset

    scene = write_scene(SyntheticSpec(width=240, height=240, patch_px=24, noise=0.01), tmp_path / "s")
    assert build_dataset.main(["--layer", str(scene.layers[0]), "--layer", str(scene.layers[1]),
                               "--out", str(tmp_path / "d"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the layers (240x240 px) are too small") and "112-px tiles in 1-tile blocks" in err
    assert not (tmp_path / "d" / "test.json").exists()


def test_no_answer_dominates_a_question_type(dataset: Path) -> None:
    train = _rows(dataset)["train"]
    groups = collections.defaultdict(collections.Counter)
    for row in train:
        groups[(row["question_type"], row["language"])][answer_value(row["answer"])] += 1
    many = {k: c for k, c in groups.items() if len(c) >= 3}
    assert many  # area and change answers are numbers: the cap applies to them
    for key, counter in many.items():
        answer, top = counter.most_common(1)[0]
        assert top <= 0.25 * sum(counter.values()) or top == 1, (key, answer, top, sum(counter.values()))


@pytest.mark.parametrize("answers, kept", [
    (["0亩"] * 30 + ["1亩", "2亩", "3亩"], {"0亩": 1, "1亩": 1, "2亩": 1, "3亩": 1}),
    (["0亩"] * 6 + [f"{i}亩" for i in range(1, 19)], {"0亩": 6}),  # 6 of 24: at the cap, kept
    (["是"] * 5 + ["否"] * 2, {"是": 2, "否": 2}),
    (["是"] * 5, {}),  # one yes/no answer: left out
    (["0 亩"] * 10 + ["0 公顷"] * 10 + ["1 亩", "2 亩", "3 亩"], {"1 亩": 1, "2 亩": 1, "3 亩": 1}),
    (["乡村"] * 5 + ["城镇"], {"乡村": 1, "城镇": 1}),  # two answers that are not yes/no: equalised too
    (["1-5 处"] * 10 + ["0 处"] * 10 + ["6-20 处"], {"1-5 处": 1, "0 处": 1, "6-20 处": 1}),  # three: a third each
    (["0亩"] * 5, {"0亩": 5}),  # one value that is not yes/no: kept, so that small splits are not emptied
])
def test_balancing_table(answers: list[str], kept: dict[str, int]) -> None:
    import random

    from training.build_dataset import _balance

    rows = [{"id": f"r{i:03d}", "question_type": "t", "language": "zh", "answer": a} for i, a in enumerate(answers)]
    out = _balance(rows, random.Random(0))
    counts = collections.Counter(r["answer"] for r in out)
    assert {a: counts[a] for a in kept} == kept and (kept or not counts)
    if len(answers) == 23:  # 0 亩 and 0 公顷 are one value, capped together
        assert sum(answer_value(r["answer"]) == answer_value("0 亩") for r in out) == 1
