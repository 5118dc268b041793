"""One report in flight: the engine measures and writes it (streamed progress), then its zip comes down and is
unpacked into the chosen folder.

The engine may run on another machine, so the files travel in the reply (``GET /v1/report/{id}``) rather than
through a shared disk. ``done`` hands the dock a ``ReportResult``: the folder and its files, or the failure.
"""

import io
import os
import zipfile
from dataclasses import dataclass, field

from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..common.errors import EngineReturnedError, tr
from .ask_run import ended_early, reading_share


@dataclass
class ReportResult:
    ok: bool
    folder: str = ""
    files: list = field(default_factory=list)  # paths written, relative to the folder
    done: dict = field(default_factory=dict)  # the engine's done event: id, patches, summary, audit, notes
    error: str = ""
    details: str = ""
    kind: str = ""  # the PluginError class name


def unpack(data, folder):
    """The zip's files written under ``folder`` (none outside it: an absolute or ``..`` name is refused)."""
    written = []
    root = os.path.realpath(folder)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            target = os.path.realpath(os.path.join(root, name))
            if os.path.isabs(name) or not target.startswith(root + os.sep):
                raise EngineReturnedError(tr("The report's archive is malformed"), details=name)
            if name.endswith("/"):
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with archive.open(name) as source, open(target + ".part", "wb") as out:
                out.write(source.read())
            os.replace(target + ".part", target)
            written.append(name)
    return written


class ReportRun(QObject):
    progressed = pyqtSignal(int, str)  # (percent, stage)
    done = pyqtSignal(object)  # ReportResult

    def __init__(self, api, params, folder, model):
        super().__init__()
        self.api = api
        self.folder = folder
        self.result = ReportResult(ok=False, folder=folder)
        self.events = {}
        self.percent = 0
        self.call = api.report(params.report_body(model))
        self.call.event.connect(self._on_event)
        self.call.ended.connect(self._on_ended)

    def cancel(self):
        if self.call is not None:
            self.call.abort()
            self.call = None

    def _on_event(self, kind, data):
        self.events[kind] = data
        stage = str(data.get("stage", "")) if kind == "progress" else kind
        if stage.startswith("report: "):  # writing the files: 60-95 %
            percent = {"report: register": 60, "report: map": 70, "report: pictures": 80,
                       "report: document": 90, "report: pdf": 95}.get(stage, self.percent)
        elif kind == "progress":  # reading and measuring: up to 60 %
            percent = int(5 + 55 * reading_share(stage, data))
        else:
            percent = 97
        self.percent = max(self.percent, percent)
        self.progressed.emit(self.percent, stage)

    def _on_ended(self, error):
        self.call = None
        error = error or ended_early(self.events)
        if error is not None:
            return self._fail(error)
        self.result.done = self.events["done"]
        self.call = self.api.download(str(self.result.done.get("url") or f"/v1/report/{self.result.done['id']}"))
        self.call.done.connect(self._downloaded)

    def _downloaded(self, data, error):
        self.call = None
        if error is not None:
            return self._fail(error)
        try:
            self.result.files = unpack(data, self.folder)
        except (OSError, zipfile.BadZipFile, EngineReturnedError) as exc:
            return self._fail(exc if isinstance(exc, EngineReturnedError) else
                              EngineReturnedError(tr("The report could not be saved"), details=str(exc)))
        self.result.ok = True
        self.done.emit(self.result)

    def _fail(self, error):
        self.result.error = str(error)
        self.result.details = getattr(error, "details", "")
        self.result.kind = type(error).__name__
        self.done.emit(self.result)
