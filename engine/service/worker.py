"""What every request of the service shares: the backend, the one worker thread that runs asks and analyses,
admission (a bounded queue), conversation sessions and recent speeds (``/v1/health``)."""

from __future__ import annotations

import collections
import functools
import importlib.metadata
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from engine import __version__, errors
from engine.analysis.cache import AnalysisCache
from engine.ask import AskEvent, Sessions
from engine.model.backends import Backend
from engine.model.config import GenerationConfig
from engine.service.errors import ServiceError, incident, status_of
from engine.service.settings import ServiceSettings

log = logging.getLogger(__name__)


class ServiceEngine:
    """What every request shares: the backend, the one worker, admission, sessions, recent speeds."""

    def __init__(self, settings: ServiceSettings, backend: Backend, generation: GenerationConfig,
                 cache: AnalysisCache | None):
        self.settings, self.backend, self.generation, self.cache = settings, backend, generation, cache
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ask")
        self.sessions = Sessions()
        self.admitted = 0
        self.lock = threading.Lock()
        self.recent: collections.deque[dict[str, float]] = collections.deque(maxlen=settings.recent_asks)

    def admit(self) -> None:
        with self.lock:
            if self.admitted >= self.settings.queue_size:
                raise ServiceError(429, "busy", f"{self.admitted} asks are queued or running; try again later",
                                   {"Retry-After": str(self.settings.retry_after_s)})
            self.admitted += 1

    def release(self) -> None:
        with self.lock:
            self.admitted -= 1

    def run(self, produce: Callable[[], Iterator[AskEvent]], emit) -> None:
        """Run one ask (or analysis) in the worker, handing each event to ``emit``; always ends with ``None``."""
        try:
            for event in produce():
                if event.kind == "done":
                    timings = event.data.get("timings", {})
                    self.recent.append({k: timings[k] for k in ("first_token_s", "tokens_per_s") if k in timings})
                emit(event)
        except errors.EngineError as exc:
            emit(AskEvent("error", {"code": exc.code, "message": str(exc), "status": status_of(exc)}))
        except ValueError as exc:
            emit(AskEvent("error", {"code": "invalid_request", "message": str(exc), "status": 422}))
        except Exception:  # a bug: an id for the client (the log has the traceback); the service keeps serving
            failure = incident("ask")
            emit(AskEvent("error", {"code": "internal_error", "message": f"internal error (id {failure})",
                                    "id": failure, "status": 500}))
        finally:
            emit(None)

    def events(self, produce: Callable[[threading.Event], Iterator[AskEvent]]) -> Iterator[AskEvent]:
        """``produce(cancel)``'s events for a caller in another thread (the browser page): admitted like an API
        request (``ServiceError`` 429 when the queue is full), run by the one worker, yielded as they come;
        ``cancel`` is set when the caller stops reading (closes this generator: its browser went away)."""
        self.admit()
        events: queue.Queue[AskEvent | None] = queue.Queue()
        cancel = threading.Event()

        def job() -> None:
            try:
                if cancel.is_set():  # gone before its turn
                    events.put(None)
                else:
                    self.run(lambda: produce(cancel), events.put)  # ends with None
            finally:
                self.release()

        try:
            self.worker.submit(job)
        except RuntimeError:  # the worker is shutting down
            self.release()
            raise ServiceError(503, "shutting_down", "the service is stopping") from None
        try:
            while (event := events.get()) is not None:
                yield event
        finally:
            cancel.set()

    def health(self) -> dict[str, object]:
        def mean(key: str) -> float | None:
            values = [r[key] for r in self.recent if key in r]
            return round(sum(values) / len(values), 4) if values else None

        info = self.backend.info()
        return {"status": "ok", "backend": info.get("backend"), "model": info.get("model"),
                "device": info.get("device"), "precision": info.get("precision"), "backend_info": info,
                "versions": _versions(), "queue_length": self.admitted, "queue_size": self.settings.queue_size,
                "recent_asks": len(self.recent), "first_token_latency_s": mean("first_token_s"),
                "tokens_per_s": mean("tokens_per_s")}


@functools.cache
def _versions() -> dict[str, str | None]:
    """Versions of the engine and the libraries answers depend on (read once: metadata lookups are slow)."""
    versions: dict[str, str | None] = {"engine": __version__}
    for package in ("torch", "transformers", "bitsandbytes", "rasterio", "fastapi"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions
