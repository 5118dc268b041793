"""Running one ask from a Processing algorithm (already on a worker thread): events collected, cancellable."""

import uuid

from qgis.core import QgsProcessingException
from qgis.PyQt.QtCore import QCoreApplication

from ..client.http import EngineClient
from ..common import settings
from ..common.errors import LayerError, PluginError
from ..common.layers import extent_for, layer_params, zones_geojson
from ..common.params import AskParams
from ..common.vocab import STAGE_PROGRESS


def run_ask(question, layer, baseline, rect, rect_crs, zones, feedback):
    """Ask the engine; returns (answer, events). Engine and layer problems become QgsProcessingException."""
    try:
        layers = [layer_params(layer)] + ([layer_params(baseline)] if baseline is not None else [])
        extent = extent_for(layer, rect if rect is not None and not rect.isNull() else layer.extent(),
                            rect_crs if rect is not None and not rect.isNull() else layer.crs())
        params = AskParams(question=question, layers=layers, extent=extent, session_id=uuid.uuid4().hex,
                           language=settings.get("language"), unit=settings.get("unit"),
                           zones=zones_geojson(zones) if zones is not None else None)
    except LayerError as exc:
        raise QgsProcessingException(str(exc)) from None
    answer, events = [], {}

    def on_event(kind, data):
        if kind == "token":
            answer.append(data.get("text", ""))
        else:
            events[kind] = data
            if kind == "error":
                feedback.reportError(data.get("message", ""))
        feedback.setProgress(max(feedback.progress(), STAGE_PROGRESS.get(kind, 0)))

    client = EngineClient(settings.get("engine_url"), settings.get("token"))
    try:
        finished = client.stream_ask(params.body(), on_event, feedback.isCanceled)
    except PluginError as exc:
        hint = QCoreApplication.translate("LandUseMonitor", exc.hint) if exc.hint else ""
        raise QgsProcessingException(f"{exc}  {hint}".strip()) from None
    if not finished:
        raise QgsProcessingException("cancelled / 已取消")
    return "".join(answer), events, params
