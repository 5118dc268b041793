"""What the page's buttons do: describe the chosen imagery, ask, make the report.

The chosen imagery is the uploads plus the layers picked from the service's roots (checked as every request's
layers are). Georeferenced layers go through the service's own queue and worker and the same ``ask`` pipeline as
``/v1/ask``; photos go to ``engine.photo`` (a free visual question, nothing measured). Handlers yield dicts keyed
by the page's components (``ui``), so each event updates only what it concerns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import gradio as gr

from engine.analysis.areas import AreaUnit
from engine.analysis.classes import MEASURED
from engine.ask import AskEvent, AskRequest, ask
from engine.errors import EngineError
from engine.photo import PHOTO_SUFFIXES, PhotoRequest, ask_photo
from engine.types import LayerSpec
from engine.web import downloads
from engine.web.roots import layers_under
from engine.web.text import lang_of, say, seen_text
from engine.web.uploads import UploadError, confine, corrected, expire, layer_specs, shown_names, zones_spec

log = logging.getLogger(__name__)

UPLOAD_MAX_AGE_S = 24 * 3600
EXPIRE_EVERY_S = 3600


def events(engine, produce: Callable[[threading.Event], Iterator[AskEvent]]) -> Iterator[AskEvent]:
    """``produce``'s events through the service's queue and worker (``_Engine.events``); a refusal (queue full,
    stopping) as an ``error`` event the page shows."""
    from engine.service.errors import ServiceError

    try:
        yield from engine.events(produce)
    except ServiceError as exc:
        yield AskEvent("error", {"code": exc.code, "message": str(exc)})


def facts_rows(facts: dict | None, unit: str, lang: str = "zh") -> dict:
    """Each class's area per date, in ``unit``, from the facts (no figure computed here), headed by the dates."""
    if not facts:
        return {"headers": [say("class", lang), say("before", lang), say("after", lang)], "data": []}
    key = f"area_{unit}"
    rows = [[cls.label_en if lang == "en" else cls.label_zh,
             *(f"{facts['classes'][d][cls.key][key]:,.2f}" for d in facts["dates"])] for cls in MEASURED]
    return {"headers": [say("class", lang), *facts["dates"]], "data": rows}


def audit_text(audit: dict, lang: str = "zh") -> str:
    """The audit verdict and each figure's check, for people."""
    verdict = audit.get("verdict")
    if verdict in ("all_measured", "no_figures"):
        head = say(verdict, lang)
    else:
        unsupported = audit.get("unsupported", [])
        head = say("unsupported", lang).format(n=len(unsupported),
                                               figures=(", " if lang == "en" else "、").join(unsupported))
    left, right, colon = (" (", ")", ":") if lang == "en" else ("（", "）", "：")
    lines = [f"- {'✔' if n['supported'] else '✘'} {n['text']}" + (f"{left}{n['source']}{right}" if n.get("source")
                                                                  else "") for n in audit.get("numbers", [])]
    return "\n".join([f"**{say('audit', lang)}{colon}** {head}", *lines])


def _path(item) -> str:
    return item if isinstance(item, str) else str(getattr(item, "name", item))


