"""One ask as a ``QgsTask``: the engine streams events, the dock shows them as they arrive.

The task thread only talks HTTP; every event is re-emitted as a Qt signal, so
slots run on the main thread (queued connection) and only they touch widgets.
``finished`` hands the dock an ``AskResult``: the whole answer, or the failure
with what to do about it.
"""

from dataclasses import dataclass, field

from qgis.core import QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from ..client.http import EngineClient
from ..common.errors import PluginError
from ..common.vocab import STAGE_PROGRESS


@dataclass
class AskResult:
    ok: bool
    cancelled: bool = False
    events: dict = field(default_factory=dict)  # last event of each kind: facts, findings, audit, done
    answer: str = ""
    error: str = ""
    hint: str = ""
    kind: str = ""  # the PluginError class name, for the GUI's offer (e.g. to start the engine)


class AskTask(QgsTask):
    streamed = pyqtSignal(str, object)  # (kind, data), delivered on the main thread
    done = pyqtSignal(object)  # AskResult

    def __init__(self, client: EngineClient, params, description="土地利用问答 / land-use ask"):
        super().__init__(description, QgsTask.Flag.CanCancel)
        self.client = client
        self.params = params
        self.result = AskResult(ok=False)

    def run(self):
        def on_event(kind, data):
            if kind == "token":
                self.result.answer += data.get("text", "")
            else:
                self.result.events[kind] = data
            self.setProgress(max(self.progress(), STAGE_PROGRESS.get(kind, 0)))
            self.streamed.emit(kind, data)

        try:
            finished = self.client.stream_ask(self.params.body(), on_event, self.isCanceled)
        except PluginError as exc:
            self.result = AskResult(ok=False, error=str(exc), hint=exc.hint, answer=self.result.answer,
                                    events=self.result.events, kind=type(exc).__name__)
            return False
        self.result.cancelled = not finished
        self.result.ok = finished and "done" in self.result.events
        return True

    def finished(self, successful):  # main thread
        if self.isCanceled():
            self.result.cancelled = True
        self.done.emit(self.result)
