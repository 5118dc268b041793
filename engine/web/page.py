"""The browser page at ``/ui``: upload or pick layers, ask in Chinese, read the streamed answer, its audit and
the facts; three dates or more play as a time-lapse; a plain photo is a free visual question.

A Gradio app mounted on the engine service (``gr.mount_gradio_app``), so ``engine serve`` serves it on the same
port; what the buttons do is in ``engine.web.actions``. The element ids (``#upload``, ``#roots``, ``#layers``,
``#zones``, ``#timelapse``, ``#question``, ``#ask``, ``#seen``, ``#answer``, ``#audit``, ``#unit``, ``#facts``,
``#map``, ``#findings``, ``#report``, ``#report-status``, ``#report-file``) are the contract for tests and
integrators.
Labels follow the browser's language (Chinese or English, ``engine.web.text``).

Nothing is fetched from the internet: Gradio's analytics are off, and the theme uses the system's fonts.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from types import SimpleNamespace

from engine.web.actions import UPLOAD_MAX_AGE_S, Actions, facts_rows
from engine.web.roots import layers_under
from engine.web.text import LABELS, UNITS, i18n

log = logging.getLogger(__name__)

PATH = "/ui"
EXAMPLES = ["本季度耕地面积变化情况？", "疑似违规建设的分布区域？", "保护区边界是否被占用？",
            "近一年土地利用结构趋势？"]  # the seed's four scenarios
FILE_TYPES = [".tif", ".tiff", ".zip", ".png", ".jpg", ".jpeg"]


def build_page(engine, reports, uploads: Path):  # engine: the service's _Engine; reports: its ReportStore
    import gradio as gr

    t = i18n()
    picks = layers_under(engine.settings.roots)
    ui = SimpleNamespace()
    theme = gr.themes.Base(font=["system-ui", "sans-serif"], font_mono=["monospace"])  # no web fonts
    with gr.Blocks(title=LABELS["title"][0], analytics_enabled=False,
                   delete_cache=(3600, UPLOAD_MAX_AGE_S)) as page:
        session = gr.State(lambda: uuid.uuid4().hex)
        ui.facts_state = gr.State(None)
        gr.Markdown(t("intro"))
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(label=t("upload"), file_count="multiple", file_types=FILE_TYPES, elem_id="upload")
                picked = gr.Dropdown(choices=picks, multiselect=True, label=t("roots"), elem_id="roots",
                                     visible=bool(picks))
                ui.layers = gr.Dataframe(headers=["文件 / file", "日期 / date", "传感器 / sensor"], interactive=True,
                                         elem_id="layers", label=t("layers"), static_columns=[0])
                zones = gr.File(label=t("zones"), file_count="single", elem_id="zones",
                                file_types=[".geojson", ".json", ".gpkg", ".kml", ".zip"])
                ui.timelapse = gr.Image(label=t("timelapse"), elem_id="timelapse", interactive=False,
                                        type="filepath", visible=False)
                question = gr.Textbox(label=t("question"), placeholder=t("placeholder"), lines=1,
                                      elem_id="question")
                gr.Examples(examples=[[q] for q in EXAMPLES], inputs=[question], label=t("examples"))
                ask_button = gr.Button(t("ask"), variant="primary", elem_id="ask")
            with gr.Column(scale=2):
                ui.seen = gr.Markdown(elem_id="seen")
                ui.answer = gr.Markdown(elem_id="answer")
                ui.audit = gr.Markdown(elem_id="audit")
                unit = gr.Radio([(f"{zh} ({en})", key) for key, (zh, en) in UNITS.items()], value="mu", label=t("unit"),
                                elem_id="unit")
                ui.facts = gr.Dataframe(facts_rows(None, "mu")["data"], headers=facts_rows(None, "mu")["headers"],
                                        interactive=False, elem_id="facts", label=t("facts"))
                ui.map = gr.Image(label=t("map"), elem_id="map", interactive=False, type="filepath")
                with gr.Row():
                    ui.findings = gr.File(label=t("findings"), elem_id="findings", interactive=False)
                    with gr.Column():
                        report_button = gr.Button(t("report"), elem_id="report")
                        ui.report_status = gr.Markdown(elem_id="report-status")
                        ui.report_file = gr.File(label=t("report_file"), elem_id="report-file", interactive=False)
        actions = Actions(engine, reports, uploads, ui)
        answer_outputs = [ui.answer, ui.audit, ui.seen, ui.facts, ui.facts_state, ui.findings, ui.map]
        for trigger in (upload.change, picked.change):
            trigger(actions.describe, [upload, picked], [ui.layers, ui.timelapse])
        ui.layers.input(actions.replay, [upload, picked, ui.layers], [ui.timelapse])
        for trigger in (ask_button.click, question.submit):
            trigger(actions.ask, [upload, picked, ui.layers, zones, question, unit, session], answer_outputs)
        report_button.click(actions.report, [upload, picked, ui.layers, zones, unit, session],
                            [ui.report_status, ui.report_file])
        unit.change(actions.refacts, [ui.facts_state, unit], [ui.facts])
        if engine.settings.roots:
            page.load(actions.refresh_roots, None, [picked])  # files added or removed since the service started
    return page, theme, t


def mount(app, engine, reports, max_upload_bytes: int):
    """The page mounted on ``app`` at ``/ui``; uploads go under the engine's cache and expire after a day."""
    from engine.scene.overviews import cache_dir

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    uploads = cache_dir() / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(uploads)
    import gradio as gr

    page, theme, translations = build_page(engine, reports, uploads)
    return gr.mount_gradio_app(app, page, path=PATH, max_file_size=max_upload_bytes, ssr_mode=False,
                               footer_links=[], theme=theme, i18n=translations,
                               allowed_paths=[str(uploads), str(reports.root)])
