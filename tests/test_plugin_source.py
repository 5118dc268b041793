"""The plugin's source, read as text: it imports only what any QGIS has, and its Qt usage is Qt6-safe.

The plugin loads in any QGIS (3.22 on Debian, the Windows OSGeo4W build, Qt6
builds), so it may import the standard library, ``qgis`` and ``qgis.PyQt``
only, never PyQt5/6 directly, torch, numpy or the engine; enums are written
scoped (``Qt.AlignmentFlag.AlignRight``, not ``Qt.AlignRight``) and dialogs
run with ``exec()``, not the Qt5-only ``exec_()``.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[1] / "qgis_plugin"
SOURCES = sorted(PLUGIN.rglob("*.py"))
QT_NAME = re.compile(r"^(Qt|Qgis|Qgs[A-Z]\w*|Q[A-Z]\w*)$")


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def unscoped_enums(source: str) -> list[str]:
    """``Qt.AlignRight``-style uses: a Qt class's capitalised attribute that is neither called nor qualified further."""
    tree = ast.parse(source)
    parents = _parents(tree)
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and QT_NAME.match(node.value.id)
                and node.attr[:1].isupper()):
            parent = parents.get(node)
            if isinstance(parent, ast.Attribute) or (isinstance(parent, ast.Call) and parent.func is node):
                continue
            found.append(f"{node.value.id}.{node.attr} (line {node.lineno})")
    return found


def foreign_imports(source: str) -> list[str]:
    allowed = set(sys.stdlib_module_names) | {"qgis", "processing"}
    found = []
    for node in ast.walk(ast.parse(source)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
        found += [n for n in names if n.split(".")[0] not in allowed]
    return found


@pytest.mark.parametrize("source, expected", [
    ("x = Qt.AlignRight", ["Qt.AlignRight (line 1)"]),
    ("x = Qt.AlignmentFlag.AlignRight", []),
    ("x = QMessageBox.Yes if a else QgsTask.Flag.CanCancel", ["QMessageBox.Yes (line 1)"]),
    ("QgsProject.instance().clear()", []),
    ("self.Qt.Foo = 1", []),
])
def test_the_enum_check_itself(source: str, expected: list[str]) -> None:
    assert unscoped_enums(source) == expected


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PLUGIN)))
def test_plugin_modules_are_qt6_safe_and_import_only_qgis(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert not unscoped_enums(source)
    assert not foreign_imports(source)
    assert ".exec_(" not in source


def test_the_import_check_itself() -> None:
    assert foreign_imports("import torch\nfrom PyQt5.QtCore import Qt\nfrom .x import y\nimport json") == \
        ["torch", "PyQt5.QtCore"]
