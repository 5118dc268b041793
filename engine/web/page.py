"""The browser page at ``/ui``: upload layers, ask in Chinese, read the streamed answer, its audit and the facts.

A Gradio app mounted on the engine service (``gr.mount_gradio_app``), so ``engine serve`` serves it on the same
port. An ask goes through the service's own worker and admission (the same queue as ``/v1/ask``) and the same
``ask`` pipeline, so the page answers exactly as the API does. The element ids (``#upload``, ``#question``,
``#ask``, ``#answer``, ``#audit``, ``#facts``, ``#layers``) are the contract for tests and integrators.

Nothing is fetched from the internet: Gradio's analytics are off, and the theme uses the system's fonts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.analysis.areas import AreaUnit
from engine.analysis.classes import MEASURED
from engine.ask import AskEvent, AskRequest, ask
from engine.errors import EngineError
from engine.types import LayerSpec
from engine.web import downloads
from engine.web.uploads import layer_specs

log = logging.getLogger(__name__)

PATH = "/ui"
EXAMPLES = ["本季度耕地面积变化情况？", "疑似违规建设的分布区域？", "保护区边界是否被占用？",
            "近一年土地利用结构趋势？"]  # the seed's four scenarios
UNITS = [("亩", "mu"), ("公顷", "ha"), ("平方公里", "km2")]
UPLOAD_MAX_AGE_S = 24 * 3600
NO_ANSWER = "⚠ 模型没有给出回答；测量结果见下表。"


def _events(engine, produce: Callable[[], Iterator[AskEvent]]) -> Iterator[AskEvent]:
    """``produce``'s events through the service's queue and worker (``_Engine.events``); a refusal (queue full,
    stopping) as an ``error`` event the page shows."""
    from engine.service.errors import ServiceError

    try:
        yield from engine.events(produce)
    except ServiceError as exc:
        yield AskEvent("error", {"code": exc.code, "message": str(exc)})


def facts_rows(facts: dict | None, unit: str) -> dict:
    """Each class's area per date, in ``unit``, from the facts (no figure computed here), headed by the dates."""
    if not facts:
        return {"headers": ["地类", "前时相", "后时相"], "data": []}
    key = f"area_{unit}"
    rows = [[cls.label_zh, *(f"{facts['classes'][d][cls.key][key]:,.2f}" for d in facts["dates"])]
            for cls in MEASURED]
    return {"headers": ["地类", *facts["dates"]], "data": rows}


def audit_text(audit: dict) -> str:
    """The audit verdict and each figure's check, for people."""
    verdict = {"all_measured": "✔ 回答中的数字均来自测量", "no_figures": "回答中没有可核对的数字"}.get(
        audit.get("verdict"), f"✘ {len(audit.get('unsupported', []))} 个数字没有测量依据：" +
        "、".join(audit.get("unsupported", [])))
    lines = [f"- {'✔' if n['supported'] else '✘'} {n['text']}" + (f"（{n['source']}）" if n.get("source") else "")
             for n in audit.get("numbers", [])]
    return "\n".join([f"**数字核查：** {verdict}", *lines])


def with_dates(specs: list[LayerSpec], table) -> list[LayerSpec]:
    """The layers with the dates a person typed into the layers table (file name -> YYYY-MM-DD)."""
    rows = table.values.tolist() if hasattr(table, "values") else (table or [])
    typed = {str(r[0]): str(r[1]).strip() for r in rows if len(r) > 1 and r[1]}
    out = []
    for spec in specs:
        text = typed.get(spec.path.name, "")
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            spec = dataclasses.replace(spec, date=dt.date.fromisoformat(text))
        elif text and text != "（未知）":
            raise ValueError(f"{spec.path.name}: the date {text!r} is not YYYY-MM-DD")
        out.append(spec)
    return out


