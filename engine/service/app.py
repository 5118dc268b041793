"""The HTTP service: ``/v1/health``, ``/v1/ask`` and ``/v1/analyse`` (JSON or server-sent events), ``/v1/inspect``,
``/v1/audit``, ``/v1/sessions/{id}``.

One model instance serves every ask: asks run one at a time in a worker
thread, with at most ``queue_size`` admitted (running or waiting); beyond that
the reply is 429 with ``Retry-After``. A streamed ask is cancelled when its
client disconnects. Every error is ``{"error": {"code", "message"}}``; the
mapping from engine errors to HTTP statuses is ``engine.service.errors.STATUS`` and nowhere else; what every
request shares (the backend, the one worker, admission, sessions) is ``engine.service.worker``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine import __version__, errors
from engine.analysis.cache import AnalysisCache
from engine.analysis.run import AnalysisConfig
from engine.answer.audit import audit, check_facts
from engine.ask import AskEvent, ask, collect, measure
from engine.model.backends import Backend
from engine.model.config import GenerationConfig
from engine.outputs.report import ReportConfig
from engine.scene.describe import describe
from engine.scene.overviews import cache_dir
from engine.service.errors import ServiceError, incident, status_of
from engine.service.guards import BodyLimit, HostCheck, OffLoopRoute
from engine.service.reports import ReportStore, report_events
from engine.service.reports import new_id as new_report_id
from engine.service.requests import ask_request, layer_spec, use_vectors
from engine.service.schemas import (
    AnalyseBody,
    AskBody,
    AuditBody,
    ErrorResponse,
    InspectBody,
    ReportBody,
    SweepBody,
)
from engine.service.settings import ServiceSettings
from engine.service.sweeps import sweep_config, sweep_events
from engine.service.vectors import PendingVectors
from engine.service.worker import ServiceEngine

log = logging.getLogger(__name__)

ERRORS = {"model": ErrorResponse}


def _internal(incident: str) -> JSONResponse:
    return JSONResponse({"error": {"code": "internal_error", "message": f"internal error (id {incident})",
                                   "id": incident}}, status_code=500)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def json_response(data: object) -> Response:
    """A JSON body serialised with orjson (answers carry GeoJSON findings: the stdlib is several times slower)."""
    return Response(orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")


def _zip_response(reports: ReportStore, report_id: str) -> Response:
    path = reports.zip_of(report_id)
    if path is None:
        raise ServiceError(404, "report_not_found", f"no report {report_id!r} (reports are kept while they are among "
                                                    "the newest 50)")
    return FileResponse(path, media_type="application/zip", filename=f"report-{report_id}.zip",
                        headers={"X-Report-Id": report_id})


def create_app(settings: ServiceSettings, backend: Backend, generation: GenerationConfig | None = None,
               cache: AnalysisCache | None = None) -> FastAPI:
    engine = ServiceEngine(settings, backend, generation or GenerationConfig(), cache)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.worker.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="County land-use monitoring engine", version=__version__, lifespan=lifespan,
                  description="Measured land-use facts and grounded answers about Landsat/Sentinel-2 layers.")
    app.state.engine = engine

    app.router.route_class = OffLoopRoute  # request JSON parsed in a worker thread

    @app.middleware("http")
    async def authorise(request: Request, call_next):
        if settings.token and settings.ui and request.url.path.startswith("/ui"):  # the page: a cookie
            from engine.web import login

            if request.url.path == login.LOGIN:
                return await login.login(request, settings.token)
            if not login.has_cookie(request, settings.token):
                return login.refuse(request)
            return await call_next(request)
        if settings.token:  # every path: the API, its schema and /docs
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {settings.token}".encode()):
                return error_response(401, "unauthorised", "a valid 'Authorization: Bearer <token>' is required")
        return await call_next(request)

    # outermost last: the Host is checked first, then the body's size, then the token
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, exempt="/ui/" if settings.ui else None)
    app.add_middleware(HostCheck, allowed=settings.allowed_hosts)

    @app.exception_handler(ServiceError)
    async def on_service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return error_response(exc.status, exc.code, str(exc), exc.headers)

    @app.exception_handler(errors.EngineError)
    async def on_engine_error(request: Request, exc: errors.EngineError) -> JSONResponse:
        return error_response(status_of(exc), exc.code, str(exc))

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        failure = incident(f"{request.method} {request.url.path}")
        return _internal(failure)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
        return error_response(422, "invalid_request", problems[:2000] or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.get("/v1/health", summary="status, backend, model, queue, recent speed")
    async def health() -> dict[str, object]:
        return engine.health()

    @app.post("/v1/ask", summary="ask a question about layers over an extent",
              responses={400: ERRORS, 401: ERRORS, 403: ERRORS, 404: ERRORS, 413: ERRORS, 422: ERRORS,
                         429: ERRORS})
    async def ask_endpoint(body: AskBody) -> Response:
        request, vectors = await run_in_threadpool(ask_request, body, settings)  # opens layers: off the loop
        cancel = threading.Event()
        return await _respond(lambda: ask(request, engine.backend, engine.sessions, engine.generation, engine.cache,
                                          cancel, history_tokens=settings.history_tokens),
                              vectors, cancel, body.stream, functools.partial(use_vectors, request))

    @app.post("/v1/analyse", summary="measure layers over an extent without the model: facts and findings",
              responses={400: ERRORS, 401: ERRORS, 403: ERRORS, 404: ERRORS, 413: ERRORS, 422: ERRORS,
                         429: ERRORS})
    async def analyse_endpoint(body: AnalyseBody) -> Response:
        request, vectors = await run_in_threadpool(ask_request, body, settings)
        if body.mmu_ha is not None:
            request.analysis = AnalysisConfig(mmu_ha=body.mmu_ha)
        request.class_maps = body.class_maps
        cancel = threading.Event()
        return await _respond(lambda: measure(request, engine.cache, body.max_findings, cancel), vectors, cancel,
                              body.stream, functools.partial(use_vectors, request))

    @app.post("/v1/sweep", summary="measure every area of a boundary layer on Dask (as `engine sweep`)",
              responses={400: ERRORS, 401: ERRORS, 403: ERRORS, 413: ERRORS, 422: ERRORS, 429: ERRORS})
    async def sweep_endpoint(body: SweepBody) -> Response:
        config, files = await run_in_threadpool(sweep_config, body, settings)  # its refusals are ServiceErrors
        return await _respond(lambda: sweep_events(config, files), PendingVectors(), threading.Event(), body.stream)

    async def _respond(produce: Callable[[], Iterator[AskEvent]], vectors: PendingVectors, cancel: threading.Event,
                       stream: bool, use_vectors: Callable[[dict[str, Path]], None] | None = None,
                       reply: Callable[[dict[str, object]], Response] | None = None) -> Response:
        """Admit, run ``produce`` in the worker, and reply with its events streamed (SSE) or collected as one JSON
        (or as ``reply`` makes of the ``done`` event's data).

        Temporary files (zones, the area) are written only once admitted, and always removed when the work ends.
        """
        engine.admit()
        try:
            paths = vectors.write()
        except OSError:
            engine.release()
            raise
        if use_vectors is not None:
            use_vectors(paths)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[AskEvent | None] = asyncio.Queue()

        def emit(event: AskEvent | None) -> None:
            if event is None:  # the reply ends: its temporary files go first, so none outlives it
                vectors.remove()
            loop.call_soon_threadsafe(events.put_nowait, event)

        def job() -> None:
            try:
                engine.run(produce, emit)
            finally:
                engine.release()
                vectors.remove()

        try:
            engine.worker.submit(job)
        except RuntimeError:  # the worker is shutting down
            engine.release()
            vectors.remove()
            raise ServiceError(503, "shutting_down", "the service is stopping") from None

        async def drain() -> AsyncIterator[AskEvent]:
            while (event := await events.get()) is not None:
                yield event

        if stream:
            async def sse() -> AsyncIterator[bytes]:
                try:
                    async for event in drain():
                        data = {k: v for k, v in event.data.items() if k != "status"} \
                            if event.kind == "error" else event.data
                        yield b"event: " + event.kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
                finally:
                    cancel.set()  # the client went away, or the ask ended

            return StreamingResponse(sse(), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        collected = [event async for event in drain()]
        fatal = [e for e in collected if e.kind == "error" and "status" in e.data]
        if fatal and not any(e.kind == "done" for e in collected):
            data = fatal[0].data
            if data.get("code") == "internal_error":
                return _internal(str(data["id"]))
            return error_response(int(data["status"]), str(data["code"]), str(data["message"]))
        if reply is not None:
            return reply(next(e.data for e in collected if e.kind == "done"))
        return json_response(collect(iter(collected)))

    reports = ReportStore(cache_dir() / "reports")

    @app.post("/v1/report", summary="the monitoring report, patch register and patches of layers (a zip)",
              response_class=Response,
              responses={200: {"content": {"application/zip": {}, "text/event-stream": {}},
                               "description": "report.zip (or, with stream, its progress and id)"},
                         400: ERRORS, 401: ERRORS, 403: ERRORS, 404: ERRORS, 413: ERRORS, 422: ERRORS, 429: ERRORS})
    async def report_endpoint(body: ReportBody) -> Response:
        request, vectors = await run_in_threadpool(ask_request, body, settings)
        if body.mmu_ha is not None:
            request.analysis = AnalysisConfig(mmu_ha=body.mmu_ha)
        config = ReportConfig(title=body.title, unit=body.unit, lang=body.language, max_chips=body.max_chips,
                              shapefile=body.shapefile)  # a ReportError is a 422 (STATUS)
        cancel, report_id = threading.Event(), new_report_id()
        return await _respond(lambda: report_events(request, config, reports, report_id, engine.backend, engine.cache,
                                                    body.model, cancel),
                              vectors, cancel, body.stream, functools.partial(use_vectors, request),
                              reply=lambda done: _zip_response(reports, str(done["id"])))

    @app.get("/v1/report/{report_id}", summary="a report made earlier, by its id (a zip)", response_class=Response,
             responses={200: {"content": {"application/zip": {}}, "description": "report.zip"}, 404: ERRORS})
    def report_again(report_id: str) -> Response:
        return _zip_response(reports, report_id)

    @app.post("/v1/inspect", summary="what layers are, from their metadata: date, sensor, band roles",
              responses={401: ERRORS, 403: ERRORS, 404: ERRORS, 422: ERRORS})
    def inspect_endpoint(body: InspectBody) -> Response:
        # a plain def: FastAPI runs it in its thread pool, beside (never behind) the asks
        specs = [layer_spec(layer, settings) for layer in body.layers]
        return json_response({"layers": [describe(spec).to_dict() for spec in specs]})

    @app.post("/v1/audit", summary="check every figure of a text against measured facts",
              responses={401: ERRORS, 422: ERRORS})
    def audit_endpoint(body: AuditBody) -> Response:
        result = audit(body.answer, check_facts(body.facts), body.question or "")
        return json_response(result.to_dict())

    @app.delete("/v1/sessions/{session_id}", status_code=204, summary="forget a session's history",
                responses={404: ERRORS})
    async def delete_session(session_id: str) -> Response:
        if not engine.sessions.delete(session_id):
            raise ServiceError(404, "session_not_found", f"no session {session_id!r}")
        return Response(status_code=204)

    if settings.ui:
        from engine.web.page import mount

        app = mount(app, engine, reports, settings.max_upload_bytes)
    return app
