"""A plain photo (PNG or JPEG, no georeference) as a free visual question to the model.

Nothing is measured: there is no extent, so no facts, findings or areas. The model is told so, the page says so,
and the audit lists every figure of the answer as unmeasured. The events are those of ``engine.ask`` without
``facts`` and ``findings``; ``done`` carries ``mode: "photo"``. Without a model there is nothing to answer with:
one ``error`` event (``no_model``) says a vision-language model is needed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.answer.analytics import language_of, unit_of
from engine.answer.audit import audit
from engine.ask import AskEvent, Sessions, thumbnail
from engine.errors import PhotoError
from engine.model.backends import Backend, BackendKind
from engine.model.config import GenerationConfig
from engine.prompt.builder import DEFAULT_IMAGE_PIXELS, ImageFrame, PromptImage, Turn, approx_tokens, build_prompt

log = logging.getLogger(__name__)

PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_PHOTO_PIXELS = 50_000_000  # larger files are refused before they are decoded (decompression bombs)
SYSTEM = {
    "zh": ("你是县级自然资源局的土地利用监测助手。用户上传的是普通照片，没有地理参考，引擎没有对它做任何测量。"
           "请描述照片中能看到的内容并回答问题；不要估算面积、百分比或数量。"
           "需要数字时，请说明要上传带地理参考的卫星影像（GeoTIFF）由引擎测量。用简洁的中文回答。"),
    "en": ("You are the land-use monitoring assistant of a county natural-resources bureau. The user's image is a "
           "plain photo without georeference, and the engine measured nothing in it. Describe what can be seen and "
           "answer the question; do not estimate areas, percentages or counts. Where numbers are needed, say that "
           "a georeferenced satellite image (GeoTIFF) must be uploaded for the engine to measure. Answer briefly."),
}
NO_MODEL = {"zh": "照片问答需要视觉语言模型，而此服务没有加载模型（引擎只能测量带地理参考的影像）。",
            "en": "A question about a photo needs a vision-language model, and this service has none loaded "
                  "(the engine can only measure georeferenced imagery)."}


@dataclass
class PhotoRequest:
    question: str
    photos: list[Path]
    session_id: str | None = None
    language: str | None = None  # zh | en; from the question when None


def read_photo(path: Path, max_pixels: int) -> np.ndarray:
    """The photo as uint8 RGB (height, width, 3), turned as its EXIF says and shrunk to ``max_pixels``."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:  # over 2 x Image.MAX_IMAGE_PIXELS: DecompressionBombError at open
            if image.format not in ("PNG", "JPEG"):
                raise PhotoError(f"{path.name}: a {image.format} image; upload a PNG or JPEG photo")
            if image.width * image.height > MAX_PHOTO_PIXELS:
                raise PhotoError(f"{path.name}: {image.width}x{image.height} px is over the "
                                 f"{MAX_PHOTO_PIXELS // 1_000_000} Mpx a photo may have")
            picture = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, PhotoError):
            raise
        raise PhotoError(f"{path.name}: not a readable PNG or JPEG image ({exc})") from None
    if picture.width * picture.height > max_pixels:
        scale = (max_pixels / (picture.width * picture.height)) ** 0.5
        picture = picture.resize((max(28, int(picture.width * scale)), max(28, int(picture.height * scale))),
                                 Image.Resampling.LANCZOS)
    return np.asarray(picture)


def _image(path: Path, pixels: np.ndarray) -> PromptImage:
    from affine import Affine

    height, width = pixels.shape[:2]
    return PromptImage(pixels, ImageFrame(width, height, Affine.identity(), "", "", "photo", title=path.name))


def ask_photo(request: PhotoRequest, backend: Backend, sessions: Sessions | None = None,
              generation: GenerationConfig | None = None, cancel: threading.Event | None = None,
              history_tokens: int = 2048) -> Iterator[AskEvent]:
    """Answer ``request`` about its photos: ``token`` events, then ``audit`` (every figure unmeasured) and ``done``.

    Photos that cannot be read raise ``PhotoError`` before anything else happens.
    """
    generation = generation or GenerationConfig()
    cancel = cancel or threading.Event()
    sessions = sessions or Sessions()
    language = request.language or language_of(request.question)
    started = time.perf_counter()
    photos = [(path, read_photo(path, DEFAULT_IMAGE_PIXELS[1])) for path in request.photos]
    if backend.kind is BackendKind.NONE:
        yield AskEvent("error", {"code": "no_model", "message": NO_MODEL[language]})
        return
    backend.prepare()
    count_tokens = backend.count_tokens if backend.image_pixels() is not None else approx_tokens
    images = [_image(path, pixels) for path, pixels in photos]
    history = sessions.history(request.session_id)
    prompt = build_prompt(request.question, None, images, history, language,
                          unit_of(request.question, None, language), count_tokens, history_tokens,
                          system=SYSTEM[language])
    pieces: list[str] = []
    for piece in backend.stream(prompt, generation, cancel):
        pieces.append(piece)
        yield AskEvent("token", {"text": piece})
        if cancel.is_set():
            break
    text = "".join(pieces)
    yield AskEvent("audit", audit(text, {}, request.question).to_dict())
    sessions.add(request.session_id, Turn(request.question, text))
    yield AskEvent("done", {
        "answer": text, "language": language, "mode": "photo", "backend": backend.info(),
        "cancelled": cancel.is_set(), "video": None,
        "images": [{"caption": img.caption(i + 1, language), "thumbnail": thumbnail(img.pixels)}
                   for i, img in enumerate(images)],
        "history_turns": len(prompt.history), "dropped_history_turns": prompt.dropped_turns,
        "timings": {"total_s": round(time.perf_counter() - started, 4)},
    })
