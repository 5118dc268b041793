"""The prompt: a system rule, the measured facts as a compact table, the images by date, history, the question.

With three or more dates, the dates' true-colour images can go to a model that takes video as the frames of one
video (a time-lapse, ``time_lapse``), their dates named in the text; the false-colour images stay stills.

The system prompt is in the question's language and says the one rule that
sets this product apart: every number comes from the facts table. History is
kept within a token budget, oldest turns dropped first. Backends turn a
``Prompt`` into their own message format (transformers chat template, or
OpenAI chat messages with base64 images).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from affine import Affine

from engine.analysis.areas import AreaUnit, format_area
from engine.analysis.classes import MEASURED, LandCover
from engine.analysis.facts import Facts

SYSTEM = {
    "zh": ("你是县级自然资源局的土地利用监测助手。"
           "你会看到同一区域不同日期的卫星影像（真彩色和假彩色）以及引擎测量得到的事实表。"
           "规则：回答中的每一个数字（面积、百分比、图斑数）都必须直接来自事实表，可以换算单位，但不得估算或编造；"
           "事实表没有的数字就不要写。“耕地和草地”是一类（影像无法区分二者），不要把它称为耕地。"
           "标为不可测量的日期不要报告面积。用简洁的中文回答，给出面积单位。"
           "如需指出影像中的位置，请输出 JSON："
           "{\"bbox_2d\": [x1, y1, x2, y2], \"label\": \"类别\", \"image\": 影像序号}，坐标为该影像的像素坐标。"),
    "en": ("You are the land-use monitoring assistant of a county natural-resources bureau. You see satellite images "
           "of one area on several dates (true and false colour) and a table of facts measured by the engine. "
           "Rule: every number in your answer (areas, percentages, patch counts) must come straight from the facts "
           "table; you may convert units but never estimate or invent; if a number is not in the table, do not "
           "write one. \"Cropland and grassland\" is one class (the imagery cannot tell them apart): never call it "
           "cropland alone. Report no area for a date marked not measurable. Answer briefly with area units. "
           "To point at a place in an image, write JSON "
           "{\"bbox_2d\": [x1, y1, x2, y2], \"label\": \"class\", \"image\": image number} in that image's pixels."),
}


DEFAULT_IMAGE_PIXELS = (256 * 28 * 28, 1280 * 28 * 28)  # (min, max) pixels of one image, as Qwen's processors


@dataclass(frozen=True)
class ImageFrame:
    """Where an image sits on the map: its size, geotransform, CRS and what it shows (``composite``:
    ``true_color``, ``false_color``, or ``photo``: a picture with no place on the map)."""

    width: int
    height: int
    transform: Affine  # image pixel -> grid CRS (identity for a photo)
    crs: str
    date: str
    composite: str
    title: str = ""  # a photo's file name


@dataclass(frozen=True)
class PromptImage:
    """One image the model sees, with where it is on the map."""

    pixels: np.ndarray  # uint8 (height, width, 3)
    frame: ImageFrame

    def caption(self, number: int, language: str) -> str:
        if self.frame.composite == "photo":
            if language == "zh":
                return (f"照片{number}：{self.frame.title}，{self.frame.width}×{self.frame.height} 像素"
                        "（无地理参考，未测量）")
            return (f"Photo {number}: {self.frame.title}, {self.frame.width}x{self.frame.height} px "
                    "(no georeference, not measured)")
        if language == "zh":
            kind = "真彩色" if self.frame.composite == "true_color" else "假彩色（近红外-红-绿，植被呈红色）"
            return f"影像{number}：{self.frame.date} {kind}，{self.frame.width}×{self.frame.height} 像素"
        kind = "true colour" if self.frame.composite == "true_color" else "false colour (NIR-red-green)"
        return f"Image {number}: {self.frame.date} {kind}, {self.frame.width}x{self.frame.height} px"


@dataclass(frozen=True)
class PromptVideo:
    """The dates' true-colour images as the frames of one video, in date order (a time-lapse)."""

    frames: list[PromptImage]

    @property
    def dates(self) -> list[str]:
        return [f.frame.date for f in self.frames]

    def caption(self, language: str) -> str:
        if language == "zh":
            return f"视频：{len(self.frames)} 帧真彩色，每个日期一帧，按时间顺序依次为 {'、'.join(self.dates)}"
        return f"Video: {len(self.frames)} true-colour frames, one per date, in order: {', '.join(self.dates)}"


MIN_TIME_LAPSE_DATES = 3


def time_lapse(images: list[PromptImage]) -> tuple[PromptVideo | None, list[PromptImage]]:
    """With three or more dates: their true-colour images as one video, and the other images as stills.

    Example: true and false colour of 2022, 2023 and 2024 -> a video of the three true-colour images (date order)
    and the three false-colour stills; two dates -> no video, the images unchanged.
    """
    frames = sorted((i for i in images if i.frame.composite == "true_color"), key=lambda i: i.frame.date)
    if len({f.frame.date for f in frames}) < MIN_TIME_LAPSE_DATES:
        return None, images
    return PromptVideo(frames), [i for i in images if i.frame.composite != "true_color"]


