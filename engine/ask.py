"""The ask pipeline: read the extent -> analyse -> render -> prompt -> generate -> audit -> respond.

``ask`` yields typed events in that order (``progress``, ``facts``, ``token``,
``findings``, ``audit``, ``done``; ``error`` when something fails), so the CLI
prints them and the service streams them as they come. Progress events come
live, per date and strip, while the analysis runs in its own thread. The facts
are measured before the model says a word; when the model fails, the
analytics-only answer stands in and an ``error`` event says why. ``measure``
is the same without a model: facts, findings and, for a question, the answer
written from the facts (``POST /v1/analyse``).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from engine.analysis.aoi import AoiSpec
from engine.analysis.areas import AreaUnit
from engine.analysis.cache import AnalysisCache
from engine.analysis.findings import DEFAULT_CAP
from engine.analysis.run import Analysis, AnalysisConfig, ZoneSpec, analyse
from engine.answer.analytics import answer as analytics_answer
from engine.answer.analytics import language_of, unit_of
from engine.answer.audit import audit
from engine.answer.grounding import boxes_to_features
from engine.errors import CancelledError, EngineError
from engine.model.backends import Backend, BackendKind, png_data_url
from engine.model.config import GenerationConfig
from engine.prompt.builder import (
    DEFAULT_IMAGE_PIXELS,
    ImageFrame,
    PromptImage,
    PromptVideo,
    Turn,
    approx_tokens,
    build_prompt,
    time_lapse,
)
from engine.scene.product import Product
from engine.scene.render import Composite, RenderConfig, render_composites
from engine.types import Extent, LayerSpec

log = logging.getLogger(__name__)
T = TypeVar("T")

IMAGE_BUDGET_PIXELS = 4 * 256 * 28 * 28  # all images of one ask: 4 x 256 visual tokens (one per 28x28 pixels)
MAX_SESSIONS = 256


@dataclass
class AskRequest:
    question: str
    layers: list[LayerSpec]
    extent: Extent | None = None
    zones: ZoneSpec | None = None
    session_id: str | None = None
    language: str | None = None  # zh | en; from the question when None
    unit: AreaUnit | None = None  # from the question when None
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    class_maps: bool = False  # measure: also write each date's land-cover map as a GeoTIFF
    aoi: AoiSpec | None = None  # measure inside this polygon (engine.analysis.aoi)
    aoi_label: str | None = None  # the service's name for an inline area


@dataclass(frozen=True)
class AskEvent:
    kind: str  # progress | facts | token | findings | audit | done | error
    data: dict[str, object]


class Sessions:
    """Conversation history per session id (bounded; least recently used sessions are forgotten)."""

    def __init__(self, limit: int = MAX_SESSIONS):
        self._turns: OrderedDict[str, list[Turn]] = OrderedDict()
        self._lock = threading.Lock()
        self.limit = limit

    def history(self, session_id: str | None) -> list[Turn]:
        if session_id is None:
            return []
        with self._lock:
            turns = self._turns.get(session_id, [])
            if session_id in self._turns:
                self._turns.move_to_end(session_id)
            return list(turns)

    def add(self, session_id: str | None, turn: Turn) -> None:
        if session_id is None:
            return
        with self._lock:
            self._turns.setdefault(session_id, []).append(turn)
            self._turns.move_to_end(session_id)
            while len(self._turns) > self.limit:
                self._turns.popitem(last=False)

    def delete(self, session_id: str) -> bool:
        with self._lock:
            return self._turns.pop(session_id, None) is not None


def render_images(result: Analysis, image_pixels: tuple[int, int]) -> list[PromptImage]:
    """True and false colour per date over the analysed extent, in date order, within the pixel budget."""
    facts = result.facts
    extent = Extent(float(facts.extent["xmin"]), float(facts.extent["ymin"]), float(facts.extent["xmax"]),
                    float(facts.extent["ymax"]), str(facts.extent["crs"]))
    composites = {p.name: [c for c in (Composite.TRUE_COLOR, Composite.FALSE_COLOR)
                           if all(r in p.bands for r in c.roles)] for p in result.products}
    n_images = sum(len(c) for c in composites.values())
    if not n_images:
        return []
    low, high = image_pixels
    per_image = max(low, min(high, IMAGE_BUDGET_PIXELS // n_images))
    config = RenderConfig(min_pixels=min(low, per_image), max_pixels=per_image)
    todo = [p for p in result.products if composites[p.name]]

    def one(product: Product) -> list[PromptImage]:
        the_plan, tiles = render_composites(product, extent, composites[product.name], config)
        return [PromptImage(tile.image, ImageFrame(tile.image.shape[1], tile.image.shape[0], tile.transform,
                                                   the_plan.crs, str(product.acquired), composite.value))
                for composite, tile in zip(composites[product.name], tiles, strict=True)]

    # dates in parallel: reading and the compiled decimation release the GIL
    with ThreadPoolExecutor(max_workers=max(1, min(len(todo), os.cpu_count() or 1))) as pool:
        images = [image for per_date in pool.map(one, todo) for image in per_date]
    return images


def thumbnail(pixels: np.ndarray, side: int = 160) -> str:
    """A small PNG of an image as a data URL (what the model saw, for the response)."""
    from PIL import Image

    img = Image.fromarray(pixels)
    img.thumbnail((side, side))
    return png_data_url(np.asarray(img))


def ask(request: AskRequest, backend: Backend, sessions: Sessions | None = None,
        generation: GenerationConfig | None = None, cache: AnalysisCache | None = None,
        cancel: threading.Event | None = None, image_pixels: tuple[int, int] = DEFAULT_IMAGE_PIXELS,
        count_tokens: Callable[[str], int] = approx_tokens, max_findings: int = DEFAULT_CAP,
        history_tokens: int = 2048) -> Iterator[AskEvent]:
    """Answer ``request``: events as the work proceeds (see the module docstring)."""
    generation = generation or GenerationConfig()
    cancel = cancel or threading.Event()
    sessions = sessions or Sessions()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    language = request.language or language_of(request.question)
    unit = request.unit or unit_of(request.question, None, language)

    yield AskEvent("progress", {"stage": "analyse", "done": 0, "total": 1})
    result = yield from analyse_live(request, cache, cancel)
    timings["analyse_s"] = time.perf_counter() - started
    facts = result.facts.to_dict()
    yield AskEvent("facts", facts)

    pieces: list[str] = []
    first_token_s = None
    fallback = None
    images: list[PromptImage] = []
    video: PromptVideo | None = None
    dropped_turns = used_turns = 0
    t = time.perf_counter()
    try:
        backend.prepare()
        bounds = backend.image_pixels()
        if bounds is not None:  # a local model: its processor's bounds and its tokenizer
            image_pixels, count_tokens = bounds, backend.count_tokens
        timings["model_load_s"] = time.perf_counter() - t
        t = time.perf_counter()
        images = render_images(result, image_pixels) if backend.kind is not BackendKind.NONE else []
        if backend.takes_video():  # three or more dates: a time-lapse
            video, images = time_lapse(images)
        timings["render_s"] = time.perf_counter() - t
        t = time.perf_counter()
        prompt = build_prompt(request.question, result.facts, images, sessions.history(request.session_id),
                              language, unit, count_tokens, history_tokens, video=video)
        dropped_turns, used_turns = prompt.dropped_turns, len(prompt.history)
        timings["prompt_s"] = time.perf_counter() - t
        t = time.perf_counter()
        # no model: the answer is written from the measurements alone
        stream = (iter([analytics_answer(request.question, result.facts, unit, language).text])
                  if backend.kind is BackendKind.NONE else backend.stream(prompt, generation, cancel))
        for piece in stream:
            if first_token_s is None:
                first_token_s = time.perf_counter() - t
            pieces.append(piece)
            yield AskEvent("token", {"text": piece})
            if cancel.is_set():
                break
    except EngineError as exc:  # the model could not load or failed: the measurements still answer
        log.info("the model could not answer, answering from the measurements: %s", exc)
        fallback = analytics_answer(request.question, result.facts, unit, language).text
        yield AskEvent("error", {"code": exc.code, "message": str(exc), "fallback": "analytics"})
        pieces = [fallback]
        yield AskEvent("token", {"text": fallback})
    generate_s = time.perf_counter() - t
    timings["generate_s"] = generate_s
    if first_token_s is not None:
        timings["first_token_s"] = first_token_s
    text = "".join(pieces)
    n_tokens = count_tokens(text)
    if generate_s > 0 and fallback is None and backend.kind is not BackendKind.NONE:
        timings["tokens_per_s"] = n_tokens / generate_s

    findings = result.findings(max_findings)
    model_features = (boxes_to_features(text, [i.frame for i in images], backend.box_scale())
                      if fallback is None else [])
    findings = {**findings, "features": [*findings["features"], *model_features],
                "properties": {**findings.get("properties", {}), "model_boxes": len(model_features)}}
    yield AskEvent("findings", findings)
    checked = audit(text, facts, request.question)
    yield AskEvent("audit", checked.to_dict())
    sessions.add(request.session_id, Turn(request.question, text))
    timings["total_s"] = time.perf_counter() - started
    yield AskEvent("done", {
        "answer": text, "language": language, "mode": "layers", "unit": unit.value, "backend": backend.info(),
        "fallback": fallback is not None, "cancelled": cancel.is_set() and fallback is None,
        "images": [{"caption": img.caption(i + 1, language), "thumbnail": thumbnail(img.pixels)}
                   for i, img in enumerate(images)],
        "video": {"frames": len(video.frames), "dates": video.dates} if video else None,
        "history_turns": used_turns, "dropped_history_turns": dropped_turns,
        "timings": {k: round(v, 4) for k, v in timings.items()},
    })


def analyse_live(request: AskRequest, cache: AnalysisCache | None,
                 cancel: threading.Event | None = None) -> Generator[AskEvent, None, Analysis]:
    """Analyse in a thread, yielding its progress events as they happen; returns the analysis (or raises its error).

    Setting ``cancel`` stops the analysis at its next strip (``CancelledError``).
    """
    def work(put: Callable[[AskEvent], None]) -> Analysis:
        def on_progress(stage: str, done: int, total: int) -> None:
            if cancel is not None and cancel.is_set():
                raise CancelledError("the request was cancelled; the analysis stopped")
            put(AskEvent("progress", {"stage": stage, "done": done, "total": total}))

        return analyse(request.layers, request.extent, request.analysis, on_progress, request.zones, cache,
                       keep_class_maps=request.class_maps, aoi=request.aoi)

    return (yield from threaded(work, "analyse"))


def threaded(work: Callable[[Callable[[AskEvent], None]], T], name: str) -> Generator[AskEvent, None, T]:
    """Run ``work(put)`` in a thread, yielding each event it puts as it puts it; return its result, or raise its error
    in the caller's thread."""
    events: queue.Queue[AskEvent | None] = queue.Queue()
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = work(events.put)
        except BaseException as exc:  # handed to the caller's thread, raised there
            outcome["error"] = exc
        finally:
            events.put(None)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    while (event := events.get()) is not None:
        yield event
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]  # type: ignore[return-value]


