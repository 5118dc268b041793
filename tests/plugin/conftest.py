"""Fixtures for tests that run inside Debian's QGIS Python (/usr/bin/python3).

A real ``QgsApplication`` (offscreen) and a small stand-in for ``QgisInterface``
built from real Qt widgets: a main window with a real Plugins menu, toolbar and
dock area, so the tests see what a user would see. The plugin is installed into
a temporary plugins folder the way QGIS installs a zip: the package folder with
``metadata.txt`` and the icon inside.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qgis.utils
from qgis.core import QgsApplication, QgsProject
from qgis.gui import QgsMapCanvas, QgsMessageBar
from qgis.PyQt.QtCore import QElapsedTimer, QTimer
from qgis.PyQt.QtWidgets import QMainWindow, QMenu, QToolBar, QVBoxLayout, QWidget

REPO = Path(__file__).resolve().parents[2]
PLUGIN_NAME = "county_landuse_monitor"
ENGINE_PYTHON = REPO / ".venv" / "bin" / "python"

_app = QgsApplication([], True)
_app.initQgis()


class WidgetIface:
    """The part of QgisInterface the plugin uses, with real widgets behind it."""

    def __init__(self):
        self.window = QMainWindow()
        self.plugins_menu = self.window.menuBar().addMenu("&Plugins")
        self.toolbar = QToolBar("Plugins")
        self.window.addToolBar(self.toolbar)
        self.submenus = {}
        centre = QWidget()
        layout = QVBoxLayout(centre)
        self.message_bar = QgsMessageBar()
        self.canvas = QgsMapCanvas()
        layout.addWidget(self.message_bar)
        layout.addWidget(self.canvas)
        self.window.setCentralWidget(centre)

    def mapCanvas(self):
        return self.canvas

    def messageBar(self):
        return self.message_bar

    def mainWindow(self):
        return self.window

    def addPluginToMenu(self, name, action):
        menu = self.submenus.get(name)
        if menu is None:
            menu = QMenu(name, self.window)
            self.plugins_menu.addMenu(menu)
            self.submenus[name] = menu
        menu.addAction(action)

    def removePluginMenu(self, name, action):
        menu = self.submenus.get(name)
        if menu is not None:
            menu.removeAction(action)
            if not menu.actions():
                self.plugins_menu.removeAction(menu.menuAction())
                del self.submenus[name]

    def addToolBarIcon(self, action):
        self.toolbar.addAction(action)

    def removeToolBarIcon(self, action):
        self.toolbar.removeAction(action)

    def addDockWidget(self, area, dock):
        self.window.addDockWidget(area, dock)

    def removeDockWidget(self, dock):
        self.window.removeDockWidget(dock)


@pytest.fixture
def qgis_app():
    return _app


@pytest.fixture
def plugins_dir(tmp_path):
    """A plugins folder holding the plugin as QGIS would install it from the zip."""
    target = tmp_path / "plugins" / PLUGIN_NAME
    shutil.copytree(REPO / "qgis_plugin", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(REPO / "metadata.txt", target / "metadata.txt")
    for ts in (target / "i18n").glob("*.ts"):  # compiled as the zip build compiles them
        subprocess.run(["lrelease", "-silent", str(ts), "-qm", str(ts.with_suffix(".qm"))], check=True)
    sys.path.insert(0, str(target.parent))
    yield target.parent
    sys.path.remove(str(target.parent))
    for name in [m for m in sys.modules if m == PLUGIN_NAME or m.startswith(PLUGIN_NAME + ".")]:
        del sys.modules[name]


def start_plugin(iface, plugins_dir, monkeypatch, engine_url=None):
    """Load and start the plugin from ``plugins_dir`` as QGIS does; returns the plugin object."""
    import qgis.utils
    from qgis.core import QgsSettings

    if engine_url is not None:
        QgsSettings().setValue("county_landuse_monitor/engine_url", engine_url)
    monkeypatch.setattr(qgis.utils, "iface", iface)
    monkeypatch.setattr(qgis.utils, "plugin_paths", [str(plugins_dir)])
    qgis.utils.updateAvailablePlugins()
    assert qgis.utils.loadPlugin(PLUGIN_NAME) and qgis.utils.startPlugin(PLUGIN_NAME)
    return qgis.utils.plugins[PLUGIN_NAME]


@pytest.fixture(autouse=True)
def chinese_qgis(qgis_app):
    """QGIS set to simplified Chinese, as our users run it (a test may switch it)."""
    from qgis.core import QgsSettings

    QgsSettings().setValue("locale/userLocale", "zh_CN")
    yield
    QgsSettings().setValue("locale/userLocale", "zh_CN")


_KEEP_ALIVE = []  # Qt widgets are destroyed with the process, never by Python's collector mid-session


@pytest.fixture
def iface():
    window = WidgetIface()
    _KEEP_ALIVE.append(window)
    return window


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_engine(tmp_path_factory, *args, port=None):
    """A ``python -m engine serve`` process of the engine's .venv on a loopback port: (process, url)."""
    if not ENGINE_PYTHON.exists():
        pytest.skip("the engine environment (.venv) is not set up: run scripts/setup.sh")
    port = port or free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "LANDUSE_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    process = subprocess.Popen([str(ENGINE_PYTHON), "-m", "engine", "serve", "--port", str(port), *args],
                               cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            urllib.request.urlopen(url + "/v1/health", timeout=1)
            break
        except urllib.error.HTTPError:  # it answers (e.g. 401 without the token): it is up
            break
        except OSError:
            time.sleep(0.1)
    return process, url


@pytest.fixture(scope="module")
def engine_url(tmp_path_factory):
    """An engine answering from the measurements only (fast)."""
    process, url = start_engine(tmp_path_factory, "--backend", "none")
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture
def dock(qgis_app, plugins_dir, iface, monkeypatch, engine_url):
    plugin = start_plugin(iface, plugins_dir, monkeypatch, engine_url)
    iface.toolbar.actions()[0].trigger()
    yield plugin.dock
    assert qgis.utils.unloadPlugin(PLUGIN_NAME)
    QgsProject.instance().clear()


def wait_until(condition, seconds=60):
    """Process events until ``condition``; return the longest gap between timer ticks (ms)."""
    ticks = QElapsedTimer()
    ticks.start()
    longest = [0]

    def tick():
        longest[0] = max(longest[0], ticks.restart())

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.005)
    timer.stop()
    return longest[0]
