"""The page's words in Chinese and English.

Labels are ``gr.I18n`` keys the browser translates by its own language (Gradio picks ``zh``/``zh-CN`` or ``en``);
what the handlers write (status lines, the audit, table headers) follows the request's ``Accept-Language``,
Chinese unless English comes first. The answer itself is in the question's language, as everywhere.
"""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    "title": ("县域土地利用监测", "County land-use monitoring"),
    "intro": ("## 县域土地利用监测\n上传同一地区不同日期的影像（或选择服务器上的影像），用中文提问；"
              "回答中的每个数字都来自测量。"
              "三个及以上日期按时间顺序播放；普通照片（PNG/JPEG）是不做测量的自由视觉问答。",
              "## County land-use monitoring\nUpload images of one area on several dates (or pick layers on the "
              "server) and ask; every figure in an answer is measured. Three or more dates play as a time-lapse; "
              "a plain photo (PNG/JPEG) is a free visual question, with nothing measured."),
    "upload": ("影像（GeoTIFF、压缩的 Landsat/Sentinel-2 产品，或普通照片）",
               "Imagery (GeoTIFF, a zipped Landsat/Sentinel-2 product, or a plain photo)"),
    "roots": ("服务器上的影像（--root 目录）", "Layers on the server (--root folders)"),
    "layers": ("引擎读到的影像（日期和传感器可改）",
               "Layers as the engine reads them (dates and sensors can be corrected)"),
    "zones": ("保护区（可选：GeoJSON、GeoPackage、KML 或压缩的 Shapefile，任意坐标系）",
              "Protection zones (optional: GeoJSON, GeoPackage, KML or a zipped shapefile, any CRS)"),
    "timelapse": ("按日期播放（真彩色）", "The dates as a time-lapse (true colour)"),
    "question": ("问题", "Question"),
    "placeholder": ("例如：新增建设用地多少亩？（回车发送）", "e.g. How much new built-up land, in mu? (Enter sends)"),
    "examples": ("示例问题", "Example questions"),
    "ask": ("提问", "Ask"),
    "unit": ("面积单位", "Area unit"),
    "facts": ("各时相地类面积", "Area of each class per date"),
    "map": ("变化图斑（最后一期真彩色）", "Change patches (last date, true colour)"),
    "findings": ("变化图斑（GeoJSON）", "Change patches (GeoJSON)"),
    "report": ("生成报告", "Make the report"),
    "report_file": ("报告（Word、Excel 图斑台账、GeoPackage）", "Report (Word, Excel patch register, GeoPackage)"),
}
UNITS = {"mu": ("亩", "mu"), "ha": ("公顷", "ha"), "km2": ("平方公里", "km²")}

MESSAGES: dict[str, tuple[str, str]] = {
    "need_upload": ("请先上传影像：每个日期一个 GeoTIFF，或一个压缩的 Landsat/Sentinel-2 产品；也可以上传普通照片。",
                    "Upload imagery first: a GeoTIFF per date or a zipped Landsat/Sentinel-2 product, or a photo."),
    "need_question": ("请输入问题，或点击下面的示例问题。", "Type a question, or click an example below."),
    "measuring": ("正在读取并测量…", "Reading and measuring…"),
    "measured": ("已测量，正在回答…", "Measured; answering…"),
    "looking": ("模型正在看照片…", "The model is looking at the photo…"),
    "no_answer": ("⚠ 模型没有给出回答；测量结果见下表。", "⚠ The model gave no answer; the measurements are below."),
    "no_photo_answer": ("⚠ 模型没有给出回答。", "⚠ The model gave no answer."),
    "mixed": ("照片和带地理参考的影像不能一起提问：请只选其中一种。",
              "Photos and georeferenced layers cannot be asked about together: choose one kind."),
    "photo_mode": ("**自由视觉问答**：照片没有地理参考，引擎没有做任何测量；回答中的数字都未经测量，不能作为依据。",
                   "**Free visual question**: the photo has no georeference and the engine measured nothing; no "
                   "figure in the answer is measured, so none can be relied on."),
    "unknown_date": ("（未知）", "(unknown)"),
    "photo_row": ("（照片）", "(photo)"),
    "no_georeference": ("无地理参考", "no georeference"),
    "report_need_layers": ("请先上传或选择带地理参考的影像。", "Upload or pick georeferenced layers first."),
    "reporting": ("正在生成报告…", "Making the report…"),
    "class": ("地类", "Class"),
    "before": ("前时相", "Before"),
    "after": ("后时相", "After"),
    "audit": ("数字核查", "Figures checked"),
    "all_measured": ("✔ 回答中的数字均来自测量", "✔ every figure in the answer is measured"),
    "no_figures": ("回答中没有可核对的数字", "the answer has no figure to check"),
    "unsupported": ("✘ {n} 个数字没有测量依据：{figures}", "✘ {n} figures are not measured: {figures}"),
    "report_done": ("报告已生成：{patches} 个变化图斑", "Report made: {patches} change patches"),
}


def lang_of(accept_language: str | None) -> str:
    """``en`` when English comes before Chinese in the browser's ``Accept-Language``; else ``zh``."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "zh"


def say(key: str, lang: str) -> str:
    zh, en = MESSAGES[key]
    return en if lang == "en" else zh


def i18n():  # -> gr.I18n
    import gradio as gr

    zh = {key: words[0] for key, words in LABELS.items()}
    return gr.I18n(**{"zh-CN": zh, "zh": zh, "en": {key: words[1] for key, words in LABELS.items()}})


def seen_text(done: dict, lang: str) -> str:
    """What the model was shown, from the ``done`` event (its ``video`` and ``images``)."""
    en = lang == "en"
    video, images = done.get("video"), done.get("images") or []
    backend = (done.get("backend") or {}).get("backend")
    if backend == "none" or done.get("fallback"):
        return ("No model answered: the answer is written from the measurements." if en else
                "没有模型回答：回答由测量结果写成。")
    parts = []
    if video:
        dates = ", ".join(video["dates"]) if en else "、".join(video["dates"])
        parts.append(f"one video of {video['frames']} frames, one per date ({dates})" if en else
                     f"{video['frames']} 个日期组成的一段视频（{dates}）")
    if images:
        parts.append(f"{len(images)} images" if en else f"{len(images)} 幅影像")
    return ("The model was shown " + " and ".join(parts) + "." if en else "模型看到：" + "，另有".join(parts) + "。") \
        if parts else ""
