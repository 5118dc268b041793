"""The dataset builder on a synthetic two-date scene: grounded answers, leak-free splits, balanced yes/no, stats."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.synthetic import SyntheticSpec, write_scene
from training import data
from training.build_dataset import build
from training.dataset.splits import assign
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
            key = next(k for k, zh_en in (("water", ("水体", "water")), ("built_up", ("建设用地", "built-up")),
                                          ("bare", ("裸地", "bare")), ("cropland", ("耕地", "cropland")),
                                          ("forest", ("林地", "forest"))) if any(n in row["question"] for n in zh_en))
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
            gained = facts["protection_zones"]["new_built_up"]["area_m2"]
            assert row["answer"] in (("是", "yes") if gained > 0 else ("否", "no"))
            checked += 1
        if row["question_type"] == "count" and row["language"] == "zh":
            assert row["answer"] == str(facts["built_up_patches"])
    assert checked > 20


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
