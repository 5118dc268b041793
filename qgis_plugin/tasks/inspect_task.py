"""Describe layers as a ``QgsTask``: the engine's ``/v1/inspect`` reads their metadata (date, sensor, bands).

It runs whenever a layer is chosen in the dock, so a failure is quiet: the
dock shows it beside the layer instead of interrupting the user.
"""

from qgis.core import QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from ..common.errors import PluginError


class InspectTask(QgsTask):
    described = pyqtSignal(object, str)  # (list of layer descriptions or None, error text), on the main thread

    def __init__(self, client, layers, description="影像信息 / layer metadata"):
        super().__init__(description, QgsTask.Flag.CanCancel)
        self.client = client
        self.layers = layers  # LayerParams
        self.descriptions = None
        self.error = ""

    def run(self):
        try:
            self.descriptions = self.client.inspect([lp.body() for lp in self.layers])
        except PluginError as exc:
            self.error = str(exc)
        return True

    def finished(self, successful):  # main thread
        if not self.isCanceled():
            self.described.emit(self.descriptions, self.error)
