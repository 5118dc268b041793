"""Bad or awkward inputs to analyse: clear messages, and nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest
import rasterio

from engine.analysis.run import analyse
from engine.answer.analytics import answer
from engine.errors import MetadataError, NoOverlapError
from engine.synthetic import SyntheticSpec, write_scene
from engine.types import LayerSpec


def test_dates_without_overlap(tmp_path: Path) -> None:
    a = write_scene(SyntheticSpec(width=64, height=64, dates=("2023-05-01",)), tmp_path / "a")
    b = write_scene(SyntheticSpec(width=64, height=64, dates=("2024-05-01",), origin=(600000.0, 4100000.0)),
                    tmp_path / "b")
    with pytest.raises(NoOverlapError, match="does not overlap"):
        analyse([LayerSpec(path=a.layers[0]), LayerSpec(path=b.layers[0])])


def test_fully_cloudy_date_is_reported_and_the_other_still_measured(tmp_path: Path) -> None:
    scene = write_scene(SyntheticSpec(width=96, height=64), tmp_path)
    with rasterio.open(scene.layers[1], "r+") as dst:
        scl = dst.read(dst.count)
        scl[:] = 9  # cloud high probability everywhere
        dst.write(scl, dst.count)
    result = analyse([LayerSpec(path=p) for p in scene.layers])
    facts = result.facts
    first, second = facts.per_date
    assert first.valid_fraction > 0.9 and first.classes["cropland_grassland"].area_m2 > 0
    assert second.valid_fraction == 0
    assert facts.transitions == [] and result.change is None
    assert any("2024-05-01: no valid pixels" in n for n in facts.notes)
    assert not second.measurable and any("not measurable" in n for n in facts.notes)
    for question in ("土地利用结构变化趋势？", "新增耕地面积是多少？", "新增建设用地多少亩？"):
        text = answer(question, facts).text
        assert "无法测量" in text and "2024-05-01" in text, text
        assert "0 亩" not in text and "0 公顷" not in text, text  # never reported as zero


def test_undated_layer_says_how_to_date_it(tmp_path: Path) -> None:
    scene = write_scene(SyntheticSpec(width=32, height=32, dates=("2023-05-01",)), tmp_path)
    undated = tmp_path / "scene.tif"
    with rasterio.open(scene.layers[0]) as src:
        profile, data, descriptions = src.profile, src.read(), src.descriptions
    with rasterio.open(undated, "w", **profile) as dst:
        dst.write(data)
        for i, d in enumerate(descriptions, start=1):
            dst.set_band_description(i, d)
    with pytest.raises(MetadataError, match="ACQUISITION_DATE"):
        analyse([LayerSpec(path=undated)])
    assert analyse([LayerSpec(path=undated, date="2022-01-01")]).facts.dates == ["2022-01-01"]
