"""Loss on the assistant's turns under any chat template of the Qwen-VL family.

TRL masks the prompt through ``{% generation %}`` markers in the template, and adds them only to
templates it knows byte for byte (``trl.chat_template_utils.get_training_chat_template``). An
edited or re-saved template, a base checkpoint's, or one TRL has no copy of, has none. For those
the masks come from the model's own template instead: one user turn rendered without and with the
generation prompt gives the assistant's header; an answer rendered after it gives the turn's end
marker. The loss then covers what TRL's masks cover: each assistant turn's content and its end
marker, not its header. A template that rewrites earlier turns when later ones follow (not
prefix-preserving) cannot be trained on this way, and is refused before the model loads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from training.errors import TemplateError

log = logging.getLogger(__name__)

IGNORE = -100  # the label that takes a token out of the loss
_QUESTION, _ANSWER, _LATER = "Is there water in the image", "Yes there is water", "And built up land"


@dataclass(frozen=True)
class TurnMarkers:
    """The text around an assistant turn, as the model's own template writes it."""

    header: str  # opens the turn; the generation prompt ("<|im_start|>assistant\n")
    end: str  # closes it ("<|im_end|>\n")


@dataclass(frozen=True)
class Masking:
    """How the loss is kept to the assistant's tokens: by TRL's markers, or by the turns' token spans."""

    trl_template: str | None = None  # TRL's training template (None: the model's own has the markers)
    markers: TurnMarkers | None = None  # set when TRL cannot patch the template: spans are found from these

    @property
    def by_trl(self) -> bool:
        return self.markers is None


def _text(message: str) -> list[dict]:
    return [{"type": "text", "text": message}]


def _render(processor, messages: list[dict], generation_prompt: bool) -> str:
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)
    return text[0] if isinstance(text, list) else text


def find_markers(processor) -> TurnMarkers:
    """The assistant turn's header and end marker, read off the processor's own template.

    Raises ``TemplateError`` when the template has no generation prompt, marks no end of a turn, or
    is not prefix-preserving (rendering a later turn changes what came before).
    """
    if not getattr(processor, "chat_template", None):
        raise TemplateError("the model has no chat template (chat_template.jinja or the tokenizer's); "
                            "add one to the checkpoint folder")
    user = [{"role": "user", "content": _text(_QUESTION)}]
    answered = [*user, {"role": "assistant", "content": _text(_ANSWER)}]
    try:
        closed, opened = _render(processor, user, False), _render(processor, user, True)
        full = _render(processor, answered, False)
        later = _render(processor, [*answered, {"role": "user", "content": _text(_LATER)}], True)
    except Exception as exc:
        raise TemplateError(f"the chat template cannot render a plain conversation: {exc}") from None
    if not opened.startswith(closed) or opened == closed:
        raise TemplateError("the chat template's generation prompt does not open an assistant turn after the "
                            "conversation (add_generation_prompt adds nothing, or changes what came before)")
    if not full.startswith(opened) or not later.startswith(full):
        raise TemplateError("the chat template is not prefix-preserving: a later turn changes how earlier turns "
                            "are written, so loss masks cannot be found; fix the template (chat_template.jinja)")
    if not full.startswith(opened + _ANSWER):
        raise TemplateError("the chat template does not write an assistant turn as the generation prompt followed "
                            "by the answer, so the answer's tokens cannot be found; fix the template")
    end = full[len(opened) + len(_ANSWER):]
    if not end.strip():
        raise TemplateError("the chat template writes nothing after an assistant turn, so the model could not "
                            "learn to stop; fix the template (chat_template.jinja)")
    return TurnMarkers(header=opened[len(closed):], end=end)


def plan(processor) -> Masking:
    """TRL's own masking where TRL can patch (or needs not patch) the template, else span masking.

    Raises ``TemplateError`` (before any model is loaded) when neither can work.
    """
    from trl.chat_template_utils import get_training_chat_template

    markers = find_markers(processor)
    _check_spans(processor, markers)
    try:
        return Masking(trl_template=get_training_chat_template(processor))
    except ValueError:
        log.info("the chat template is not one TRL knows: the loss is kept to the assistant's turns by their "
                 "token spans (header %r, end %r)", markers.header, markers.end)
        return Masking(markers=markers)


def _check_spans(processor, markers: TurnMarkers) -> None:
    """The markers' tokens, found in a tokenized conversation, must cover exactly the answer and its end."""
    tokenizer = getattr(processor, "tokenizer", processor)
    user = [{"role": "user", "content": _text(_QUESTION)}]
    full = _render(processor, [*user, {"role": "assistant", "content": _text(_ANSWER)}], False)
    ids = tokenizer.encode(full, add_special_tokens=False)
    mask = assistant_mask(ids, tokenizer.encode(markers.header, add_special_tokens=False),
                          tokenizer.encode(markers.end, add_special_tokens=False))
    kept = tokenizer.decode([t for t, m in zip(ids, mask, strict=True) if m])
    if kept != _ANSWER + markers.end:
        raise TemplateError(f"the assistant turn's header {markers.header!r} is not tokenized the same inside a "
                            f"conversation, so the answer's tokens cannot be found (found {kept!r})")


def _find(ids: list[int], pattern: list[int], start: int) -> int:
    """Index of ``pattern`` in ``ids`` at or after ``start``; -1 if absent."""
    n = len(pattern)
    for i in range(start, len(ids) - n + 1):
        if ids[i:i + n] == pattern:
            return i
    return -1


def assistant_mask(ids: list[int], header: list[int], end: list[int]) -> list[int]:
    """1 on each assistant turn's content and end marker, 0 elsewhere (the header is prompt).

    >>> assistant_mask([7, 1, 2, 5, 9, 8, 1, 2, 6, 9], header=[1, 2], end=[9])
    [0, 0, 0, 1, 1, 0, 0, 0, 1, 1]

    A turn cut short (no end marker) is kept to the end of the sequence.
    """
    mask = [0] * len(ids)
    at = _find(ids, header, 0)
    while at >= 0:
        begin = at + len(header)
        close = _find(ids, end, begin)
        stop = len(ids) if close < 0 else close + len(end)
        mask[begin:stop] = [1] * (stop - begin)
        at = _find(ids, header, stop)
    return mask


class SpanMaskingCollator:
    """TRL's vision collator, with the labels kept to the assistant's turns by their token spans."""

    def __init__(self, processor, markers: TurnMarkers, max_length: int | None, pad_to_multiple_of=None):
        from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

        self.collate = DataCollatorForVisionLanguageModeling(processor=processor, max_length=max_length,
                                                             pad_to_multiple_of=pad_to_multiple_of)
        tokenizer = getattr(processor, "tokenizer", processor)
        self.header = tokenizer.encode(markers.header, add_special_tokens=False)
        self.end = tokenizer.encode(markers.end, add_special_tokens=False)

    def __call__(self, examples: list[dict]) -> dict:
        import torch

        batch = self.collate(examples)
        masks = [assistant_mask(row, self.header, self.end) for row in batch["input_ids"].tolist()]
        batch["labels"][torch.tensor(masks, dtype=torch.bool).logical_not()] = IGNORE
        return batch
