"""Analysis cache: repeats do not recompute; edits, new settings and the size cap are honoured."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import engine.analysis.run as run
from engine.analysis.cache import AnalysisCache
from engine.analysis.run import AnalysisConfig, analyse
from engine.synthetic import SyntheticSpec, write_scene
from engine.types import LayerSpec


@pytest.fixture
def scene(tmp_path: Path):
    return write_scene(SyntheticSpec(width=256, height=192, seed=21), tmp_path / "scene")


def _no_classify(*args: object, **kwargs: object) -> None:
    raise AssertionError("classified although the cache holds this class map")


def test_repeat_is_served_from_cache(scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = AnalysisCache(tmp_path / "cache")
    specs = [LayerSpec(path=p) for p in scene.layers]
    first = analyse(specs, cache=cache)
    assert not first.from_cache
    monkeypatch.setattr(run, "classify_window", _no_classify)
    monkeypatch.setattr(run, "changes_between", _no_classify)
    again = analyse(specs, cache=cache)
    assert again.from_cache
    assert again.facts.to_dict() == first.facts.to_dict()
    assert again.findings() == first.findings()
    assert len(again.findings(cap=1)["features"]) == 1


def test_class_maps_are_reused_for_new_settings(scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = AnalysisCache(tmp_path / "cache")
    specs = [LayerSpec(path=p) for p in scene.layers]
    analyse(specs, cache=cache)
    monkeypatch.setattr(run, "classify_window", _no_classify)
    other = analyse(specs, config=AnalysisConfig(mmu_ha=2.0), cache=cache)
    assert not other.from_cache and other.facts.mmu_m2 == 20000


def test_edited_file_is_recomputed(scene, tmp_path: Path) -> None:
    cache = AnalysisCache(tmp_path / "cache")
    specs = [LayerSpec(path=p) for p in scene.layers]
    analyse(specs, cache=cache)
    stat = scene.layers[1].stat()
    os.utime(scene.layers[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert not analyse(specs, cache=cache).from_cache


def test_size_cap_evicts_oldest(scene, tmp_path: Path) -> None:
    cache = AnalysisCache(tmp_path / "cache", max_mb=0)
    analyse([LayerSpec(path=p) for p in scene.layers], cache=cache)
    assert [p for p in (tmp_path / "cache" / "analysis").glob("*") if p.suffix != ".lock"] == []  # (locks stay)
