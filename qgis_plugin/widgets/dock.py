"""The dock panel: layers, question, the streamed answer, audit and facts (Deepness-style: params -> run -> GUI).

Widgets are read on the main thread into ``AskParams``; an ``AskRun`` sends them
to the engine asynchronously and its events come back as signals on the main
thread, where only the slots here change widgets. Nothing talks to the network
before the dock is built, and the engine's health is polled (asynchronously)
so the status line follows the engine coming up or going away.
"""

import os
import uuid

from qgis.core import Qgis, QgsMapLayerProxyModel
from qgis.gui import QgsMapLayerComboBox
from qgis.PyQt.QtCore import QByteArray, QCoreApplication, QTimer
from qgis.PyQt.QtGui import QPixmap
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from .. import findings
from ..client.api import EngineApi
from ..common import settings
from ..common.errors import LayerError
from ..common.layers import extent_for, zones_geojson
from ..common.params import AskParams
from ..common.vocab import UNITS
from ..tasks.ask_run import AskRun
from .facts_table import FactsTable
from .history import HistoryList
from .layers_panel import LayersPanel

HEALTH_POLL_MS = 3000  # how often the engine's health is asked (asynchronously)
EXAMPLES = [
    ("本季度耕地面积变化情况？", "How did the cropland area change this quarter?"),
    ("疑似违规建设的分布区域？", "Where is suspected illegal construction?"),
    ("保护区边界是否被占用？", "Is the protected area's boundary encroached?"),
    ("近一年土地利用结构趋势？", "What is the land-use structure trend over the last year?"),
]


def tr(text):
    return QCoreApplication.translate("LandUseMonitor", text)


