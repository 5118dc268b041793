"""The dock panel: layers, the conversation, the facts and the buttons (Deepness-style: params -> run -> GUI).

Widgets are read on the main thread into ``AskParams``; an ``AskRun`` sends them
to the engine asynchronously and its events come back as signals on the main
thread, where only the slots here change widgets. Nothing talks to the network
before the dock is built; the engine's health is polled so the status follows
it. The conversation, the facts and the project's history are tabs, and the
buttons sit below them, so everything is reachable in a 460 px dock.
"""

import uuid
from urllib.parse import urlsplit

from qgis.core import Qgis, QgsMapLayerProxyModel
from qgis.gui import QgsMapLayerComboBox
from qgis.PyQt.QtCore import QCoreApplication, QTimer
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..client.api import EngineApi
from ..client.local_engine import is_loopback
from ..common import settings
from ..common.errors import LayerError
from ..common.layers import area_geojson, extent_for, zones_geojson
from ..common.params import AskParams
from ..common.vocab import UNITS
from ..tasks.ask_run import AskRun
from . import dock_outputs
from .engine_status import EngineStatus
from .facts_table import FactsTabs
from .history import HistoryList
from .layers_panel import LayersPanel
from .question_box import QuestionBox
from .thread import ConversationView

EXAMPLES = ["本季度耕地面积变化情况？", "疑似违规建设的分布区域？", "保护区边界是否被占用？",
            "近一年土地利用结构趋势？", "新增建设用地多少亩？"]


def tr(text):
    return QCoreApplication.translate("LandUseMonitor", text)