def build_page(engine, reports, uploads: Path):  # engine: the service's _Engine; reports: its ReportStore
    import gradio as gr

    def describe_uploads(files):
        if not files:
            return []
        from engine.scene.describe import describe

        try:
            specs = layer_specs([_path(f) for f in files])
        except EngineError as exc:
            return [[str(exc), "", ""]]
        rows = []
        for spec in specs:
            info = describe(spec).to_dict()
            rows.append([Path(str(spec.path)).name, info.get("date") or "（未知）",
                         info.get("sensor_label") or info.get("sensor") or ""])
        return rows

    def requested(files, table, question, unit, session) -> AskRequest:
        """The request of the page's state: the uploads, with the dates corrected in the table."""
        specs = with_dates(layer_specs([_path(f) for f in files]), table)
        return AskRequest(question=question, layers=specs, session_id=session, unit=AreaUnit(unit))

    def on_report(files, table, unit, session):
        if not files:
            yield "请先上传影像。", None
            return
        try:
            request = requested(files, table, "", unit, session)
        except (EngineError, ValueError) as exc:
            yield f"⚠ {exc}", None
            return
        yield "正在生成报告…", None
        for event in _events(engine, downloads.report_events(engine, reports, request, unit, "zh")):
            if event.kind == "done":
                zip_path = reports.zip_of(str(event.data["id"]))
                yield f"报告已生成：{event.data['patches']} 个变化图斑", str(zip_path) if zip_path else None
            elif event.kind == "error":
                yield f"⚠ {event.data.get('message', '')}", None

    def on_ask(files, table, question, unit, session):
        question = (question or "").strip()
        if not files:
            yield "请先上传影像：每个日期一个 GeoTIFF，或一个压缩的 Landsat/Sentinel-2 产品。", "", gr.skip(), None, \
                gr.skip(), gr.skip()
            return
        if not question:
            yield "请输入问题，或点击下面的示例问题。", "", gr.skip(), None, gr.skip(), gr.skip()
            return
        try:
            request = requested(files, table, question, unit, session)
        except (EngineError, ValueError) as exc:
            yield f"⚠ {exc}", "", gr.skip(), None, gr.skip(), gr.skip()
            return
        text, facts = "", None
        yield "正在读取并测量…", "", gr.skip(), None, None, None
        for event in _events(engine, lambda: ask(request, engine.backend, engine.sessions, engine.generation,
                                                  engine.cache)):
            if event.kind == "facts":
                facts = event.data
                yield "已测量，正在回答…", gr.skip(), facts_rows(facts, unit), facts, gr.skip(), gr.skip()
            elif event.kind == "token":
                text += str(event.data.get("text", ""))
                yield text, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            elif event.kind == "findings":
                path = downloads.findings_file(event.data, uploads / "answers" / session)
                picture = downloads.map_file(request.layers, facts, event.data, uploads / "answers" / session)
                yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), str(path), picture
            elif event.kind == "audit":
                shown = text if text.strip() else NO_ANSWER
                yield shown, audit_text(event.data), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            elif event.kind == "error" and not text:
                yield f"⚠ {event.data.get('message', '')}", "", gr.skip(), gr.skip(), gr.skip(), gr.skip()

    theme = gr.themes.Base(font=["system-ui", "sans-serif"], font_mono=["monospace"])  # no web fonts
    with gr.Blocks(title="县域土地利用监测", analytics_enabled=False,
                   delete_cache=(3600, UPLOAD_MAX_AGE_S)) as page:
        session = gr.State(lambda: uuid.uuid4().hex)
        facts_state = gr.State(None)
        gr.Markdown("## 县域土地利用监测\n上传同一地区不同日期的影像，用中文提问；回答中的每个数字都来自测量。")
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(label="影像（GeoTIFF，或压缩的 Landsat/Sentinel-2 产品）", file_count="multiple",
                                 file_types=[".tif", ".tiff", ".zip"], elem_id="upload")
                layers = gr.Dataframe(headers=["文件", "日期", "传感器"], interactive=True, elem_id="layers",
                                      label="引擎读到的影像（日期可改）", static_columns=[0, 2])
                question = gr.Textbox(label="问题", placeholder="例如：新增建设用地多少亩？（回车发送）", lines=1,
                                      elem_id="question")
                gr.Examples(examples=[[q] for q in EXAMPLES], inputs=[question], label="示例问题")
                ask_button = gr.Button("提问", variant="primary", elem_id="ask")
            with gr.Column(scale=2):
                answer = gr.Markdown(elem_id="answer")
                audit = gr.Markdown(elem_id="audit")
                unit = gr.Radio(UNITS, value="mu", label="面积单位", elem_id="unit")
                facts = gr.Dataframe(headers=["地类", "前时相", "后时相"], interactive=False, elem_id="facts",
                                     label="各时相地类面积")
                picture = gr.Image(label="变化图斑（最后一期真彩色）", elem_id="map", interactive=False,
                                   type="filepath")
                with gr.Row():
                    findings = gr.File(label="变化图斑（GeoJSON）", elem_id="findings", interactive=False)
                    with gr.Column():
                        report_button = gr.Button("生成报告", elem_id="report")
                        report_status = gr.Markdown(elem_id="report-status")
                        report = gr.File(label="报告（Word、Excel 图斑台账、GeoPackage）", elem_id="report-file",
                                         interactive=False)
        upload.change(describe_uploads, [upload], [layers])
        for trigger in (ask_button.click, question.submit):
            trigger(on_ask, [upload, layers, question, unit, session], [answer, audit, facts, facts_state, findings,
                                                                    picture])
        report_button.click(on_report, [upload, layers, unit, session], [report_status, report])
        unit.change(facts_rows, [facts_state, unit], [facts])
    return page, theme


def _path(item) -> str:
    return item if isinstance(item, str) else str(getattr(item, "name", item))


def mount(app, engine, reports, max_upload_bytes: int):
    """The page mounted on ``app`` at ``/ui``; uploads go under the engine's cache and expire after a day."""
    from engine.scene.overviews import cache_dir

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    uploads = cache_dir() / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(uploads)
    import gradio as gr

    page, theme = build_page(engine, reports, uploads)
    return gr.mount_gradio_app(app, page, path=PATH, max_file_size=max_upload_bytes, ssr_mode=False,
                               footer_links=[], theme=theme, allowed_paths=[str(uploads), str(reports.root)])
