"""The plugin zip: built by scripts/package_plugin.py, installed into a fresh QGIS profile, loaded."""

import subprocess
import sys
import zipfile

import qgis.utils
from conftest import PLUGIN_NAME, REPO


def test_zip_installs_into_a_fresh_profile_and_loads(qgis_app, iface, tmp_path, monkeypatch):
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "package_plugin.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, check=True)
    zip_path = done.stdout.strip().splitlines()[-1]
    names = zipfile.ZipFile(zip_path).namelist()
    assert f"{PLUGIN_NAME}/metadata.txt" in names and f"{PLUGIN_NAME}/LICENSE" in names
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n or "/tests/" in n]
    plugins = tmp_path / "profiles" / "default" / "python" / "plugins"  # as QGIS's installer lays it out
    plugins.mkdir(parents=True)
    zipfile.ZipFile(zip_path).extractall(plugins)
    for name in [m for m in sys.modules if m == PLUGIN_NAME or m.startswith(PLUGIN_NAME + ".")]:
        del sys.modules[name]
    monkeypatch.syspath_prepend(str(plugins))
    monkeypatch.setattr(qgis.utils, "iface", iface)
    monkeypatch.setattr(qgis.utils, "plugin_paths", [str(plugins)])
    qgis.utils.updateAvailablePlugins()
    assert qgis.utils.loadPlugin(PLUGIN_NAME) and qgis.utils.startPlugin(PLUGIN_NAME)
    try:
        module = sys.modules[PLUGIN_NAME]
        assert module.__file__.startswith(str(plugins))  # the installed copy, not the checkout
        action = iface.toolbar.actions()[0]
        assert not action.icon().isNull()  # the icon compiled into resources_rc.py
        action.trigger()
        assert qgis.utils.plugins[PLUGIN_NAME].dock.isVisibleTo(iface.window)
    finally:
        assert qgis.utils.unloadPlugin(PLUGIN_NAME)
