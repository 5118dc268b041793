"""zh_CN: every interface string has a translation, and QGIS in Chinese shows the plugin in Chinese."""

import ast
import xml.etree.ElementTree as ET

import qgis.utils
from conftest import PLUGIN_NAME, REPO, start_plugin

TS = REPO / "qgis_plugin" / "i18n" / "county_landuse_monitor_zh_CN.ts"


def _sources():
    """String literals passed to tr()/QCoreApplication.translate(), and the errors' hints."""
    found = set()
    for path in (REPO / "qgis_plugin").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                args = node.args[1:] if name == "translate" else node.args
                if name in ("tr", "translate") and args and isinstance(args[0], ast.Constant):
                    found.add(args[0].value)
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "hint" for t in node.targets):
                if isinstance(node.value, ast.Constant) and node.value.value:
                    found.add(node.value.value)
    return found


def test_the_translation_is_complete():
    root = ET.parse(TS).getroot()
    translated = {m.findtext("source"): m.findtext("translation") for m in root.iter("message")}
    missing = sorted(s for s in _sources() if not translated.get(s))
    assert not missing, missing
    assert all(t and "unfinished" not in (m.find("translation").get("type") or "")
               for m, t in ((m, m.findtext("translation")) for m in root.iter("message")))


def _dock_texts(plugins_dir, iface, monkeypatch):
    plugin = start_plugin(iface, plugins_dir, monkeypatch)
    try:
        iface.toolbar.actions()[0].trigger()
        dock = plugin.dock
        return dock.ask_button.text(), [a.text() for m in iface.submenus.values() for a in m.actions()]
    finally:
        assert qgis.utils.unloadPlugin(PLUGIN_NAME)


def test_qgis_in_chinese_shows_chinese(qgis_app, plugins_dir, iface, monkeypatch):
    button, menu = _dock_texts(plugins_dir, iface, monkeypatch)
    assert button == "就可见范围提问" and "设置" in menu


def test_qgis_in_english_shows_english(qgis_app, plugins_dir, iface, monkeypatch):
    from qgis.core import QgsSettings

    QgsSettings().setValue("locale/userLocale", "en_US")
    button, menu = _dock_texts(plugins_dir, iface, monkeypatch)
    assert button == "Ask about visible layer" and "Settings" in menu
