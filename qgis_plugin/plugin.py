"""The plugin object QGIS creates: a Plugins-menu entry, a toolbar icon and the dock.

The dock (``widgets/dock.py``) asks the engine service about the visible
extent of a raster layer and shows the streamed answer, the audit and the facts.
"""

import os

from qgis.core import QgsProject
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

PLUGIN_DIR = os.path.dirname(__file__)
MENU = "&Land-Use Monitor"


def tr(text):
    return QCoreApplication.translate("LandUseMonitor", text)


class LandUseMonitorPlugin:
    """Adds the menu entry, toolbar icon and dock; removes all of them on unload."""

    def __init__(self, iface):
        self.iface = iface
        self.action = None
        self.dock = None

    def initGui(self):  # QGIS API name
        icon = QIcon(os.path.join(PLUGIN_DIR, "icons", "icon.png"))
        self.action = QAction(icon, tr("县域土地利用监测 / Land-Use Monitor"), self.iface.mainWindow())
        self.action.setObjectName("landUseMonitorAction")
        self.action.setCheckable(True)
        self.action.toggled.connect(self._toggle_dock)
        self.iface.addPluginToMenu(tr(MENU), self.action)
        self.iface.addToolBarIcon(self.action)

    def _toggle_dock(self, visible):
        if self.dock is None:
            from .widgets.dock import AskDock

            self.dock = AskDock(self.iface, self.iface.mainWindow())
            self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.setVisible(visible)

    def unload(self):
        if self.action is not None:
            self.iface.removePluginMenu(tr(MENU), self.action)
            self.iface.removeToolBarIcon(self.action)
            self.action.deleteLater()
            self.action = None
        if self.dock is not None:
            self.dock.cancel()
            QgsProject.instance().readProject.disconnect(self.dock._load_history)
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
