"""Who answers an evaluation question: a local model, an OpenAI-compatible server, or the measurements only.

``FactsAnswerer`` (``--backend none``) answers the dataset builder's questions from the row's own
facts, with the builder's rules read the other way round: both sides come from the same facts, so
its score checks the builder and the answer scoring against each other (it should be near 100 %).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

from engine.analysis.areas import AreaUnit, format_area
from training.answers import count_bin
from training.dataset.questions import NAMES, PRESENT_SHARE, URBAN_SHARE


class Answerer(Protocol):
    name: str

    def answer(self, row: dict, images: list[Path]) -> str:
        """One question of a question set (its row), with the row's images."""

    def chat(self, messages: list[dict], images: list[Path]) -> str:
        """The next turn of a conversation (TRL-style content parts; ``{"type": "image"}`` in order of ``images``)."""


def _classes_in(question: str) -> list[str]:
    """Class keys named in ``question``, in the order they appear."""
    found = []
    for key, names in NAMES.items():
        positions = [question.find(n) for n in names if n in question]
        if positions:
            found.append((min(positions), key))
    return [key for _, key in sorted(found)]


def _unit_in(question: str) -> AreaUnit:
    """The unit the question asks in (the engine's quantity reader: "What" does not name hectares)."""
    from engine.answer.quantities import area_unit_named

    return AreaUnit(area_unit_named(question) or AreaUnit.HA)


class FactsAnswerer:
    """Answers from the row's ``facts`` (no model, no image)."""

    name = "measurements only"

    def answer(self, row: dict, images: list[Path]) -> str:
        facts = json.loads(row.get("facts") or "{}")
        if not facts:
            return ""
        question, kind = row["question"], row.get("question_type", "")
        zh = row.get("language") == "zh" or any("\u4e00" <= ch <= "\u9fff" for ch in question)
        areas = facts["classes"][facts["dates"][-1]]
        area = {k: v["area_m2"] for k, v in areas.items()}
        valid = sum(area.values()) or 1.0
        yes, no = ("是", "否") if zh else ("yes", "no")
        named = _classes_in(question)
        if kind == "presence" and named:
            return yes if area[named[0]] >= PRESENT_SHARE * valid else no
        if kind == "comparison" and len(named) >= 2:
            return yes if area[named[0]] > area[named[1]] else no
        if kind == "rural_urban":
            urban = area["built_up"] / valid >= URBAN_SHARE
            return ("城镇" if urban else "乡村") if zh else ("urban" if urban else "rural")
        if kind == "count":  # new built-up patches: the engine's change patches
            patches = sum(t.get("patches", 0) for t in facts.get("transitions", []) if t["to"] == "built_up")
            return str(patches) if zh else count_bin(patches)
        if kind == "area" and named:
            return format_area(area[named[0]], _unit_in(question), "zh" if zh else "en")
        if kind == "change":
            gained = sum(t["area_m2"] for t in facts.get("transitions", []) if t["to"] == "built_up")
            return format_area(gained, _unit_in(question), "zh" if zh else "en")
        if kind == "violation":
            taken = sum(t["area_m2"] for t in facts.get("transitions", [])
                        if t["from"] == "cropland_grassland" and t["to"] == "built_up")
            return yes if taken > 0 else no
        if kind == "zone":
            gained = sum(t["area_m2"] for z in facts.get("zones", []) for t in z.get("transitions", [])
                         if t["to"] == "built_up")
            return yes if gained > 0 else no
        return ""

    def chat(self, messages: list[dict], images: list[Path]) -> str:
        raise ValueError("the measurements-only answerer answers question sets with facts, not dialogues")


class LocalAnswerer:
    """A model folder (base, merged, or a training stage's adapter) answering greedily from the images."""

    def __init__(self, model_id: str, max_new_tokens: int = 32, pixels: int | None = None):
        from training import merge, modeling

        path = Path(model_id)
        if (path / "adapter_config.json").is_file():  # a training stage: base + its chain of adapters
            self.model, self.processor, _ = merge.merge(merge.adapter_chain(path), None, "float32")
        else:
            self.model, self.processor = modeling.load_model(modeling.resolve(model_id))
        if pixels:
            modeling.set_image_pixels(self.processor, pixels, pixels)
        self.model.eval()
        self.name, self.max_new_tokens = str(model_id), max_new_tokens

    def answer(self, row: dict, images: list[Path]) -> str:
        content = [{"type": "image"} for _ in images] + [{"type": "text", "text": row["question"]}]
        return self.chat([{"role": "user", "content": content}], images)

    def chat(self, messages: list[dict], images: list[Path]) -> str:
        import torch
        from PIL import Image

        prompt = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = self.processor(text=[prompt], images=[Image.open(p).convert("RGB") for p in images] or None,
                                return_tensors="pt").to(self.model.device)
        with torch.no_grad():
            ids = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        return self.processor.tokenizer.decode(ids[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


class OpenAIAnswerer:
    """An OpenAI-compatible server (vLLM, SGLang, a hosted API) answering from the images."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, max_new_tokens: int = 64):
        self.base_url, self.model, self.api_key, self.max_new_tokens = base_url, model, api_key, max_new_tokens
        self.name = f"{model} at {base_url}"

    def answer(self, row: dict, images: list[Path]) -> str:
        content = [{"type": "image"} for _ in images] + [{"type": "text", "text": row["question"]}]
        return self.chat([{"role": "user", "content": content}], images)

    def chat(self, messages: list[dict], images: list[Path]) -> str:
        from training.evaluation.openai_chat import complete, image_part

        pending = iter(images)
        converted = []
        for message in messages:
            parts = [image_part(next(pending)) if p.get("type") == "image" else {"type": "text", "text": p["text"]}
                     for p in message["content"]]
            converted.append({"role": message["role"], "content": parts})
        return complete(self.base_url, self.model, converted, self.api_key, self.max_new_tokens)
