"""The plugin's copy of the engine's vocabulary (it may not import the engine): class ids, their names, colours.

The plugin runs in QGIS's Python without the engine, so ``qgis_plugin/common/vocab.py`` repeats the class ids.
This contract test holds the copy to the engine: the same ids in the same order, English names that are the
engine's (capitalised), Chinese translations that are the engine's labels (耕地和草地, not 耕地), and a
findings colour for every class.
"""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

from engine.analysis.classes import MEASURED
from engine.analysis.classmap_file import CLASS_COLOURS

PLUGIN = Path(__file__).resolve().parents[1] / "qgis_plugin"


def _assigned(path: Path, name: str) -> object:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and any(
        isinstance(t, ast.Name) and t.id == name for t in n.targets))
    return ast.literal_eval(node.value)


def _translations() -> dict[str, str]:
    root = ET.parse(PLUGIN / "i18n" / "county_landuse_monitor_zh_CN.ts").getroot()
    return {m.findtext("source"): m.findtext("translation") for m in root.iter("message")}


def test_plugin_classes_are_the_engines() -> None:
    classes = _assigned(PLUGIN / "common" / "vocab.py", "CLASSES")
    assert [key for key, _ in classes] == [c.key for c in MEASURED]
    zh = _translations()
    for (key, english), cls in zip(classes, MEASURED, strict=True):
        assert english.lower() == cls.label_en.lower(), key
        assert zh[english] == cls.label_zh, key  # what a bureau reads: 耕地和草地 for the merged class
    assert _assigned(PLUGIN / "findings.py", "CLASS_COLOURS") == CLASS_COLOURS  # the engine's land-cover maps' too
