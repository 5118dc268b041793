"""What the browser page offers to download: the findings of the last answer (GeoJSON) and its report (the zip
``POST /v1/report`` gives: report.docx, patches.xlsx, patches.gpkg), both written under the engine's cache."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from engine.ask import AskRequest
from engine.cachefs import write_atomic
from engine.outputs.report import ReportConfig

log = logging.getLogger(__name__)


def findings_file(findings: dict, folder: Path) -> str | None:
    """The answer's findings as an RFC 7946 GeoJSON file in ``folder`` (None when it cannot be written)."""
    path = folder / "findings.geojson"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(findings, ensure_ascii=False).encode("utf-8"))
    except OSError as exc:
        log.warning("no findings file for the answer: %s", exc)
        return None
    return str(path)


def report_events(engine, store, request: AskRequest, unit: str, lang: str):
    """The report of ``request``'s layers, made as ``POST /v1/report`` makes it (the service's model when it has
    one); its events, the last ``done`` naming the zip."""
    from engine.service.reports import new_id
    from engine.service.reports import report_events as make

    report_id = new_id()
    config = ReportConfig(unit=unit if unit in ("mu", "ha") else "mu", lang=lang, max_chips=4, pdf=False)
    return lambda cancel: make(request, config, store, report_id, engine.backend, engine.cache, True, cancel)


def map_file(layers: list, facts: dict | None, findings: dict, folder: Path, lang: str = "zh",
             zones=None) -> str | None:  # zones: the request's ZoneSpec
    """The last date in true colour with the answer's change patches drawn and numbered, and its zones
    (``findings_map``)."""
    from engine.analysis.zones import read_zones
    from engine.errors import EngineError
    from engine.outputs.labels import Labels
    from engine.outputs.pictures import findings_map
    from engine.scene.layer import open_layer

    if not facts:
        return None
    try:
        last = max((open_layer(spec) for spec in layers), key=lambda p: p.acquired or 0)
        drawn = [] if zones is None else [(z.name, z.geometry) for z in read_zones(
            zones.path, last.grid, zones.name_field, zones.kind, zones.crs).zones]
        picture = findings_map(last, facts, findings, Labels.for_lang(lang), zones=drawn)
    except (EngineError, ValueError, OSError) as exc:  # the answer stands without its picture
        log.warning("no map for the answer: %s", exc)
        return None
    path = folder / "map.png"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(path, picture.png)
    except OSError as exc:
        log.warning("no map for the answer: %s", exc)
        return None
    return str(path)


def time_lapse_file(layers: list, folder: Path) -> str | None:
    """The layers' dates in true colour as a looping GIF (``time_lapse_gif``), or None when they cannot be drawn."""
    import hashlib

    from engine.errors import EngineError
    from engine.outputs.pictures import time_lapse_gif
    from engine.scene.layer import open_layer

    try:
        gif = time_lapse_gif([open_layer(spec) for spec in layers])
    except (EngineError, ValueError, OSError) as exc:  # the layers stand without their time-lapse
        log.warning("no time-lapse of the layers: %s", exc)
        return None
    path = folder / f"{hashlib.sha256(gif).hexdigest()[:16]}.gif"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(path, gif)
    except OSError as exc:
        log.warning("no time-lapse of the layers: %s", exc)
        return None
    return str(path)
