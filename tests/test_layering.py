"""Data flows one way, scene -> analysis -> prompt -> model -> answer: no stage imports a later one.

Read from the source (imports at any depth, lazy ones included), so a back edge cannot hide in a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[1] / "engine"
ORDER = ["scene", "analysis", "prompt", "model", "answer"]  # each may import the ones before it only


def _engine_imports(package: str) -> set[str]:
    found = set()
    for path in (ENGINE / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found |= {n.split(".")[1] for n in names if n.startswith("engine.") and n.count(".") >= 1}
    return found


@pytest.mark.parametrize("stage", ORDER)
def test_no_stage_imports_a_later_one(stage: str) -> None:
    later = set(ORDER[ORDER.index(stage) + 1:])
    assert not (_engine_imports(stage) & later), (stage, _engine_imports(stage) & later)


def test_the_model_stage_does_not_reach_into_analysis() -> None:
    """The model only sees a prompt: it never measures, and the analytics answers live in engine/answer/."""
    assert "analysis" not in _engine_imports("model")
