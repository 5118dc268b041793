"""The plugin's Processing provider."""

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtCore import QCoreApplication

from .algorithms import AskAboutExtent, ChangePolygons
from .sweep_algorithm import SweepAreas


class LandUseProvider(QgsProcessingProvider):
    def __init__(self, icon):
        super().__init__()
        self._icon = icon

    def id(self):
        return "landusemonitor"

    def name(self):
        return QCoreApplication.translate("LandUseMonitor", "县域土地利用监测 / Land-Use Monitor")

    def icon(self):
        return self._icon

    def loadAlgorithms(self):
        self.addAlgorithm(AskAboutExtent())
        self.addAlgorithm(ChangePolygons())
        self.addAlgorithm(SweepAreas())
