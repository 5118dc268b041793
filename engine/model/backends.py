"""Backends that turn a ``Prompt`` into a streamed answer: local transformers, OpenAI-compatible, none.

- ``local``: the model loaded by ``engine.model.loading`` (once per process),
  generating in a thread behind a ``TextIteratorStreamer``; a cancel event
  stops generation at the next token (client gone).
- ``openai``: any OpenAI-compatible chat server (vLLM, SGLang, Ollama,
  llama.cpp server); images go as base64 PNG data URLs, the answer streams
  back as server-sent events. Standard library HTTP only.
- ``none``: the analytics-only answerer; also the fallback when a model fails.
"""

from __future__ import annotations

import base64
import enum
import http.client
import io
import json
import logging
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from engine.errors import BackendUnavailableError, GenerationError
from engine.model.config import GenerationConfig, ModelConfig
from engine.prompt.builder import DEFAULT_IMAGE_PIXELS, Prompt, approx_tokens

log = logging.getLogger(__name__)

TOKEN_TIMEOUT_S = 600.0  # seconds without a new token before a local stream gives up


class BackendKind(enum.StrEnum):
    AUTO = "auto"
    LOCAL = "local"
    OPENAI = "openai"
    NONE = "none"


class Backend(Protocol):
    kind: BackendKind

    def info(self) -> dict[str, object]: ...

    def prepare(self) -> None:
        """Load what the first answer needs (a local model), so its time is not counted as generation."""

    def stream(self, prompt: Prompt, generation: GenerationConfig, cancel: threading.Event) -> Iterator[str]: ...

    def image_pixels(self) -> tuple[int, int] | None:
        """The model's image size bounds (min, max pixels), or None where the engine's defaults apply."""

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` as the model counts them (for the history budget)."""

    def box_scale(self) -> int | None:
        """What the model's grounding boxes are relative to (None: the image's pixels; Qwen3-VL: 1000)."""

    def takes_video(self) -> bool:
        """Whether the model is given several dates as one video (``Prompt.video``)."""


class NoneBackend:
    """No model: the ask pipeline answers from the measurements alone (``engine.answer.analytics``)."""

    kind = BackendKind.NONE

    def __init__(self, why: str | None = None):
        self.why = why

    def info(self) -> dict[str, object]:
        return {"backend": self.kind.value, "model": None, "note": self.why}

    def prepare(self) -> None:
        pass

    def box_scale(self) -> None:
        return None

    def takes_video(self) -> bool:
        return False

    def image_pixels(self) -> None:
        return None  # no model sees images

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def stream(self, prompt: Prompt, generation: GenerationConfig, cancel: threading.Event) -> Iterator[str]:
        return iter(())  # nothing to generate; ``ask`` writes the analytics answer instead


def _png(pixels: object) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def png_data_url(pixels: object) -> str:
    """An RGB image array as a PNG data URL (what OpenAI-compatible servers take as an image)."""
    return "data:image/png;base64," + base64.b64encode(_png(pixels)).decode()


def openai_messages(prompt: Prompt) -> list[dict[str, object]]:
    """The prompt as OpenAI chat messages (images as base64 PNG data URLs, before the text)."""
    messages: list[dict[str, object]] = [{"role": "system", "content": prompt.system}]
    for turn in prompt.history:
        messages += [{"role": "user", "content": turn.question}, {"role": "assistant", "content": turn.answer}]
    stills = [*(prompt.video.frames if prompt.video else []), *prompt.images]
    content: list[dict[str, object]] = [
        {"type": "image_url", "image_url": {"url": png_data_url(i.pixels)}}
        for i in stills]
    content.append({"type": "text", "text": prompt.text})
    messages.append({"role": "user", "content": content})
    return messages


@dataclass
class OpenAIBackend:
    """An OpenAI-compatible ``/v1/chat/completions`` server, streamed."""

    base_url: str  # e.g. http://gpu-server:8000/v1
    model: str
    api_key: str | None = None
    timeout_s: float = 300.0
    kind: BackendKind = BackendKind.OPENAI

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"OpenAI-compatible URL {self.base_url!r} must look like http://host:port/v1")

    def info(self) -> dict[str, object]:
        return {"backend": self.kind.value, "model": self.model, "url": self.base_url}

    def prepare(self) -> None:
        pass

    def image_pixels(self) -> None:
        return None  # the server's processor is not visible from here: the engine's defaults apply

    def box_scale(self) -> None:
        return None  # nor is its family: boxes are read as the image's pixels, as Qwen2/2.5-VL give them

    def takes_video(self) -> bool:
        return False  # video input is not part of the OpenAI chat format: the dates go as images

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def stream(self, prompt: Prompt, generation: GenerationConfig, cancel: threading.Event) -> Iterator[str]:
        parts = urllib.parse.urlsplit(self.base_url)
        conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(parts.hostname, parts.port, timeout=self.timeout_s)
        body = {"model": self.model, "messages": openai_messages(prompt), "stream": True,
                "max_tokens": generation.max_new_tokens, "temperature": generation.temperature,
                "top_p": generation.top_p}
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            conn.request("POST", parts.path.rstrip("/") + "/chat/completions", json.dumps(body), headers)
            response = conn.getresponse()
        except OSError as exc:
            raise BackendUnavailableError(f"cannot reach the OpenAI-compatible server at {self.base_url}: {exc}") \
                from None
        try:
            if response.status != 200:
                detail = response.read(2000).decode("utf-8", "replace")
                raise GenerationError(f"{self.base_url} answered HTTP {response.status}: {detail}")
            yield from _sse_deltas(response, cancel)
        except OSError as exc:
            raise GenerationError(f"the stream from {self.base_url} broke off: {exc}") from None
        finally:
            conn.close()


def _sse_deltas(response: http.client.HTTPResponse, cancel: threading.Event) -> Iterator[str]:
    """Content deltas of an OpenAI chat-completions event stream."""
    while not cancel.is_set():
        line = response.readline()
        if not line:
            return
        line = line.strip()
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            return
        try:
            event = json.loads(data)
        except ValueError:
            raise GenerationError(f"the server sent a malformed event: {data[:200]!r}") from None
        if "error" in event:
            raise GenerationError(f"the server reported an error: {event['error']}")
        for choice in event.get("choices") or []:
            piece = (choice.get("delta") or {}).get("content")
            if piece:
                yield piece


class LocalBackend:
    """transformers generation with the model of ``config`` (loaded on first use, once per process)."""

    kind = BackendKind.LOCAL

    def __init__(self, config: ModelConfig):
        self.config = config

    def loaded(self):  # -> LoadedModel
        from engine.model import loading

        return loading.load(self.config)

    def prepare(self) -> None:
        self.loaded()

    def box_scale(self) -> int | None:
        return self.loaded().family.box_scale

    def takes_video(self) -> bool:
        return True  # every Qwen-VL family the engine runs (ModelFamily) takes video

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` with the model's own tokenizer (for the history budget)."""
        return len(self.loaded().processor.tokenizer(text, add_special_tokens=False).input_ids)

    def image_pixels(self) -> tuple[int, int]:
        """The processor's image size bounds: images rendered within them reach the model unresized."""
        processor = self.loaded().processor.image_processor
        size = processor.size  # Qwen's processors keep the pixel bounds as shortest/longest "edge"
        low = getattr(processor, "min_pixels", None) or getattr(size, "shortest_edge", None)
        high = getattr(processor, "max_pixels", None) or getattr(size, "longest_edge", None)
        return int(low or DEFAULT_IMAGE_PIXELS[0]), int(high or DEFAULT_IMAGE_PIXELS[1])

    def inputs(self, prompt: Prompt):  # -> transformers BatchFeature on the model's device
        """The processor's tensors for ``prompt``: the video (if any), then the images, then the text."""
        from PIL import Image

        lm = self.loaded()
        messages: list[dict[str, object]] = [{"role": "system", "content": [{"type": "text", "text": prompt.system}]}]
        for turn in prompt.history:
            messages += [{"role": "user", "content": [{"type": "text", "text": turn.question}]},
                         {"role": "assistant", "content": [{"type": "text", "text": turn.answer}]}]
        visual = [*([{"type": "video"}] if prompt.video else []), *({"type": "image"} for _ in prompt.images)]
        messages.append({"role": "user", "content": [*visual, {"type": "text", "text": prompt.text}]})
        text = lm.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        images = [Image.fromarray(i.pixels) for i in prompt.images] or None
        videos = None
        if prompt.video:  # the frames of one video share one size: the first frame's
            first = Image.fromarray(prompt.video.frames[0].pixels)
            videos = [[first, *(Image.fromarray(f.pixels).resize(first.size, Image.Resampling.BILINEAR)
                                for f in prompt.video.frames[1:])]]
        # every date is a frame (Qwen3-VL's processor would sample 4 of 6); each frame's pixels capped as
        # qwen-vl-utils caps them
        # (one frame a second: Qwen3-VL stamps frames with times; the dates themselves are in the text)
        video_kwargs = {"do_sample_frames": False, "cap_pixels_per_frame": True, "video_metadata": [
            {"fps": 1.0, "total_num_frames": len(videos[0]), "frames_indices": list(range(len(videos[0])))}]} \
            if videos else {}
        inputs = lm.processor(text=[text], images=images, videos=videos, return_tensors="pt", **video_kwargs)
        log.info("model input: %s%d images, %d tokens",
                 f"1 video of {len(prompt.video.frames)} frames ({', '.join(prompt.video.dates)}; grid "
                 f"{inputs['video_grid_thw'][0].tolist()}), " if prompt.video else "",
                 len(prompt.images), inputs["input_ids"].shape[1])
        return inputs.to(lm.device)

    def info(self) -> dict[str, object]:
        from engine.model import loading

        lm = loading.loaded(self.config)
        described = lm.describe() if lm else {"model": self.config.source, "state": "not loaded yet"}
        return {"backend": self.kind.value, **described}

    def stream(self, prompt: Prompt, generation: GenerationConfig, cancel: threading.Event) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        lm = self.loaded()
        inputs = self.inputs(prompt)
        streamer = TextIteratorStreamer(lm.processor.tokenizer, skip_prompt=True, skip_special_tokens=True,
                                        timeout=TOKEN_TIMEOUT_S)
        stop = threading.Event()  # set when the consumer stops reading

        class _Cancel(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs) -> bool:
                return cancel.is_set() or stop.is_set()

        sampling = {"do_sample": True, "temperature": generation.temperature, "top_p": generation.top_p} \
            if generation.temperature > 0 else {"do_sample": False}
        failure: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    lm.model.generate(**inputs, max_new_tokens=generation.max_new_tokens, streamer=streamer,
                                      stopping_criteria=StoppingCriteriaList([_Cancel()]), **sampling)
            except BaseException as exc:  # reported to the caller below; the thread must end the stream
                failure.append(exc)
                streamer.end()

        thread = threading.Thread(target=run, name="generate", daemon=True)
        thread.start()
        try:
            yield from streamer
        finally:
            stop.set()
            thread.join()
        if failure:
            exc = failure[0]
            kind = "out of memory" if isinstance(exc, torch.OutOfMemoryError | MemoryError) else type(exc).__name__
            raise GenerationError(f"the model failed while answering ({kind}: {exc})") from exc


def choose_backend(kind: BackendKind, model: ModelConfig, model_given: bool, openai_url: str | None = None,
                   openai_model: str | None = None, api_key: str | None = None) -> tuple[Backend, str | None]:
    """The backend for ``kind``; ``auto`` is local when a model is configured and loadable, else none.

    Returns the backend and, for ``auto`` falling back to none, the one-line reason.
    """
    from engine.errors import EngineError
    from engine.model import loading

    if kind is BackendKind.NONE:
        return NoneBackend(), None
    if kind is BackendKind.OPENAI:
        if not openai_url:
            raise ValueError("the openai backend needs the server URL (--openai-url or LANDUSE_OPENAI_URL)")
        return OpenAIBackend(openai_url, openai_model or model.source, api_key), None
    if kind is BackendKind.LOCAL:
        return LocalBackend(model), None
    try:
        loading.read_family(loading.resolve_source(model.source))
    except EngineError as exc:
        why = (f"no vision-language model ({exc}); answering from the measurements only" if model_given
               else f"no vision-language model configured ({exc.__class__.__name__}: {exc}); "
                    "answering from the measurements only")
        return NoneBackend(why), why
    return LocalBackend(model), None
