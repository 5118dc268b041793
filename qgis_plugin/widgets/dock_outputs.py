"""What the dock hands on: findings as a styled layer, each date's land-cover map, the report's files, the offer to
start the engine."""

import os

from qgis.core import Qgis, QgsPalettedRasterRenderer, QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtCore import QCoreApplication, QUrl
from qgis.PyQt.QtGui import QColor, QDesktopServices
from qgis.PyQt.QtWidgets import QFileDialog, QMessageBox, QPushButton

from .. import findings
from ..common.errors import LayerError
from ..common.vocab import CLASSES, class_names
from ..tasks.ask_run import AskRun
from ..tasks.report_run import ReportRun


def tr(text):
    return QCoreApplication.translate("LandUseMonitor", text)


def export_findings(dock, path=None):
    """Write the shown answer's findings as GeoJSON (asking before overwriting) and add them as a layer."""
    turn = dock.thread.selected_turn() or (dock.thread.turns()[-1] if dock.thread.count() else None)
    if turn is None or not (turn.events.get("findings") or {}).get("features"):
        return None
    if path is None:
        path, _ = QFileDialog.getSaveFileName(dock, tr("Export findings"), "findings.geojson",
                                              "GeoJSON (*.geojson *.json)")
        if not path:
            return None
    if os.path.exists(path):
        answer = QMessageBox.question(dock, tr("File exists"), tr("Overwrite {}?").format(os.path.basename(path)))
        if answer != QMessageBox.StandardButton.Yes:
            return None
    backend = (turn.events.get("done") or {}).get("backend") or {}
    collection = findings.collection_for_export(turn.events["findings"], turn.question, turn.answer,
                                                str(backend.get("model") or backend.get("backend") or ""),
                                                [lp.path for lp in turn.params.layers] if turn.params else [])
    findings.write_atomic(collection, path)
    layer = findings.add_styled_layer(path, tr("Land-use findings"), dock.unit_box.currentData())
    dock.iface.messageBar().pushMessage(tr("Land-use monitor"), tr("{} findings exported: {}")
                                        .format(len(collection["features"]), path),
                                        level=Qgis.MessageLevel.Success, duration=5)
    return layer


def add_class_maps(dock):
    """Measure the visible extent and add each date's land-cover map as a paletted raster layer (async)."""
    try:
        params = dock.params(question_needed=False)
    except LayerError as exc:
        dock._warn(str(exc))
        return None
    params.question = ""
    run = AskRun(dock.api(), params, "analyse", extra={"class_maps": True})
    dock.classmap_run = run  # kept alive until it ends
    dock.classmap_button.setEnabled(False)
    dock.status.setText(tr("Making the land-cover maps…"))

    def done(result):
        dock.classmap_button.setEnabled(True)
        dock.classmap_run = None
        if not result.ok:
            dock._warn(result.error, details=result.details)
            return
        layers = [class_map_layer(entry["path"], tr("Land cover {}").format(entry["date"]))
                  for entry in (result.events.get("done") or {}).get("class_maps", [])]
        dock.status.setText(tr("{} land-cover maps added").format(len(layers)))

    run.done.connect(done)
    return run


def make_report(dock, folder=None):
    """Have the engine write the report of the shown answer (its layers, extent, zones and area), save its files
    into a folder, add the patch register as a styled layer and open the folder."""
    turn = dock.thread.selected_turn() or (dock.thread.turns()[-1] if dock.thread.count() else None)
    if turn is None or turn.params is None or dock.report_run is not None:
        return None
    if folder is None:
        folder = QFileDialog.getExistingDirectory(dock, tr("Folder for the report"))
        if not folder:
            return None
    if os.path.exists(os.path.join(folder, "report.docx")):
        answer = QMessageBox.question(dock, tr("File exists"), tr("Overwrite {}?").format("report.docx"))
        if answer != QMessageBox.StandardButton.Yes:
            return None
    run = ReportRun(dock.api(), turn.params, folder, model=dock.last_endpoint == "ask")
    dock.report_run = run  # kept alive until it ends
    dock.report_button.setEnabled(False)
    dock.status.setText(tr("Making the report…"))
    dock.progress.setValue(0)
    dock.progress.show()
    run.progressed.connect(lambda percent, stage: dock.progress.setValue(percent))

    def done(result):
        dock.report_run = None
        dock.report_button.setEnabled(True)
        dock.progress.hide()
        if not result.ok:
            dock.status.setText(result.error)
            dock._warn(result.error, details=result.details)
            return
        layer = patches_layer(os.path.join(folder, "patches.gpkg"), tr("Change patch register"))
        patches = result.done.get("patches", 0)
        dock.status.setText(tr("Report saved: {} change patches").format(patches))
        dock.iface.messageBar().pushMessage(tr("Land-use monitor"), tr("Report saved in {}").format(folder),
                                            level=Qgis.MessageLevel.Success, duration=8)
        dock.report_layer = layer
        QDesktopServices.openUrl(QUrl.fromLocalFile(folder))

    run.done.connect(done)
    return run


def patches_layer(path, name):
    """The report's patches (GeoPackage, CGCS2000) as a layer with the style written beside them."""
    layer = QgsVectorLayer(f"{path}|layername=patches", name, "ogr")
    if not layer.isValid():
        return None
    style = os.path.splitext(path)[0] + ".qml"
    if os.path.exists(style):
        layer.loadNamedStyle(style)
    QgsProject.instance().addMapLayer(layer)
    return layer


def class_map_layer(path, name):
    """A land-cover GeoTIFF as a layer with one colour and one name per class (only the classes present)."""
    layer = QgsRasterLayer(path, name)
    if not layer.isValid():
        raise ValueError(f"cannot open {path} as a raster")
    names = class_names()
    present = set(_values(layer))
    classes = [QgsPalettedRasterRenderer.Class(code, QColor(findings.CLASS_COLOURS[key]), names[key])
               for code, (key, _) in enumerate(CLASSES, start=1) if code in present]
    layer.setRenderer(QgsPalettedRasterRenderer(layer.dataProvider(), 1, classes))
    QgsProject.instance().addMapLayer(layer, False)
    QgsProject.instance().layerTreeRoot().insertLayer(0, layer)
    return layer


def _values(layer):
    """The class codes in a land-cover raster (its histogram over 0-255)."""
    provider = layer.dataProvider()
    histogram = provider.histogram(1, 256, -0.5, 255.5)
    return [i for i, count in enumerate(histogram.histogramVector) if count]


def offer_start(dock, text, details=""):
    """A message bar line with a button that starts the local engine."""
    bar = dock.iface.messageBar()
    item = bar.createMessage(tr("Land-use monitor"), text)
    if details:
        item.setToolTip(details)
    button = QPushButton(tr("Start the engine"), item)
    button.setObjectName("startEngineButton")
    button.clicked.connect(dock.start_engine)
    item.layout().addWidget(button)
    bar.pushWidget(item, Qgis.MessageLevel.Warning, 15)
