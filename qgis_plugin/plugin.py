"""The plugin object QGIS creates: a Plugins-menu entry, a toolbar icon and the dock.

The dock (``widgets/dock.py``) asks the engine service about the visible
extent of a raster layer and shows the streamed answer, the audit and the facts.
"""

import os

from qgis.core import Qgis, QgsApplication, QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QLocale, Qt, QTranslator
from qgis.PyQt.QtGui import QIcon

try:  # Qt6 moved QAction to QtGui
    from qgis.PyQt.QtGui import QAction
except ImportError:
    from qgis.PyQt.QtWidgets import QAction

PLUGIN_DIR = os.path.dirname(__file__)
DOCK_WIDTH_PX = 460


def tr(text):
    return QCoreApplication.translate("LandUseMonitor", text)


def _menu():
    """The Plugins-menu entry, in the interface language."""
    return tr("&Land-Use Monitor")


def _translation_file(locale):
    """The .qm for a QGIS locale (``zh_CN``, ``zh-Hans``, ``en_US`` ...), or None."""
    folder = os.path.join(PLUGIN_DIR, "i18n")
    candidates = [locale, locale.replace("-", "_"), locale[:2]]
    if locale.lower().startswith("zh") and not any(t in locale for t in ("Hant", "TW", "HK", "MO")):
        candidates.insert(0, "zh_CN")  # simplified Chinese, however QGIS spells it
    for code in candidates:
        path = os.path.join(folder, f"county_landuse_monitor_{code}.qm")
        if code and os.path.isfile(path):
            return path
    return None


def _install_translator():
    """Load the translation of QGIS's interface locale (Settings → Options → General)."""
    locale = QgsSettings().value("locale/userLocale", "", type=str) or QLocale.system().name()
    path = _translation_file(locale)
    if path is None:
        return None
    translator = QTranslator()
    if not translator.load(path):
        return None
    QCoreApplication.installTranslator(translator)
    return translator


def _icon():
    """The icon compiled from resources.qrc (in the plugin zip), or the PNG in a source checkout."""
    try:
        from . import resources_rc  # noqa: F401  (registers :/plugins/county_landuse_monitor/)
    except ImportError:
        return QIcon(os.path.join(PLUGIN_DIR, "icons", "icon.png"))
    return QIcon(":/plugins/county_landuse_monitor/icon.png")


class LandUseMonitorPlugin:
    """Adds the menu entry, toolbar icon and dock; removes all of them on unload."""

    def __init__(self, iface):
        self.iface = iface
        self.translator = _install_translator()
        self.provider = None
        self.action = None
        self.settings_action = None
        self.dock = None
        self.engine = None  # LocalEngine, made on first use
        self.menu = None

    def initProcessing(self):  # QGIS API name: called by QGIS (and by initGui)
        from .processing_provider.provider import LandUseProvider

        if self.provider is None:
            self.provider = LandUseProvider(_icon())
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # QGIS API name
        self.initProcessing()
        icon = _icon()
        self.action = QAction(icon, tr("County Land-Use Monitor"), self.iface.mainWindow())
        self.action.setObjectName("landUseMonitorAction")
        self.action.setCheckable(True)
        self.action.toggled.connect(self._toggle_dock)
        self.menu = _menu()  # kept: unload removes the translator before the menu
        self.iface.addPluginToMenu(self.menu, self.action)
        self.iface.addToolBarIcon(self.action)
        self.settings_action = QAction(tr("Settings"), self.iface.mainWindow())
        self.settings_action.setObjectName("landUseMonitorSettings")
        self.settings_action.triggered.connect(self.show_settings)
        self.iface.addPluginToMenu(self.menu, self.settings_action)

    def local_engine(self):
        if self.engine is None:
            from .client.local_engine import LocalEngine

            self.engine = LocalEngine()
        return self.engine

    def show_settings(self):
        from .widgets.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.local_engine(), self.iface.mainWindow())
        dialog.exec()

    def start_engine(self):
        """Start the local engine with the configured Python, or open the settings to configure it."""
        from .client.local_engine import find_python
        from .common import settings

        error = self.local_engine().start(find_python(), settings.get("engine_url"))
        if error:
            self.iface.messageBar().pushMessage(tr("Land-use monitor"), error, level=Qgis.MessageLevel.Warning,
                                                duration=10)
            self.show_settings()

    def _toggle_dock(self, visible):
        if self.dock is None:
            from .widgets.dock import AskDock

            self.dock = AskDock(self.iface, self.iface.mainWindow(), start_engine=self.start_engine)
            self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
            # room for a layer, its date and its buttons side by side (the user can still narrow it)
            self.iface.mainWindow().resizeDocks([self.dock], [DOCK_WIDTH_PX], Qt.Orientation.Horizontal)
        self.dock.setVisible(visible)

    def unload(self):
        if self.translator is not None:
            QCoreApplication.removeTranslator(self.translator)
            self.translator = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.engine is not None:
            self.engine.stop()
            self.engine = None
        if self.settings_action is not None:
            self.iface.removePluginMenu(self.menu, self.settings_action)
            self.settings_action.deleteLater()
            self.settings_action = None
        if self.action is not None:
            self.iface.removePluginMenu(self.menu, self.action)
            self.iface.removeToolBarIcon(self.action)
            self.action.deleteLater()
            self.action = None
        if self.dock is not None:
            self.dock.shut_down()
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
