"""The engine's state for the dock: its health polled asynchronously, a status line and a progress bar.

The status follows the engine coming up or going away within one poll, so a
user who starts the engine sees "已连接" without touching anything, and the
layers the engine could not describe are asked about again.
"""

from qgis.PyQt.QtCore import QCoreApplication, QObject, QTimer, pyqtSignal

HEALTH_POLL_MS = 3000  # how often the engine's health is asked (asynchronously)


def tr(text):
    return QCoreApplication.translate("LandUseMonitor", text)


class EngineStatus(QObject):
    came_up = pyqtSignal(dict)  # the engine answered after not answering (or for the first time): its health
    went_away = pyqtSignal(object)  # the PluginError of the failed check

    def __init__(self, api_factory, parent=None):
        super().__init__(parent)
        self.api_factory = api_factory
        self.connected = None  # None: not checked yet
        self.health = {}
        self.call = None
        self.timer = QTimer(self)
        self.timer.setInterval(HEALTH_POLL_MS)
        self.timer.timeout.connect(self.check)

    def start(self):
        self.check()
        self.timer.start()

    def stop(self):
        self.timer.stop()
        if self.call is not None:
            self.call.abort()
            self.call = None

    def check(self):
        if self.call is None:
            self.call = self.api_factory().health()
            self.call.done.connect(self._on_health)

    def mark_unreachable(self, error):
        """An ask found the engine gone: say so now, not at the next poll."""
        if self.connected is not False:
            self.connected = False
            self.went_away.emit(error)

    def _on_health(self, data, error):
        self.call = None
        if error is None:
            self.health = data or {}
            if self.connected is not True:
                self.connected = True
                self.came_up.emit(self.health)
        elif self.connected is not False:
            self.connected = False
            self.went_away.emit(error)

    def describe(self):
        """The status line: connected with which backend, or why not."""
        if self.connected:
            parts = [self.health.get("backend") or "", self.health.get("model") or ""]
            return tr("Engine connected ({})").format(" ".join(p for p in parts if p))
        return tr("Not connected: the engine is not running")
