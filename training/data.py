"""Training data: the seed's LLaVA-style rows, checked before any GPU work, as TRL datasets.

A row is ``{"id", "image": str | [str], "conversations": [{"from": "human"|"user", "value": ...},
{"from": "gpt"|"assistant", "value": ...}, ...]}`` (``role``/``content`` keys work too), with
``<image>`` or ``<ImageHere>`` placeholders where the images go. Multi-image and multi-turn rows
are fine. GRPO rows may instead carry ``question`` and ``answer`` columns, plus optional
``question_type`` and ``facts``. Every bad row is named with its file and row number; with
``skip_bad_rows`` they are left out and counted.

Images may be PNG/JPEG or GeoTIFF. A GeoTIFF is rendered by the engine's renderer into a PNG
once (cached beside the run), so training sees exactly what inference sees.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from training.errors import DataError, DataFileError

log = logging.getLogger(__name__)

PLACEHOLDER = re.compile(r"<image>|<ImageHere>")
USER_ROLES, ASSISTANT_ROLES = {"human", "user"}, {"gpt", "assistant"}
RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".jp2"}
PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


def read_rows(path: Path) -> list[dict]:
    """The rows of a JSON list or JSON-lines file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            rows = json.loads(text)
        else:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{path}: not JSON or JSON lines (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(rows, list):
        raise DataFileError(f"{path}: expected a list of rows")
    return rows


@dataclass(frozen=True)
class Turn:
    role: str  # user | assistant
    text: str


@dataclass(frozen=True)
class Row:
    """One checked row: its images (paths), its turns, and GRPO's columns when present."""

    id: str
    images: tuple[Path, ...]
    turns: tuple[Turn, ...]
    question_type: str | None = None
    facts: str | None = None  # JSON text of the measured facts (a column TRL hands to rewards)
    where: str = ""  # "file:row N (id)", for messages about it

    @property
    def question(self) -> str:
        return PLACEHOLDER.sub("", self.turns[0].text).strip()

    @property
    def answer(self) -> str:
        return self.turns[1].text.strip()


def check_row(raw: object, index: int, source: str, image_folder: Path) -> Row | str:
    """A ``Row``, or what is wrong with it ("file:row N (id): problem")."""
    where = f"{source}:row {index + 1}"
    if not isinstance(raw, dict):
        return f"{where}: not an object"
    where += f" ({raw['id']})" if raw.get("id") is not None else ""
    images = raw.get("image", raw.get("images"))
    images = [] if images is None else [images] if isinstance(images, str) else images
    if not isinstance(images, list) or not all(isinstance(i, str) and i for i in images):
        return f"{where}: 'image' must be a path or a list of paths"
    if raw.get("video"):
        return f"{where}: videos are not supported for land-use training; give image frames instead"
    paths = tuple((image_folder / i) if not Path(i).is_absolute() else Path(i) for i in images)
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        return f"{where}: missing image {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
    conversations = raw.get("conversations")
    if conversations is None and "question" in raw:
        conversations = [{"from": "human", "value": "<image>" * len(paths) + str(raw["question"])},
                         {"from": "gpt", "value": str(raw.get("answer", ""))}]
    if not isinstance(conversations, list) or len(conversations) < 2:
        return f"{where}: 'conversations' must hold at least a question and an answer"
    turns = []
    for k, message in enumerate(conversations):
        role = str(message.get("from", message.get("role", ""))).lower() if isinstance(message, dict) else ""
        text = message.get("value", message.get("content")) if isinstance(message, dict) else None
        want = USER_ROLES if k % 2 == 0 else ASSISTANT_ROLES
        if role not in want or not isinstance(text, str):
            wanted = "a question (human/user)" if k % 2 == 0 else "an answer (gpt/assistant)"
            return f"{where}: turn {k + 1} should be {wanted} with text; turns must alternate, starting with the user"
        if k % 2 == 1 and not text.strip():
            return f"{where}: turn {k + 1} is an empty answer"
        turns.append(Turn("user" if k % 2 == 0 else "assistant", text))
    if len(turns) % 2:
        return f"{where}: the last turn is a question without an answer"
    placeholders = sum(len(PLACEHOLDER.findall(t.text)) for t in turns if t.role == "user")
    if placeholders != len(paths) and not (placeholders == 0 and len(paths) == 1):
        return f"{where}: {placeholders} image placeholders (<image>/<ImageHere>) for {len(paths)} images"
    if placeholders == 0 and paths:  # one image, no placeholder: it goes before the first question
        turns[0] = Turn("user", "<image>" + turns[0].text)
    facts = raw.get("facts")
    return Row(id=str(raw.get("id", index)), images=paths, turns=tuple(turns),
               question_type=raw.get("question_type"),
               facts=json.dumps(facts, ensure_ascii=False) if isinstance(facts, dict) else facts, where=where)


def load_rows(data_path: Path, image_folder: Path | None = None, skip_bad_rows: bool = False) -> list[Row]:
    """Every row of ``data_path`` checked; bad rows raise ``DataError`` (or are skipped and counted)."""
    data_path = Path(data_path)
    folder = Path(image_folder) if image_folder else data_path.parent
    raw_rows = read_rows(data_path)
    rows, problems = [], []
    for index, raw in enumerate(raw_rows):
        checked = check_row(raw, index, data_path.name, folder)
        (problems if isinstance(checked, str) else rows).append(checked)
    if problems and not skip_bad_rows:
        raise DataError(problems, len(raw_rows))
    if problems:
        log.warning("skipped %d bad rows of %d in %s; the first: %s", len(problems), len(raw_rows), data_path,
                    problems[0])
    if not rows:
        raise DataError(problems or [f"{data_path}: no rows"], len(raw_rows))
    return rows


def content_parts(text: str) -> list[dict]:
    """A user turn as TRL's multimodal content: image parts where the placeholders were, text between."""
    parts: list[dict] = []
    for k, piece in enumerate(PLACEHOLDER.split(text)):
        if k:
            parts.append({"type": "image"})
        if piece.strip():
            parts.append({"type": "text", "text": piece.strip()})
    return parts


def messages_of(row: Row) -> list[dict]:
    return [{"role": t.role, "content": content_parts(t.text) if t.role == "user" else
             [{"type": "text", "text": t.text.strip()}]} for t in row.turns]


def rendered(path: Path, cache: Path) -> Path:
    """``path`` itself for a picture; a GeoTIFF (or other raster) rendered to a cached PNG by the engine."""
    if path.suffix.lower() in PICTURE_SUFFIXES:
        return path
    if path.suffix.lower() not in RASTER_SUFFIXES:
        return path  # PIL decides; an unreadable image fails when it is loaded
    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    out = cache / f"{path.stem}-{key}.png"
    if not out.exists():
        from engine.scene.layer import open_layer
        from engine.types import LayerSpec

        save_true_colour(open_layer(LayerSpec(path=path)), None, out)
    return out


def save_true_colour(product, extent, out: Path, config=None) -> Path:
    """The engine's true-colour rendering of ``extent`` (None: all) of ``product``, written atomically as PNG."""
    from PIL import Image

    from engine.scene.render import Composite, render_composites

    _, (tile,) = render_composites(product, extent, [Composite.TRUE_COLOR], config)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.png")
    Image.fromarray(tile.image).save(tmp)
    tmp.replace(out)
    return out


def _image_paths(rows: Iterable[Row], cache: Path) -> list[list[str]]:
    return [[str(rendered(p, cache)) for p in row.images] for row in rows]


def sft_dataset(rows: list[Row], cache: Path):  # -> datasets.Dataset
    """Columns ``messages`` (conversational, multimodal) and ``images`` (decoded lazily from the files)."""
    from datasets import Dataset, Image, Sequence

    data = Dataset.from_dict({"messages": [messages_of(r) for r in rows], "images": _image_paths(rows, cache)})
    return data.cast_column("images", Sequence(Image()))


def grpo_dataset(rows: list[Row], cache: Path, tokenizer=None, max_question_tokens: int | None = None):
    """Columns ``prompt`` (the first question, with its images), ``images``, ``question``, ``answer``,
    ``question_type`` and ``facts`` (what the rewards read).

    ``max_question_tokens`` shortens a long question's *text* from the left; image tokens are never cut
    (TRL would otherwise truncate the prompt and break the image placeholders).
    """
    from datasets import Dataset, Image, Sequence

    questions = []
    for row in rows:
        text = row.turns[0].text
        if tokenizer is not None and max_question_tokens:
            text = _shorten(text, tokenizer, max_question_tokens)
        questions.append(text)
    data = Dataset.from_dict({
        "prompt": [[{"role": "user", "content": content_parts(q)}] for q in questions],
        "images": _image_paths(rows, cache),
        "question": [r.question for r in rows],
        "answer": [r.answer for r in rows],
        "question_type": [r.question_type or "" for r in rows],
        "facts": [r.facts or "" for r in rows],
    })
    return data.cast_column("images", Sequence(Image()))


def _shorten(text: str, tokenizer, max_tokens: int) -> str:
    """Keep the last ``max_tokens`` text tokens of each text piece; placeholders stay where they are."""
    pieces = PLACEHOLDER.split(text)
    marks = PLACEHOLDER.findall(text)
    budget = max_tokens
    kept = []
    for piece in reversed(pieces):
        ids = tokenizer(piece, add_special_tokens=False)["input_ids"]
        if len(ids) <= budget:
            kept.append(piece)
            budget -= len(ids)
            continue
        take = budget
        while take > 0:  # a cut inside a character decodes to U+FFFD and re-tokenises longer: cut further
            text = tokenizer.decode(ids[len(ids) - take:]).lstrip("\ufffd")
            if len(tokenizer(text, add_special_tokens=False)["input_ids"]) <= budget:
                break
            take -= 1
        kept.append(text if take > 0 else "")
        budget = 0
    kept.reverse()
    out = kept[0]
    for mark, piece in zip(marks, kept[1:], strict=True):
        out += mark + piece
    return out
