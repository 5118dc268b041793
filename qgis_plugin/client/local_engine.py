"""A local engine process started from QGIS (``python -m engine serve``) and stopped on unload.

The engine's Python is found without hunting: the plugin's setting (which
``scripts/setup.sh --qgis`` records), then ``$LANDUSE_ENGINE_PYTHON``.
"""

import os
import socket
from urllib.parse import urlsplit

from qgis.PyQt.QtCore import QCoreApplication, QObject, QProcess, QProcessEnvironment, pyqtSignal


def tr(text):
    return QCoreApplication.translate("LandUseMonitor", text)


def is_loopback(host):
    """Whether ``host`` names this computer (a local engine can only be started there)."""
    if host in ("localhost", "::1") or host.startswith("127."):
        return True
    return False


def find_python():
    """The engine environment's Python: the setting, then ``$LANDUSE_ENGINE_PYTHON``; '' when neither is a file."""
    from ..common import settings

    for candidate in (settings.get("python"), os.environ.get("LANDUSE_ENGINE_PYTHON", "")):
        if candidate and os.path.isfile(candidate):
            return candidate
    return ""


class LocalEngine(QObject):
    """Runs the engine with the Python of its environment; its output is kept for the settings dialog."""

    log = pyqtSignal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.process = None
        self.output = []

    def running(self):
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, python, url):
        """Start ``python -m engine serve`` on the host and port of ``url``; returns an error text or ''."""
        if self.running():
            return ""
        python = python if python and os.path.isfile(python) else find_python()
        if not python:
            return tr("No engine found: run scripts/setup.sh --qgis, or choose the engine's Python in the settings")
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 8765
        if not is_loopback(host):
            return tr("The engine URL {} is not on this computer: start the engine there").format(url)
        with socket.socket() as s:
            s.settimeout(0.5)  # loopback answers at once; never hold QGIS
            if s.connect_ex((host, port)) == 0:
                return tr("Port {} is already in use").format(port)
        self.process = QProcess(self)
        # <repo>/.venv/bin/python -> run in <repo>, where the engine package is
        repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(python))))
        if os.path.isfile(os.path.join(repo, "engine", "__init__.py")):
            self.process.setWorkingDirectory(repo)
            env = QProcessEnvironment.systemEnvironment()
            env.insert("PYTHONPATH", repo)
            self.process.setProcessEnvironment(env)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.start(python, ["-m", "engine", "serve", "--host", host, "--port", str(port)])
        if not self.process.waitForStarted(10000):
            return tr("Cannot start {}: {}").format(python, self.process.errorString())
        return ""

    def _read(self):
        text = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        self.output.append(text)
        self.log.emit(text)

    def stop(self):
        if self.running():
            self.process.terminate()
            if not self.process.waitForFinished(5000):
                self.process.kill()
                self.process.waitForFinished(2000)
        self.process = None