class AskDock(QDockWidget):
    def __init__(self, iface, parent=None, start_engine=None):
        super().__init__(tr("County Land-Use Monitor"), parent)
        self.setObjectName("LandUseMonitorDock")
        self.iface = iface
        self.start_engine = start_engine  # callable offered when the engine is not running
        self.task = None  # the AskRun in flight
        self.turn = None  # the conversation turn it answers
        self.session_id = uuid.uuid4().hex
        self.offered_start = False
        self.last_endpoint = None  # "ask" or "analyse": where the last question went
        self.facts = self.findings = None  # of the turn shown
        self.report_run = self.report_layer = None  # the report in flight; the register layer it added
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
        self.area_box = QgsMapLayerComboBox()
        self.area_box.setFilters(QgsMapLayerProxyModel.Filter.PolygonLayer)
        self.area_box.setAllowEmptyLayer(True)
        self.area_box.setLayer(None)
        self.area_box.setObjectName("areaLayer")
        self.area_box.setToolTip(tr("Measure inside a boundary: its selected features, or all of them when none "
                                    "is selected (empty: the visible extent)"))
        form.addRow(tr("Area"), self.area_box)
        layout.addLayout(form)
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
        layout.addWidget(self._tabs(iface), 1)
        layout.addLayout(self._question_row())
        layout.addLayout(self._buttons())
        self.setWidget(body)
        self.engine = EngineStatus(self.api, self)
        self.engine.came_up.connect(self._engine_up)
        self.engine.went_away.connect(self._engine_down)
        QTimer.singleShot(0, self._built)  # the network only once the dock is whole

    def _tabs(self, iface):
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.thread = ConversationView()
        self.thread.chosen.connect(self.show_turn)
        self.tabs.addTab(self.thread, tr("Conversation"))
        facts_page = QWidget()
        facts_layout = QVBoxLayout(facts_page)
        facts_layout.setContentsMargins(0, 4, 0, 0)
        unit_row = QHBoxLayout()
        unit_row.addWidget(QLabel(tr("Unit")))
        self.unit_box = QComboBox()
        for key, label in UNITS:
            self.unit_box.addItem(label, key)
        self.unit_box.setCurrentIndex([k for k, _ in UNITS].index(settings.get("unit")))
        self.unit_box.currentIndexChanged.connect(self._show_facts)
        unit_row.addWidget(self.unit_box)
        unit_row.addStretch(1)
        facts_layout.addLayout(unit_row)
        self.facts_view = FactsTabs(iface.mapCanvas())
        facts_layout.addWidget(self.facts_view, 1)
        self.tabs.addTab(facts_page, tr("Facts"))
        self.history = HistoryList()
        self.history.chosen.connect(self._show_history_item)
        self.tabs.addTab(self.history, tr("History"))
        return self.tabs

    def _question_row(self):
        column = QVBoxLayout()
        self.examples = QComboBox()
        self.examples.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.examples.setMinimumContentsLength(16)  # long examples are elided, not widening the dock
        self.examples.addItem(tr("Example questions"))
        for text in EXAMPLES:
            self.examples.addItem(text, text)
        self.examples.activated.connect(self._use_example)
        column.addWidget(self.examples)
        self.question = QuestionBox()
        self.question.setObjectName("question")
        self.question.setPlaceholderText(tr("Ask in Chinese or English (Enter sends, Shift+Enter: new line)"))
        self.question.setMaximumHeight(56)
        self.question.submitted.connect(self.ask)
        column.addWidget(self.question)
        return column

    def _buttons(self):
        rows = QVBoxLayout()
        first, second = QHBoxLayout(), QHBoxLayout()
        self.ask_button = self._button(first, tr("Ask about visible layer"), "askButton", self.ask)
        self.measure_button = self._button(first, tr("Measure only"), "measureButton", self.measure)
        self.measure_button.setToolTip(tr("Measure the visible extent without the language model"))
        self.cancel_button = self._button(first, tr("Cancel"), "cancelButton", self.cancel)
        self.cancel_button.setEnabled(False)
        self.new_button = self._button(first, tr("New session"), "newSessionButton", self.new_session)
        self.export_button = self._button(second, tr("Export findings"), "exportButton",
                                          lambda: self.export_findings())
        self.export_button.setEnabled(False)
        self.copy_button = self._button(second, tr("Copy answer"), "copyButton", self.thread.copy_selected)
        self.classmap_button = self._button(second, tr("Land-cover maps"), "classMapButton",
                                            lambda: dock_outputs.add_class_maps(self))
        self.classmap_button.setToolTip(tr("Add each date's land-cover map as a styled raster layer"))
        self.report_button = self._button(second, tr("Make report"), "reportButton",
                                          lambda: dock_outputs.make_report(self))
        self.report_button.setToolTip(tr("Word report, Excel patch register and patches (CGCS2000) of the shown "
                                         "answer, saved in a folder"))
        self.report_button.setEnabled(False)
        rows.addLayout(first)
        rows.addLayout(second)
        return rows

    @staticmethod
    def _button(row, text, name, slot):
        button = QPushButton(text)
        button.setObjectName(name)
        button.clicked.connect(slot)
        row.addWidget(button)
        return button

    # -- the engine ------------------------------------------------------------------------------
    def api(self):
        return EngineApi(settings.get("engine_url"), settings.get("token"))

    def _built(self):
        self.layers.choose_defaults()
        self.layers.activate()
        self.engine.start()

    def _engine_up(self, health):
        if self.task is None:
            self.status.setText(self.engine.describe())
        self.layers.refresh()  # layers the engine could not describe before

    def _engine_down(self, error):
        unreachable = error is None or type(error).__name__ == "EngineUnreachableError"
        if self.task is None:
            self.status.setText(tr("Not connected: the engine is not running at {}").format(settings.get("engine_url"))
                                if unreachable else str(error))
        local = is_loopback(urlsplit(settings.get("engine_url")).hostname or "127.0.0.1")
        if unreachable and local and not self.offered_start and self.start_engine is not None:
            self.offered_start = True  # once per dock: the status line keeps saying it
            dock_outputs.offer_start(self, tr("The engine is not running"), getattr(error, "details", ""))

    # -- reading the widgets into parameters (main thread) -----------------------------------------
    def _use_example(self, index):
        if index > 0:
            self.question.setPlainText(self.examples.itemData(index))

    @property
    def baseline_box(self):
        """The first baseline's layer box."""
        return self.layers.baselines[0].layer_box if self.layers.baselines else None

    def params(self, question_needed=True):
        layers = self.layers.layer_params()
        area_layer = self.area_box.currentLayer()
        aoi, aoi_name = area_geojson(area_layer) if area_layer is not None else (None, "")
        extent = None
        if aoi is None:  # without a boundary, the visible extent is measured
            canvas = self.iface.mapCanvas()
            extent = extent_for(self.layer_box.currentLayer(), canvas.extent(), canvas.mapSettings().destinationCrs())
        zones_layer = self.zones_box.currentLayer()
        zones = zones_geojson(zones_layer) if zones_layer is not None else None
        question = self.question.toPlainText().strip()
        if question_needed and not question:
            raise LayerError(tr("Type a question"))
        return AskParams(question=question, layers=layers, session_id=self.session_id,
                         extent=extent, language=settings.get("language"),
                         unit=self.unit_box.currentData(), zones=zones, aoi=aoi, aoi_name=aoi_name)

    # -- asking ------------------------------------------------------------------------------------
    def ask(self):
        # an engine without a model can only answer from the measurements: ask it to measure (/v1/analyse)
        self._run("analyse" if self.engine.health.get("backend") == "none" else "ask")

    def measure(self):
        """Measurement without the model (``/v1/analyse``); a question in the box is answered from the facts."""
        self._run("analyse")

    def _run(self, endpoint):
        if self.task is not None:
            return
        try:
            params = self.params(question_needed=endpoint == "ask")
        except LayerError as exc:
            self._warn(str(exc))
            return
        self.turn = self.thread.start(params.question or tr("(measure only)"), params)
        self.thread.setCurrentItem(self.thread.item_of(self.turn))
        self.tabs.setCurrentWidget(self.thread)
        self.question.clear()
        self.status.setText(tr("Reading and measuring…"))
        self.progress.setValue(0)
        self.progress.show()
        self.task = AskRun(self.api(), params, endpoint)
        self.last_endpoint = endpoint
        self.task.streamed.connect(self._on_event)
        self.task.progressed.connect(self._on_progress)
        self.task.done.connect(self._on_done)
        for button in (self.ask_button, self.measure_button):
            button.setEnabled(False)
        self.cancel_button.setEnabled(True)

    def cancel(self):
        if self.task is not None:
            self.task.cancel()

    def shut_down(self):
        """Before the dock goes (plugin unload): stop its requests, its timer and its link to the project."""
        self.engine.stop()
        self.cancel()
        if self.report_run is not None:
            self.report_run.cancel()
        self.layers.abort()
        self.history.detach()

    def new_session(self):
        self.session_id = uuid.uuid4().hex
        self.thread.clear()
        self.show_turn(None)
        self.status.setText(tr("New session"))

    def _on_progress(self, percent, stage):  # main thread
        self.progress.setValue(percent)
        if stage.startswith("date "):
            self.status.setText(tr("Reading and classifying {}…").format(stage[5:]))

    def _on_event(self, kind, data):  # main thread
        turn = self.turn
        if kind == "token":
            turn.answer += data.get("text", "")
        else:
            turn.events[kind] = data
        if kind == "facts":
            self.status.setText(tr("Measured; answering…"))
        if kind in ("facts", "findings"):
            self.show_turn(turn)
        if kind == "error":
            self._warn(data.get("message", ""), Qgis.MessageLevel.Warning)
        self.thread.refresh(turn)

    def _on_done(self, result):  # main thread
        turn, self.turn, self.task = self.turn, None, None
        for button in (self.ask_button, self.measure_button):
            button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.hide()
        turn.answer, turn.events = result.answer or turn.answer, {**turn.events, **result.events}
        if result.cancelled:
            turn.state = "cancelled"
            self.status.setText(tr("Cancelled"))
        elif not result.ok:
            turn.state, turn.error = "failed", result.error
            self.status.setText(result.error)
            text = f"{result.error}  {tr(result.hint) if result.hint else ''}".strip()
            if result.kind == "EngineUnreachableError":
                self.engine.mark_unreachable(None)
                if self.start_engine is not None and is_loopback(urlsplit(settings.get("engine_url")).hostname or ""):
                    dock_outputs.offer_start(self, text, result.details)
            else:
                self._warn(text, details=result.details)
        else:
            turn.state = "done"
            self.status.setText(tr("Done") if turn.answer.strip() else tr("Done: the model gave no answer"))
            self.history.remember(turn.question, turn.answer)
        self.thread.refresh(turn)
        self.show_turn(turn)

    # -- showing an answer -------------------------------------------------------------------------
    def show_turn(self, turn):
        """Show a turn's facts and findings (the latest answer's, or an earlier one selected in the thread)."""
        events = turn.events if turn is not None else {}
        self.facts, self.findings = events.get("facts"), events.get("findings")
        self.export_button.setEnabled(bool((self.findings or {}).get("features")))
        self.report_button.setEnabled(self.report_run is None and bool(self.facts)
                                      and getattr(turn, "params", None) is not None)
        self._show_facts()

    def _show_facts(self):
        self.facts_view.show_facts(self.facts, self.findings, self.unit_box.currentData())

    def _show_history_item(self, entry):
        self.question.setPlainText(entry["question"])

    def export_findings(self, path=None):
        return dock_outputs.export_findings(self, path)

    def _warn(self, text, level=Qgis.MessageLevel.Warning, details=""):
        """A message bar line; the whole text (and the technical details) behind its "more" button."""
        self.iface.messageBar().pushMessage(tr("Land-use monitor"), text, "\n\n".join(p for p in (text, details) if p),
                                            level, 8)
