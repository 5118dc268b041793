"""One ask (or measurement) in flight: the engine streams events, the dock shows them as they arrive.

Deepness's flow (params -> work -> typed result -> GUI slot), with the work
done by the engine process: the request is asynchronous (``client.api``), so
no thread of QGIS waits on the network. ``streamed`` relays each event on the
main thread; ``done`` hands the dock an ``AskResult``: the whole answer, or
the failure with what to do about it.
"""

import re
from dataclasses import dataclass, field

from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..common.errors import EngineReturnedError, tr
from ..common.vocab import STAGE_PROGRESS


@dataclass
class AskResult:
    ok: bool
    cancelled: bool = False
    events: dict = field(default_factory=dict)  # last event of each kind: facts, findings, audit, done
    answer: str = ""
    error: str = ""
    hint: str = ""
    details: str = ""  # the technical text of a failure (for the message bar's details)
    kind: str = ""  # the PluginError class name, for the GUI's offer (e.g. to start the engine)
    progress: int = 0  # percent


def reading_share(stage, data):
    """How far the analysis is, 0-1, from a progress event ("date 2/3 2024-05-01", rows done of total)."""
    total = max(1, int(data.get("total") or 1))
    within = min(1.0, max(0.0, int(data.get("done") or 0) / total))
    m = re.match(r"date (\d+)/(\d+)", stage)
    if m:
        i, n = int(m.group(1)), max(1, int(m.group(2)))
        return ((i - 1) + within) / n
    return 1.0 if stage == "change" and within >= 1 else 0.0


def ended_early(events):
    """The failure of a stream that ended without its ``done`` event (the engine's ``error`` event, if it sent one)."""
    if "done" in events:
        return None
    sent = events.get("error") or {}
    return EngineReturnedError(sent.get("message") or tr("The engine ended the answer early"),
                               details=sent.get("code", ""))


class AskRun(QObject):
    streamed = pyqtSignal(str, object)  # (kind, data)
    progressed = pyqtSignal(int, str)  # (percent, stage)
    done = pyqtSignal(object)  # AskResult

    def __init__(self, api, params, endpoint="ask", extra=None):
        super().__init__()
        self.params = params
        self.endpoint = endpoint
        self.result = AskResult(ok=False)
        body = params.analyse_body() if endpoint == "analyse" else params.body()
        self.call = api.stream(f"/v1/{endpoint}", {**body, **(extra or {})})
        self.call.event.connect(self._on_event)
        self.call.ended.connect(self._on_ended)

    def cancel(self):
        if self.call is not None:
            self.call.abort()
            self.call = None
            self.result.cancelled = True
            self.done.emit(self.result)

    def _on_event(self, kind, data):
        if kind == "token":
            self.result.answer += data.get("text", "")
        else:
            self.result.events[kind] = data
        if kind == "progress":  # live, per date and strip: reading and classifying is the first 40 %
            stage = str(data.get("stage", ""))
            self._progress(min(39, max(self.result.progress, int(5 + 34 * reading_share(stage, data)))), stage)
        else:
            self._progress(max(self.result.progress, STAGE_PROGRESS.get(kind, 0)), kind)
        self.streamed.emit(kind, data)

    def _progress(self, percent, stage):
        if percent != self.result.progress or stage:
            self.result.progress = percent
            self.progressed.emit(percent, stage)

    def _on_ended(self, error):
        self.call = None
        error = error or ended_early(self.result.events)
        if error is not None:
            self.result.error, self.result.hint = str(error), error.hint
            self.result.details, self.result.kind = getattr(error, "details", ""), type(error).__name__
        else:
            self.result.ok = "done" in self.result.events
        self.done.emit(self.result)
