"""``python -m engine ask``: the demo, JSON output, backend choice by option, environment and config file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main


def _ask_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["ask", "--demo", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_demo_answers_with_measured_numbers(capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANDUSE_BACKEND", raising=False)
    monkeypatch.delenv("LANDUSE_MODEL", raising=False)
    monkeypatch.setattr("engine.model.config.DEFAULT_MODEL", "nobody/no-such-model")  # whatever this machine has
    assert main(["ask", "--demo", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "答 / A:" in captured.out and "亩" in captured.out
    assert "audit: every number is measured" in captured.out
    assert "not on this machine" in captured.err  # auto fell back to the measurements, and said why


def test_json_is_the_api_object(capsys: pytest.CaptureFixture[str]) -> None:
    out = _ask_json(capsys, "--backend", "none")
    assert {"answer", "facts", "findings", "audit", "images", "timings"} <= out.keys()
    assert out["audit"]["ok"] and out["backend"]["backend"] == "none"


def test_backend_from_config_file_env_and_option(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path) -> None:
    config = tmp_path / "engine.toml"
    config.write_text(f'[model]\nbackend = "local"\nmodel = "{tiny_model_dir}"\nprecision = "fp32"\n'
                      'max_new_tokens = 3\n')
    out = _ask_json(capsys, "--config", str(config))
    assert out["backend"]["backend"] == "local" and out["backend"]["precision"] == "fp32"
    monkeypatch.setenv("LANDUSE_BACKEND", "none")  # the environment wins over the file
    assert _ask_json(capsys, "--config", str(config))["backend"]["backend"] == "none"
    monkeypatch.setenv("LANDUSE_CONFIG", str(config))
    monkeypatch.delenv("LANDUSE_BACKEND")
    assert _ask_json(capsys, "--backend", "none")["backend"]["backend"] == "none"  # the option wins over both


def test_bad_config_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "engine.toml"
    config.write_text('[model]\nbakend = "local"\n')
    assert main(["ask", "--demo", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "unknown key(s) bakend" in err and "backend" in err
    assert main(["ask", "--demo", "--config", str(tmp_path / "none.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_ask_needs_layers_or_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "新增耕地面积是多少？"]) == 2
    assert "--demo" in capsys.readouterr().err
