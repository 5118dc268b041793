"""Settings: engine URL and token, starting a local engine, default language and unit, live engine health."""

import json

from qgis.core import QgsNetworkContentFetcher
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import QCoreApplication, QTimer, QUrl
from qgis.PyQt.QtNetwork import QNetworkRequest
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from ..common import settings
from ..common.vocab import UNITS


def tr(text):
    return QCoreApplication.translate("LandUseMonitor", text)


class SettingsDialog(QDialog):
    def __init__(self, engine, parent=None):
        super().__init__(parent)
        self.setWindowTitle(tr("Land-Use Monitor settings"))
        self.engine = engine  # LocalEngine
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.url = QLineEdit(settings.get("engine_url"))
        form.addRow(tr("Engine URL"), self.url)
        self.token = QLineEdit(settings.get("token"))
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(tr("Token"), self.token)
        self.python = QgsFileWidget()
        self.python.setFilePath(settings.get("python"))
        form.addRow(tr("Engine Python"), self.python)
        self.language = QComboBox()
        for key, label in (("auto", tr("As the question is written")), ("zh", "中文"), ("en", "English")):
            self.language.addItem(label, key)
        self.language.setCurrentIndex(max(self.language.findData(settings.get("language")), 0))
        form.addRow(tr("Answer language"), self.language)
        self.unit = QComboBox()
        for key, label in UNITS:
            self.unit.addItem(label, key)
        self.unit.setCurrentIndex([k for k, _ in UNITS].index(settings.get("unit")))
        form.addRow(tr("Area unit"), self.unit)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.start_button = QPushButton(tr("Start a local engine"))
        self.start_button.clicked.connect(self.start_engine)
        self.stop_button = QPushButton(tr("Stop"))
        self.stop_button.clicked.connect(self.engine.stop)
        row.addWidget(self.start_button)
        row.addWidget(self.stop_button)
        layout.addLayout(row)
        self.health = QLabel(tr("Engine: unknown"))
        self.health.setWordWrap(True)
        layout.addWidget(self.health)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumHeight(120)
        self.log.setPlainText("".join(engine.output))
        engine.log.connect(self.log.appendPlainText)
        layout.addWidget(self.log)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._fetcher = None
        self.timer = QTimer(self)
        self.timer.setInterval(2000)
        self.timer.timeout.connect(self.check_health)
        self.timer.start()
        self.check_health()

    def save(self):
        settings.put("engine_url", self.url.text().strip())
        settings.put("token", self.token.text())
        settings.put("python", self.python.filePath())
        settings.put("language", self.language.currentData())
        settings.put("unit", self.unit.currentData())

    def accept(self):
        self.save()
        super().accept()

    def start_engine(self):
        self.save()
        error = self.engine.start(self.python.filePath(), self.url.text().strip())
        self.health.setText(error or tr("Engine starting…"))

    def check_health(self):
        """Ask /v1/health without blocking QGIS; the label shows backend, model, device, precision."""
        if self._fetcher is not None:
            return  # the previous check is still on its way
        request = QNetworkRequest(QUrl(self.url.text().strip().rstrip("/") + "/v1/health"))
        if self.token.text():
            request.setRawHeader(b"Authorization", f"Bearer {self.token.text()}".encode())
        self._fetcher = QgsNetworkContentFetcher()  # owns its reply: no dangling reply in a slot
        self._fetcher.finished.connect(self._show_health)
        self._fetcher.fetchContent(request)

    def _show_health(self):
        fetcher, self._fetcher = self._fetcher, None
        reply = fetcher.reply()
        status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute) if reply is not None else None
        if status == 200:
            h = json.loads(fetcher.contentAsString())
            self.health.setText(tr("Engine running: backend {}, model {}, device {}, precision {}; {} asks queued")
                                .format(h.get("backend"), h.get("model") or tr("Measurements only"),
                                        h.get("device") or "-", h.get("precision") or "-", h.get("queue_length")))
        elif status == 401:
            self.health.setText(tr("Wrong token"))
        else:
            self.health.setText(tr("Engine not running"))

    def done(self, result):
        self.timer.stop()
        super().done(result)
