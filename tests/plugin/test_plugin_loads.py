"""The plugin loads and unloads through qgis.utils in real QGIS, and imports nothing heavy."""

import sys

import qgis.utils
from conftest import PLUGIN_NAME


def _menu_texts(iface):
    return [a.text() for menu in iface.submenus.values() for a in menu.actions()]


def test_load_show_dock_and_unload(qgis_app, plugins_dir, iface, monkeypatch):
    monkeypatch.setattr(qgis.utils, "iface", iface)
    monkeypatch.setattr(qgis.utils, "plugin_paths", [str(plugins_dir)])
    qgis.utils.updateAvailablePlugins()
    assert PLUGIN_NAME in qgis.utils.available_plugins
    assert qgis.utils.pluginMetadata(PLUGIN_NAME, "qgisMinimumVersion") == "3.22"
    assert qgis.utils.loadPlugin(PLUGIN_NAME)
    assert qgis.utils.startPlugin(PLUGIN_NAME)
    try:
        assert _menu_texts(iface) == ["县域土地利用监测", "设置"]  # Chinese in a Chinese QGIS, no English mixed in
        assert list(iface.submenus) == ["土地利用监测(&L)"]
        assert len(iface.toolbar.actions()) == 1
        action = iface.toolbar.actions()[0]
        assert not action.icon().isNull()
        action.trigger()
        plugin = qgis.utils.plugins[PLUGIN_NAME]
        assert plugin.dock is not None and plugin.dock.isVisibleTo(iface.window)
        assert plugin.dock.windowTitle() == "县域土地利用监测"
    finally:
        assert qgis.utils.unloadPlugin(PLUGIN_NAME)
    assert _menu_texts(iface) == []
    assert iface.toolbar.actions() == []
    assert plugin.dock is None


def test_plugin_imports_only_qgis_and_stdlib(qgis_app, plugins_dir, iface, monkeypatch):
    monkeypatch.setattr(qgis.utils, "iface", iface)
    monkeypatch.setattr(qgis.utils, "plugin_paths", [str(plugins_dir)])
    before = set(sys.modules)
    qgis.utils.updateAvailablePlugins()
    assert qgis.utils.loadPlugin(PLUGIN_NAME)
    assert qgis.utils.startPlugin(PLUGIN_NAME)
    assert qgis.utils.unloadPlugin(PLUGIN_NAME)
    new_top = {m.split(".")[0] for m in set(sys.modules) - before}
    heavy = {"torch", "transformers", "rasterio", "numpy", "engine", "training", "PIL", "shapely"}
    assert not new_top & heavy, new_top & heavy
