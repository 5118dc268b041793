"""Every row's token count, computed before the model loads, so no row is cut at its first batch.

A row's tokens are its conversation as the model's chat template writes it, plus each image's
visual tokens: the image resized as the processor will (``smart_resize`` within the pixel
bounds), one token per ``patch_size * merge_size`` square (28 px on Qwen2/2.5-VL, 32 px on
Qwen3-VL). A row longer than ``max_length`` would be truncated through its image tokens
("Mismatch in image token count"); it is named with its length and what to change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from training.data import Row, messages_of, rendered
from training.errors import DataError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RowLength:
    row: Row
    text_tokens: int  # the conversation with one placeholder token per image
    image_tokens: int  # the visual tokens that replace those placeholders

    @property
    def tokens(self) -> int:
        return self.text_tokens + self.image_tokens


def image_tokens(width_px: int, height_px: int, image_processor) -> int:
    """Visual tokens of a ``width_px`` x ``height_px`` image after the processor's resizing."""
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

    factor = image_processor.patch_size * image_processor.merge_size
    size = image_processor.size if isinstance(image_processor.size, dict) else {}
    low = size.get("shortest_edge") or image_processor.min_pixels
    high = size.get("longest_edge") or image_processor.max_pixels
    height, width = smart_resize(height_px, width_px, factor=factor, min_pixels=low, max_pixels=high)
    return (height // factor) * (width // factor)


def row_length(row: Row, processor, cache: Path) -> RowLength:
    from PIL import Image

    text = processor.apply_chat_template(messages_of(row), tokenize=False)
    text = text[0] if isinstance(text, list) else text
    text_tokens = len(processor.tokenizer(text, add_special_tokens=False).input_ids)
    visual = 0
    for path in row.images:
        with Image.open(rendered(path, cache)) as image:  # the header only: no pixels are decoded
            visual += image_tokens(*image.size, processor.image_processor) - 1  # minus its placeholder
    return RowLength(row, text_tokens, visual)


def check_lengths(rows: list[Row], processor, max_length: int | None, cache: Path,
                  skip_bad_rows: bool = False) -> list[Row]:
    """The rows that fit in ``max_length`` tokens; the others raise ``DataError`` naming each (or are skipped)."""
    lengths = [row_length(r, processor, cache) for r in rows]
    if lengths:
        longest = max(lengths, key=lambda x: x.tokens)
        log.info("longest row: %s, %d tokens (%d of them image tokens); max_length %s", longest.row.where,
                 longest.tokens, longest.image_tokens, max_length)
    if not max_length:
        return rows
    long = [x for x in lengths if x.tokens > max_length]
    if not long:
        return rows
    problems = [f"{x.row.where}: {x.tokens} tokens ({x.image_tokens} of them image tokens) is more than "
                f"--max_length {max_length}; raise --max_length or lower --max_pixels" for x in long]
    if not skip_bad_rows:
        raise DataError(problems, len(rows))
    log.warning("skipped %d rows longer than --max_length %d; the first: %s", len(long), max_length, problems[0])
    kept = [x.row for x in lengths if x.tokens <= max_length]
    if not kept:
        raise DataError(problems, len(rows))
    return kept
