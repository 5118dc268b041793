"""The cache across processes and crashes: two processes at once, kill -9 mid-write, every kind of damage.

Each attack ends with the same facts as a clean run on an empty cache, and a
damaged entry is a warning and a recomputation, never a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.synthetic import SyntheticSpec, write_scene

REPO = Path(__file__).resolve().parents[1]
SMALL = ["--min-pixels", "50176", "--max-pixels", "200704"]  # a small image of a wide layer: read through overviews


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_scene(SyntheticSpec(width=1024, height=768, seed=5), tmp_path_factory.mktemp("scene")).layers


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One date big enough (4096 px wide, no overviews) for the engine to build cached overviews to render it."""
    spec = SyntheticSpec(width=4096, height=1024, dates=("2024-05-01",), changes=(), block_px=512, seed=9)
    return write_scene(spec, tmp_path_factory.mktemp("wide")).layers[0]


def _engine(args: list[str], cache: Path, fault: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "LANDUSE_CACHE_DIR": str(cache)}
    env.pop("LANDUSE_FAULT", None)
    if fault:
        env["LANDUSE_FAULT"] = fault
    return subprocess.Popen([sys.executable, "-m", "engine", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _analyse(scene: list[Path], cache: Path, fault: str | None = None) -> subprocess.Popen:
    return _engine(["analyse", *(a for p in scene for a in ("--layer", str(p))), "--json", "--quiet"], cache, fault)


def _facts(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    return json.loads(out)


@pytest.fixture(scope="module")
def clean(scene: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The facts of a run on an empty cache: what every attack must end with."""
    return _facts(_analyse(scene, tmp_path_factory.mktemp("clean-cache")))


@pytest.mark.parametrize("trial", range(3))
def test_two_analyses_at_once_on_a_cold_cache(scene: list[Path], clean: dict, tmp_path: Path, trial: int) -> None:
    layers = [a for p in scene for a in ("--layer", str(p))]
    runs = [_engine(["analyse", *layers, "--quiet"], tmp_path) for _ in range(2)]  # the table says "from the cache"
    outs = []
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0 and "Traceback" not in err, err[-2000:]
        outs.append(out)
    assert sum("from the cache" in out for out in outs) == 1  # one measured, the other waited and read its entry
    tables = [out.replace("(from the cache: same files, extent and settings as an earlier run)\n", "") for out in outs]
    assert tables[0] == tables[1]  # the same measurements, printed
    assert _facts(_analyse(scene, tmp_path)) == clean  # and the entry they left is whole


@pytest.mark.parametrize("trial", range(3))
def test_two_renders_at_once_on_a_cold_cache(wide: Path, tmp_path: Path, trial: int) -> None:
    outs = [tmp_path / f"render{i}.png" for i in range(3)]
    runs = [_engine(["render", str(wide), "-o", str(out), "--quiet", *SMALL], tmp_path / "cache")
            for out in outs[:2]]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0 and "Traceback" not in err, err[-2000:]
    again = _engine(["render", str(wide), "-o", str(outs[2]), "--quiet", *SMALL], tmp_path / "cache")
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err[-2000:]
    assert outs[0].read_bytes() == outs[1].read_bytes() == outs[2].read_bytes()
    assert not list((tmp_path / "cache" / "overviews").glob("*.tmp*"))  # no half-built overviews left


@pytest.mark.parametrize("point", ["entry:after-part:classes", "entry:after-part:facts", "entry:before-manifest"])
def test_killed_mid_write_the_rerun_equals_a_clean_run(scene: list[Path], clean: dict, tmp_path: Path,
                                                       point: str) -> None:
    killed = _analyse(scene, tmp_path, fault=point)
    killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL  # it died exactly there
    assert _facts(_analyse(scene, tmp_path)) == clean


@pytest.mark.parametrize("point", ["overview:building", "overview:before-commit"])
def test_killed_mid_overview_build_the_rerun_renders_as_a_clean_run(wide: Path, tmp_path: Path, point: str) -> None:
    clean_out, out = tmp_path / "clean.png", tmp_path / "out.png"
    reference = _engine(["render", str(wide), "-o", str(clean_out), "--quiet", *SMALL], tmp_path / "clean")
    assert reference.wait(300) == 0
    killed = _engine(["render", str(wide), "-o", str(out), "--quiet", *SMALL], tmp_path / "cache", fault=point)
    killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL
    rerun = _engine(["render", str(wide), "-o", str(out), "--quiet", *SMALL], tmp_path / "cache")
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-2000:]
    assert out.read_bytes() == clean_out.read_bytes()


def _damage_json(path: Path) -> None:
    path.write_text("{}")


def _damage_bad_json(path: Path) -> None:
    path.write_text('{"dates": [')


def _damage_truncate(path: Path) -> None:
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)


def _damage_flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("what, damage", [
    ("manifest", _damage_json), ("manifest", _damage_bad_json), ("facts", _damage_json),
    ("facts", _damage_bad_json), ("findings", _damage_truncate), ("classes", _damage_truncate),
    ("classes", _damage_flip),
])
def test_a_damaged_entry_is_a_warning_and_recomputed(scene: list[Path], clean: dict, tmp_path: Path, what: str,
                                                     damage) -> None:
    assert _facts(_analyse(scene, tmp_path)) == clean
    folder = tmp_path / "analysis"
    targets = sorted(folder.glob("*.manifest.json") if what == "manifest" else folder.glob(f"*.{what}.*"))
    assert targets, sorted(p.name for p in folder.iterdir())
    for target in targets:
        damage(target)
    if what == "classes":  # the intact result would be served without reading the class maps
        _drop_result_entries(folder)
    run = _analyse(scene, tmp_path)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0 and "Traceback" not in err, err[-2000:]
    assert json.loads(out) == clean
    if what != "manifest":  # (a damaged manifest is the same as no entry: nothing to say)
        assert "damaged" in err, err[-2000:]


def _drop_result_entries(folder: Path) -> None:
    for manifest in folder.glob("*.manifest.json"):
        if ".classes." not in manifest.read_text():
            manifest.unlink()


def test_class_maps_swapped_by_hand_are_noticed(scene: list[Path], clean: dict, tmp_path: Path) -> None:
    assert _facts(_analyse(scene, tmp_path)) == clean
    first, second = sorted((tmp_path / "analysis").glob("*.classes.*.tif"))[:2]
    a, b = first.read_bytes(), second.read_bytes()
    first.write_bytes(b)
    second.write_bytes(a)
    _drop_result_entries(tmp_path / "analysis")  # so the class maps are read, not the stored result
    run = _analyse(scene, tmp_path)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0 and json.loads(out) == clean
    assert "damaged" in err