@dataclass
class Turn:
    question: str
    answer: str


@dataclass
class Prompt:
    """Everything one answer is generated from."""

    system: str
    history: list[Turn]
    images: list[PromptImage]
    text: str  # image captions, facts table and the question
    question: str
    language: str
    unit: AreaUnit
    facts: Facts | None  # None: a photo, nothing measured
    dropped_turns: int = 0
    notes: list[str] = field(default_factory=list)
    video: PromptVideo | None = None  # shown before the images


def facts_table(facts: Facts, unit: AreaUnit, language: str) -> str:
    """The facts as compact lines, areas in ``unit`` (the numbers the answer may use)."""
    zh = language == "zh"
    area = lambda m2: format_area(m2, unit, language)  # noqa: E731
    label = lambda key: LandCover.from_key(key).label_zh if zh else LandCover.from_key(key).label_en  # noqa: E731
    lines = ["事实表（引擎测量）：" if zh else "Facts (measured by the engine):"]
    lines.append(("范围面积 " if zh else "extent area ") + area(facts.area_m2)
                 + (f"；日期 {', '.join(facts.dates)}" if zh else f"; dates {', '.join(facts.dates)}"))
    header = "地类" if zh else "class"
    lines.append(" | ".join([header, *facts.dates]))
    for cls in MEASURED:
        cells = []
        for d in facts.per_date:
            c = d.classes[cls.key]
            cells.append(f"{area(c.area_m2)} ({c.fraction * 100:.1f}%)" if d.measurable else
                         ("不可测量" if zh else "not measurable"))
        lines.append(" | ".join([label(cls.key), *cells]))
    lines.append(("有效像元比例 " if zh else "valid share ")
                 + ", ".join(f"{d.date} {d.valid_fraction * 100:.1f}%" for d in facts.per_date))
    if facts.transitions:
        lines.append("变化（前→后，面积，图斑数）：" if zh else "Changes (from -> to, area, patches):")
        for t in facts.transitions:
            lines.append(f"{label(t.class_from)} -> {label(t.class_to)}: {area(t.area_m2)}, {t.patches}")
    for step in facts.intervals:
        moves = ", ".join(f"{label(k)} {v['share_change_points']:+.1f}" for k, v in step["classes"].items())
        what = "占比变化，百分点" if zh else "share change, points"
        lines.append(f"{step['date_from']} -> {step['date_to']} ({what}): {moves}")
    for z in facts.zones:
        violations = z.get("violations") or []
        desc = "; ".join(f"{v['kind']} {label(v['class_from'])}->{label(v['class_to'])} {area(float(v['area_m2']))}"
                         for v in violations) or ("无疑似违规" if zh else "no suspected violation")
        lines.append(f"{'区域' if zh else 'zone'} {z.get('name')}: {desc}")
    return "\n".join(lines)


def kept_history(history: list[Turn], count_tokens: Callable[[str], int], budget_tokens: int) -> list[Turn]:
    """The most recent turns within ``budget_tokens``; older ones are dropped first."""
    kept: list[Turn] = []
    used = 0
    for turn in reversed(history):
        cost = count_tokens(turn.question) + count_tokens(turn.answer)
        if used + cost > budget_tokens:
            break
        kept.insert(0, turn)
        used += cost
    return kept


def build_prompt(question: str, facts: Facts | None, images: list[PromptImage], history: list[Turn], language: str,
                 unit: AreaUnit, count_tokens: Callable[[str], int], history_budget_tokens: int = 2048,
                 video: PromptVideo | None = None, system: str | None = None) -> Prompt:
    """The prompt for ``question``; history beyond ``history_budget_tokens`` is dropped, oldest first.

    ``facts`` None: nothing was measured (a photo), and ``system`` says so instead of the facts rule."""
    kept = kept_history(history, count_tokens, history_budget_tokens)
    captions = "\n".join([*([video.caption(language)] if video else []),
                          *(img.caption(i + 1, language) for i, img in enumerate(images))])
    label = "问题：" if language == "zh" else "Question: "
    table = facts_table(facts, unit, language) if facts is not None else ""
    text = "\n\n".join(filter(None, [captions, table, label + question]))
    return Prompt(system=system or SYSTEM[language], history=kept, images=images, text=text, question=question,
                  language=language, unit=unit, facts=facts, dropped_turns=len(history) - len(kept), video=video)


def approx_tokens(text: str) -> int:
    """A tokenizer-free estimate: about one token per CJK character and per four other characters."""
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return cjk + (len(text) - cjk + 3) // 4