class Actions:
    """The page's handlers over the service's engine, report store, upload folder and settings."""

    def __init__(self, engine, reports, uploads: Path, ui):
        self.engine, self.reports, self.uploads, self.ui = engine, reports, uploads, ui
        self.expired_at = 0.0
        self.tidy()

    def tidy(self) -> None:
        """At most hourly: uploads older than a day go, with what was unpacked and drawn from them."""
        import time

        if time.monotonic() - self.expired_at > EXPIRE_EVERY_S:
            self.expired_at = time.monotonic()
            removed = expire(self.uploads, UPLOAD_MAX_AGE_S)
            if removed:
                log.info("removed %d upload files older than %d h", removed, UPLOAD_MAX_AGE_S // 3600)

    def allows(self, path: Path) -> bool:
        """What the page may read: the service's roots (everything when it has none) and its own uploads."""
        settings = self.engine.settings
        if not settings.roots or settings.allows(path):
            return True
        try:
            return Path(path).resolve().is_relative_to(self.uploads.resolve())
        except (OSError, RuntimeError, ValueError):
            return False

    def chosen(self, files, picked) -> tuple[list[LayerSpec], list[Path]]:
        """The layers (uploads and picks, each checked as a request's layers are) and the photos; a refusal is an
        ``UploadError``."""
        from engine.service.errors import ServiceError
        from engine.service.requests import layer_spec
        from engine.service.schemas import LayerBody

        names = [_path(f) for f in files or []]
        photos = [Path(n) for n in names if Path(n).suffix.lower() in PHOTO_SUFFIXES]
        rasters = [n for n in names if Path(n).suffix.lower() not in PHOTO_SUFFIXES]
        settings = self.engine.settings
        specs = layer_specs(rasters, settings.max_upload_bytes, self.allows if settings.roots else None) \
            if rasters else []
        if self.engine.settings.roots:
            confine(specs, self.allows)
        try:
            specs += [layer_spec(LayerBody(path=p), self.engine.settings) for p in picked or []]
        except ServiceError as exc:  # a pick moved or removed since the page listed it
            raise UploadError(str(exc)) from None
        return specs, photos

    def selection(self, files, picked, table, zones, lang: str):  # -> (layers, photos, ZoneSpec | None)
        """What an ask or a report is about: the layers with the table's corrections, the photos (never both),
        and the zones."""
        specs, photos = self.chosen(files, picked)
        if specs and photos:
            raise UploadError(say("mixed", lang))
        zone_spec = zones_spec(_path(zones) if zones else None, self.engine.settings.max_upload_bytes)
        return corrected(specs, table, say("unknown_date", lang)), photos, zone_spec

    def refresh_roots(self) -> dict:
        """The roots' layers as they are now (the page lists them when it opens)."""
        choices = layers_under(self.engine.settings.roots)
        return gr.update(choices=choices, visible=bool(choices))

    def describe(self, files, picked, request: gr.Request = None) -> dict:
        """The layers table (date and sensor as read, or the photos) and, for three dates or more, the time-lapse."""
        from engine.scene.describe import describe

        ui, lang = self.ui, _lang(request)
        self.tidy()
        try:
            specs, photos = self.chosen(files, picked)
        except EngineError as exc:
            return {ui.layers: [[str(exc), "", ""]], ui.timelapse: _hidden()}
        rows = [[p.name, say("photo_row", lang), say("no_georeference", lang)] for p in photos]
        dates = []
        for spec, name in zip(specs, shown_names(specs), strict=True):
            info = describe(spec).to_dict()
            dates.append(info.get("date"))
            rows.append([name, info.get("date") or say("unknown_date", lang),
                         info.get("sensor_label") or info.get("sensor") or ""])
        return {ui.layers: rows, ui.timelapse: self._time_lapse(specs, dates)}

    def replay(self, files, picked, table, request: gr.Request = None) -> dict:
        """The time-lapse again after dates were typed into the table (frames ordered and stamped by them)."""
        try:
            specs, _ = self.chosen(files, picked)
            specs = corrected(specs, table, say("unknown_date", _lang(request)))
        except EngineError:  # the table says what is wrong when the question is asked
            return _hidden()
        from engine.scene.describe import describe

        return self._time_lapse(specs, [str(s.date) if s.date else describe(s).date for s in specs])

    def _time_lapse(self, specs: list[LayerSpec], dates: list[str | None]) -> dict:
        """The time-lapse of ``specs`` (their ``dates``, as read or typed) when three dates or more are known."""
        gif = downloads.time_lapse_file(specs, self.uploads / "timelapse") if len(set(dates) - {None}) >= 3 \
            else None
        return _shown(gif) if gif else _hidden()

    def ask(self, files, picked, table, zones, question, unit, session,
            request: gr.Request = None) -> Iterator[dict]:
        ui, lang = self.ui, _lang(request)
        question = (question or "").strip()
        if not files and not picked:
            yield {ui.answer: say("need_upload", lang)}
            return
        if not question:
            yield {ui.answer: say("need_question", lang)}
            return
        try:
            specs, photos, zone_spec = self.selection(files, picked, table, zones, lang)
        except EngineError as exc:
            yield {ui.answer: f"⚠ {exc}", ui.audit: ""}
            return
        if photos:
            yield from self._ask_photo(PhotoRequest(question, photos, session_id=session), lang)
        else:
            yield from self._ask_layers(AskRequest(question=question, layers=specs, session_id=session,
                                                   unit=AreaUnit(unit), zones=zone_spec), unit, lang)

    def _ask_layers(self, request: AskRequest, unit: str, lang: str) -> Iterator[dict]:
        ui, engine = self.ui, self.engine
        text, facts = "", None
        folder = self.uploads / "answers" / str(request.session_id)
        yield {ui.answer: say("measuring", lang), ui.audit: "", ui.seen: "", ui.findings: None, ui.map: None}
        for event in events(engine, lambda cancel: ask(request, engine.backend, engine.sessions, engine.generation,
                                                        engine.cache, cancel)):
            if event.kind == "facts":
                facts = event.data
                yield {ui.answer: say("measured", lang), ui.facts: facts_rows(facts, unit, lang),
                       ui.facts_state: facts}
            elif event.kind == "token":
                text += str(event.data.get("text", ""))
                yield {ui.answer: text}
            elif event.kind == "findings":
                yield {ui.findings: downloads.findings_file(event.data, folder),
                       ui.map: downloads.map_file(request.layers, facts, event.data, folder, lang, request.zones)}
            elif event.kind == "audit":
                yield {ui.answer: text if text.strip() else say("no_answer", lang),
                       ui.audit: audit_text(event.data, lang)}
            elif event.kind == "done":
                yield {ui.seen: seen_text(event.data, lang)}
            elif event.kind == "error" and not text:
                yield {ui.answer: f"⚠ {event.data.get('message', '')}"}

    def _ask_photo(self, request: PhotoRequest, lang: str) -> Iterator[dict]:
        ui, engine = self.ui, self.engine
        text = ""
        yield {ui.answer: say("looking", lang), ui.audit: "", ui.seen: say("photo_mode", lang),
               ui.facts: facts_rows(None, "mu", lang), ui.facts_state: None, ui.findings: None, ui.map: None}
        for event in events(engine, lambda cancel: ask_photo(request, engine.backend, engine.sessions,
                                                              engine.generation, cancel)):
            if event.kind == "token":
                text += str(event.data.get("text", ""))
                yield {ui.answer: text}
            elif event.kind == "audit":
                yield {ui.answer: text if text.strip() else say("no_photo_answer", lang),
                       ui.audit: audit_text(event.data, lang)}
            elif event.kind == "error":
                yield {ui.answer: f"⚠ {event.data.get('message', '')}"}

    def report(self, files, picked, table, zones, unit, session, request: gr.Request = None) -> Iterator[dict]:
        ui, lang = self.ui, _lang(request)
        try:
            specs, _, zone_spec = self.selection(files, picked, table, zones, lang)
            if not specs:
                raise UploadError(say("report_need_layers", lang))
        except EngineError as exc:
            yield {ui.report_status: f"⚠ {exc}", ui.report_file: None}
            return
        request_ = AskRequest(question="", layers=specs, session_id=session, unit=AreaUnit(unit), zones=zone_spec)
        yield {ui.report_status: say("reporting", lang), ui.report_file: None}
        for event in events(self.engine, downloads.report_events(self.engine, self.reports, request_, unit, lang)):
            if event.kind == "done":
                zip_path = self.reports.zip_of(str(event.data["id"]))
                done = say("report_done", lang).format(patches=event.data["patches"])
                yield {ui.report_status: done, ui.report_file: str(zip_path) if zip_path else None}
            elif event.kind == "error":
                yield {ui.report_status: f"⚠ {event.data.get('message', '')}", ui.report_file: None}

    def refacts(self, facts, unit, request: gr.Request = None) -> dict:
        return facts_rows(facts, unit, _lang(request))


def _lang(request) -> str:
    headers = getattr(request, "headers", None) or {}
    return lang_of(headers.get("accept-language"))


def _shown(path: str) -> dict:
    return gr.update(value=path, visible=True)


def _hidden() -> dict:
    return gr.update(value=None, visible=False)
