"""One engine call from a Processing algorithm: events collected, cancellable, nothing blocking a thread.

The algorithms run on QGIS's main thread (``FlagNoThreading``) and wait for
the engine in a local event loop, so QGIS keeps drawing and the Cancel button
works; the request itself is the same asynchronous one the dock makes.
"""

import uuid

from qgis.core import QgsProcessingException
from qgis.PyQt.QtCore import QEventLoop

from ..client.api import EngineApi
from ..common import settings
from ..common.errors import LayerError, tr
from ..common.layers import extent_for, layer_params, zones_geojson
from ..common.params import AskParams
from ..common.vocab import STAGE_PROGRESS
from ..tasks.ask_run import ended_early


def params_for(question, layer, baseline, rect, rect_crs, zones):
    """The request's parameters from the algorithm's inputs; layer problems become QgsProcessingException."""
    try:
        layers = [layer_params(layer)] + ([layer_params(baseline)] if baseline is not None else [])
        extent = extent_for(layer, rect if rect is not None and not rect.isNull() else layer.extent(),
                            rect_crs if rect is not None and not rect.isNull() else layer.crs())
        return AskParams(question=question, layers=layers, extent=extent, session_id=uuid.uuid4().hex,
                         language=settings.get("language"), unit=settings.get("unit"),
                         zones=zones_geojson(zones) if zones is not None else None)
    except LayerError as exc:
        raise QgsProcessingException(str(exc)) from None


def run(endpoint, params, feedback):
    """Stream ``/v1/<endpoint>`` with ``params``; returns (answer text, last event of each kind)."""
    return run_body(endpoint, params.analyse_body() if endpoint == "analyse" else params.body(), feedback)


def run_body(endpoint, body, feedback):
    """Stream ``/v1/<endpoint>`` with the JSON ``body``; returns (answer text, last event of each kind).

    A ``progress`` event with ``done`` and ``total`` moves the progress bar in proportion (a sweep's areas).
    """
    api = EngineApi(settings.get("engine_url"), settings.get("token"))
    call = api.stream(f"/v1/{endpoint}", body)
    loop = QEventLoop()
    answer, events, outcome = [], {}, {}

    def on_event(kind, data):
        if kind == "token":
            answer.append(data.get("text", ""))
        else:
            events[kind] = data
            if kind == "error":
                feedback.reportError(data.get("message", ""))
        if kind == "progress" and data.get("total") and data.get("stage") == "areas":
            feedback.setProgress(100.0 * data.get("done", 0) / data["total"])
            feedback.setProgressText(tr("{} of {} areas ({} failed)").format(data.get("done", 0), data["total"],
                                                                             data.get("failed", 0)))
        else:
            feedback.setProgress(max(feedback.progress(), STAGE_PROGRESS.get(kind, 0)))

    def on_ended(error):
        outcome["error"] = error
        loop.quit()

    def on_cancel():
        outcome["cancelled"] = True
        call.abort()
        loop.quit()

    call.event.connect(on_event)
    call.ended.connect(on_ended)
    feedback.canceled.connect(on_cancel)
    if "error" not in outcome and not feedback.isCanceled():
        loop.exec()
    if outcome.get("cancelled") or feedback.isCanceled():
        call.abort()
        raise QgsProcessingException(tr("Cancelled"))
    error = outcome.get("error") or ended_early(events)
    if error is not None:
        hint = tr(error.hint) if error.hint else ""
        raise QgsProcessingException(" ".join(p for p in (str(error), hint, error.details) if p))
    return "".join(answer), events