def measure(request: AskRequest, cache: AnalysisCache | None = None, max_findings: int = DEFAULT_CAP,
            cancel: threading.Event | None = None) -> Iterator[AskEvent]:
    """Measurement without a model: progress, facts, findings, and for a question the analytics answer and audit."""
    started = time.perf_counter()
    yield AskEvent("progress", {"stage": "analyse", "done": 0, "total": 1})
    result = yield from analyse_live(request, cache, cancel)
    facts = result.facts.to_dict()
    yield AskEvent("facts", facts)
    yield AskEvent("findings", result.findings(max_findings))
    done: dict[str, object] = {"from_cache": result.from_cache}
    if request.class_maps:
        done["class_maps"] = _class_map_files(result, str(facts.get("extent")))
    if request.question:
        language = request.language or language_of(request.question)
        reply = analytics_answer(request.question, result.facts, request.unit, language)
        yield AskEvent("token", {"text": reply.text})
        yield AskEvent("audit", audit(reply.text, facts, request.question).to_dict())
        done.update(answer=reply.text, language=language, unit=reply.unit.value)
    done["timings"] = {"total_s": round(time.perf_counter() - started, 4)}
    yield AskEvent("done", done)


def _class_map_files(result: Analysis, identity: str) -> list[dict[str, str]]:
    """Each date's land-cover map as a GeoTIFF in the cache folder (named by what it shows), for GIS layers."""
    import hashlib

    from engine.analysis.classmap_file import write_class_map
    from engine.scene.overviews import cache_dir

    folder = cache_dir() / "classmaps"
    out = []
    for day, cmap in zip(result.facts.per_date, result.class_maps, strict=True):
        key = hashlib.sha256(f"{identity}|{day.layer}|{day.date}|{cmap.method}".encode()).hexdigest()[:16]
        path = write_class_map(cmap, result.grid, folder / f"landcover_{day.date}_{key}.tif")
        out.append({"date": day.date, "layer": day.layer, "path": str(path)})
    return out


def collect(events: Iterator[AskEvent]) -> dict[str, object]:
    """The non-streaming response: ``answer``, ``facts``, ``findings``, ``audit``, ``images``, ``timings``."""
    out: dict[str, object] = {"errors": []}
    for event in events:
        if event.kind in ("facts", "findings", "audit"):
            out[event.kind] = event.data
        elif event.kind == "error":
            out["errors"].append(event.data)  # type: ignore[union-attr]
        elif event.kind == "done":
            out.update(event.data)
    return out