class AskDock(QDockWidget):
    def __init__(self, iface, parent=None, start_engine=None):
        super().__init__(tr("县域土地利用监测 / Land-Use Monitor"), parent)
        self.setObjectName("LandUseMonitorDock")
        self.iface = iface
        self.start_engine = start_engine  # callable offered when the engine is not running
        self.task = None  # the AskRun in flight
        self.connected = None  # the engine answered the last health check (None: not checked yet)
        self.session_id = uuid.uuid4().hex
        self.facts = None
        self.findings = None
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)

        self.layers = LayersPanel(self.api)
        self.layer_box = self.layers.current.layer_box
        layout.addWidget(self.layers)
        form = QFormLayout()
        self.zones_box = QgsMapLayerComboBox()
        self.zones_box.setFilters(QgsMapLayerProxyModel.Filter.PolygonLayer)
        self.zones_box.setAllowEmptyLayer(True)
        self.zones_box.setLayer(None)
        self.zones_box.setObjectName("zonesLayer")
        form.addRow(tr("Zones"), self.zones_box)
        layout.addLayout(form)

        self.examples = QComboBox()
        self.examples.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.examples.setMinimumContentsLength(16)  # long examples are elided, not widening the dock
        self.examples.addItem(tr("Example questions"))
        for zh, en in EXAMPLES:
            self.examples.addItem(f"{zh}  ({en})", zh)
        self.examples.activated.connect(self._use_example)
        layout.addWidget(self.examples)
        self.question = QPlainTextEdit()
        self.question.setObjectName("question")
        self.question.setPlaceholderText(tr("Ask in Chinese or English, e.g. 新增耕地面积是多少？"))
        self.question.setMaximumHeight(60)
        layout.addWidget(self.question)

        buttons = QHBoxLayout()
        self.ask_button = QPushButton(tr("Ask about visible layer"))
        self.ask_button.setObjectName("askButton")
        self.ask_button.clicked.connect(self.ask)
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.new_button = QPushButton(tr("New session"))
        self.new_button.clicked.connect(self.new_session)
        for b in (self.ask_button, self.cancel_button, self.new_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)

        self.status = QLabel("")
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.answer = QTextBrowser()
        self.answer.setObjectName("answer")
        self.answer.setMinimumHeight(90)
        layout.addWidget(self.answer, 1)
        self.audit = QLabel("")
        self.audit.setObjectName("audit")
        self.audit.setWordWrap(True)
        layout.addWidget(self.audit)

        unit_row = QHBoxLayout()
        unit_row.addWidget(QLabel(tr("Unit")))
        self.unit_box = QComboBox()
        for key, label in UNITS:
            self.unit_box.addItem(label, key)
        self.unit_box.setCurrentIndex([k for k, _ in UNITS].index(settings.get("unit")))
        self.unit_box.currentIndexChanged.connect(self._show_facts)
        unit_row.addWidget(self.unit_box)
        unit_row.addStretch(1)
        layout.addLayout(unit_row)
        self.table = FactsTable(iface.mapCanvas())
        self.table.setMinimumHeight(220)
        layout.addWidget(self.table, 2)
        export_row = QHBoxLayout()
        self.export_button = QPushButton(tr("Export findings as GeoJSON"))
        self.export_button.setObjectName("exportButton")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(lambda: self.export_findings())
        self.temporary_box = QCheckBox(tr("Temporary layer"))
        export_row.addWidget(self.export_button)
        export_row.addWidget(self.temporary_box)
        layout.addLayout(export_row)
        self.last = None  # (AskParams, AskResult) of the last finished ask
        self.thumbnails = QHBoxLayout()
        layout.addLayout(self.thumbnails)
        layout.addWidget(QLabel(tr("This project's questions")))
        self.history = HistoryList()
        self.history.setMaximumHeight(90)
        self.history.chosen.connect(self._show_history_item)
        layout.addWidget(self.history)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        self.setWidget(scroll)
        self.health_timer = QTimer(self)
        self.health_timer.setInterval(HEALTH_POLL_MS)
        self.health_timer.timeout.connect(self.check_engine)
        self.health_call = None
        QTimer.singleShot(0, self._built)  # the network only once the dock is whole

    def _built(self):
        self.layers.activate()
        self.check_engine()
        self.health_timer.start()

    def check_engine(self):
        """Ask the engine's health (asynchronously); the status line and the layers follow the answer."""
        if self.health_call is not None:
            return
        self.health_call = self.api().health()
        self.health_call.done.connect(self._on_health)

    def _on_health(self, data, error):  # main thread
        self.health_call = None
        was = self.connected
        self.connected = error is None
        if self.task is not None:
            return  # an ask is showing its own progress
        if self.connected and was is not True:
            backend = (data or {}).get("backend") or ""
            model = (data or {}).get("model") or ""
            self.status.setText(tr("Engine connected ({})").format(" ".join(p for p in (backend, model) if p)))
            self.layers.refresh()  # layers the engine could not describe before
        elif not self.connected and was is not False:
            self.status.setText(tr("Not connected: the engine is not running at {}").format(settings.get("engine_url"))
                                if type(error).__name__ == "EngineUnreachableError" else str(error))

    # -- reading the widgets into parameters (main thread) -------------------------------------
    def _use_example(self, index):
        if index > 0:
            self.question.setPlainText(self.examples.itemData(index))

    def api(self):
        return EngineApi(settings.get("engine_url"), settings.get("token"))

    @property
    def baseline_box(self):
        """The first baseline's layer box."""
        return self.layers.baselines[0].layer_box if self.layers.baselines else None

    def params(self):
        layers = self.layers.layer_params()
        layer = self.layer_box.currentLayer()
        canvas = self.iface.mapCanvas()
        extent = extent_for(layer, canvas.extent(), canvas.mapSettings().destinationCrs())
        zones_layer = self.zones_box.currentLayer()
        zones = zones_geojson(zones_layer) if zones_layer is not None else None
        question = self.question.toPlainText().strip()
        if not question:
            raise LayerError(tr("Type a question"))
        return AskParams(question=question, layers=layers, session_id=self.session_id, extent=extent,
                         language=settings.get("language"), unit=self.unit_box.currentData(), zones=zones)

    # -- the task ----------------------------------------------------------------------------
    def ask(self):
        try:
            params = self.params()
        except LayerError as exc:
            self._warn(str(exc))
            return
        self.answer.clear()
        self.audit.setText("")
        self.table.setRowCount(0)
        self.facts = self.findings = None
        self.status.setText(tr("Reading and measuring…"))
        self._asked = params
        self.progress.setValue(0)
        self.progress.show()
        self.task = AskRun(self.api(), params)
        self.task.streamed.connect(self._on_event)
        self.task.progressed.connect(self._on_progress)
        self.task.done.connect(self._on_done)
        self.ask_button.setEnabled(False)
        self.cancel_button.setEnabled(True)

    def cancel(self):
        if self.task is not None:
            self.task.cancel()

    def shut_down(self):
        """Before the dock goes (plugin unload): stop its requests, its timer and its link to the project."""
        self.health_timer.stop()
        if self.health_call is not None:
            self.health_call.abort()
            self.health_call = None
        self.cancel()
        self.layers.abort()
        self.history.detach()

    def _on_progress(self, percent, stage):  # main thread
        self.progress.setValue(percent)
        if stage.startswith("date "):
            self.status.setText(tr("Reading and classifying {}…").format(stage[5:]))

    def new_session(self):
        self.session_id = uuid.uuid4().hex
        self.answer.clear()
        self.status.setText(tr("New session"))

    def _on_event(self, kind, data):  # main thread
        if kind == "token":
            self.answer.insertPlainText(data.get("text", ""))
        elif kind == "facts":
            self.facts = data
            self.status.setText(tr("Measured; answering…"))
            self._show_facts()
        elif kind == "findings":
            self.findings = data
            self._show_facts()
        elif kind == "audit":  # the engine's verdict: "all measured" only when figures were checked and all held
            bad = data.get("unsupported") or []
            verdict = data.get("verdict") or ("unsupported" if bad else "no_figures")
            if verdict == "all_measured":
                self.audit.setText(tr("✔ every number is measured"))
            elif verdict == "unsupported":
                self.audit.setText(tr("⚠ not supported by the measurements: ") + "，".join(bad))
            else:
                self.audit.setText(tr("The answer states no figure to check"))
        elif kind == "error":
            self._warn(data.get("message", ""), Qgis.MessageLevel.Warning)

    def _on_done(self, result):  # main thread
        self.ask_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.hide()
        self.task = None
        if result.cancelled:
            self.status.setText(tr("Cancelled"))
        elif not result.ok:
            self.status.setText(result.error)
            text = f"{result.error}  {tr(result.hint) if result.hint else ''}".strip()
            if result.kind == "EngineUnreachableError":
                self.connected = False
            if result.kind == "EngineUnreachableError" and self.start_engine is not None:
                self._offer_start(text, result.details)
            else:
                self._warn(text, details=result.details)
        else:
            self.status.setText(tr("Done"))
            self.last = (self._asked, result)
            self.history.remember(self._asked.question, result.answer)
            self._show_thumbnails(result.events.get("done", {}).get("images", []))
            self.export_button.setEnabled(bool(result.events.get("findings", {}).get("features")))

    def export_findings(self, path=None):
        """Write the last answer's findings as GeoJSON (asking before overwriting) and add them as a layer."""
        if self.last is None:
            return None
        params, result = self.last
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, tr("Export findings"), "findings.geojson",
                                                  "GeoJSON (*.geojson *.json)")
            if not path:
                return None
        if os.path.exists(path):
            answer = QMessageBox.question(self, tr("File exists"),
                                          tr("Overwrite {}?").format(os.path.basename(path)))
            if answer != QMessageBox.StandardButton.Yes:
                return None
        done = result.events.get("done", {})
        model = (done.get("backend") or {}).get("model") or (done.get("backend") or {}).get("backend") or ""
        collection = findings.collection_for_export(result.events["findings"], params.question, result.answer,
                                                    str(model), [lp.path for lp in params.layers])
        findings.write_atomic(collection, path)
        layer = findings.add_styled_layer(path, tr("Land-use findings"), self.unit_box.currentData(),
                                          temporary=self.temporary_box.isChecked())
        self.iface.messageBar().pushMessage(tr("Land-use monitor"), tr("{} findings exported: {}")
                                            .format(len(collection["features"]), path),
                                            level=Qgis.MessageLevel.Success, duration=5)
        return layer

    def _show_history_item(self, entry):
        self.question.setPlainText(entry["question"])
        self.answer.setPlainText(entry["answer"])

    def _show_thumbnails(self, images):
        while self.thumbnails.count():
            widget = self.thumbnails.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        for image in images:
            data = image.get("thumbnail", "").split(",", 1)[-1]
            pixmap = QPixmap()
            if pixmap.loadFromData(QByteArray.fromBase64(data.encode())):
                label = QLabel()
                label.setPixmap(pixmap.scaledToHeight(72))
                label.setToolTip(image.get("caption", ""))
                self.thumbnails.addWidget(label)
        self.thumbnails.addStretch(1)

    def _offer_start(self, text, details=""):
        bar = self.iface.messageBar()
        item = bar.createMessage(tr("Land-use monitor"), text)
        if details:
            item.setToolTip(details)
        button = QPushButton(tr("Start the engine"), item)
        button.setObjectName("startEngineButton")
        button.clicked.connect(self.start_engine)
        item.layout().addWidget(button)
        bar.pushWidget(item, Qgis.MessageLevel.Warning, 15)

    def _warn(self, text, level=Qgis.MessageLevel.Warning, details=""):
        """A message bar line; the whole text (and the technical details) behind its "more" button."""
        self.iface.messageBar().pushMessage(tr("Land-use monitor"), text, "\n\n".join(p for p in (text, details) if p),
                                            level, 8)

    def _show_facts(self):
        self.table.show_facts(self.facts, self.findings, self.unit_box.currentData())

    def zoom_to_row(self, row):
        """Zoom the map to a finding or violation listed in the facts table."""
        return self.table.zoom_to_row(row)
