"""The browser page at ``/ui``: upload layers, ask in Chinese, read the streamed answer, its audit and the facts.

A Gradio app mounted on the engine service (``gr.mount_gradio_app``), so ``engine serve`` serves it on the same
port. An ask goes through the service's own worker and admission (the same queue as ``/v1/ask``) and the same
``ask`` pipeline, so the page answers exactly as the API does. The element ids (``#upload``, ``#question``,
``#ask``, ``#answer``, ``#audit``, ``#facts``, ``#layers``) are the contract for tests and integrators.

Nothing is fetched from the internet: Gradio's analytics are off, and the theme uses the system's fonts.
"""

from __future__ import annotations

import logging
import os
import queue
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.analysis.areas import AreaUnit
from engine.analysis.classes import MEASURED
from engine.ask import AskEvent, AskRequest, ask
from engine.errors import EngineError
from engine.web.uploads import layer_specs

log = logging.getLogger(__name__)

PATH = "/ui"
EXAMPLES = ["本季度耕地面积变化情况？", "疑似违规建设的分布区域？", "保护区边界是否被占用？",
            "近一年土地利用结构趋势？"]  # the seed's four scenarios
UNITS = [("亩", "mu"), ("公顷", "ha"), ("平方公里", "km2")]
UPLOAD_MAX_AGE_S = 24 * 3600


def _events(engine, produce: Callable[[], Iterator[AskEvent]]) -> Iterator[AskEvent]:
    """``produce``'s events, run by the service's worker after admission (a full queue: an ``error`` event)."""
    from engine.service.errors import ServiceError

    try:
        engine.admit()
    except ServiceError as exc:
        yield AskEvent("error", {"code": exc.code, "message": str(exc)})
        return
    events: queue.Queue[AskEvent | None] = queue.Queue()

    def job() -> None:
        try:
            engine.run(produce, events.put)
        finally:
            engine.release()

    engine.worker.submit(job)
    while (event := events.get()) is not None:
        yield event


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


def build_page(engine):  # engine: the service's _Engine
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

    def on_ask(files, question, unit, session):
        question = (question or "").strip()
        if not files:
            yield "请先上传影像：每个日期一个 GeoTIFF，或一个压缩的 Landsat/Sentinel-2 产品。", "", gr.skip(), None
            return
        if not question:
            yield "请输入问题，或点击下面的示例问题。", "", gr.skip(), None
            return
        try:
            specs = layer_specs([_path(f) for f in files])
        except EngineError as exc:
            yield f"⚠ {exc}", "", gr.skip(), None
            return
        request = AskRequest(question=question, layers=specs, session_id=session, unit=AreaUnit(unit))
        text, facts = "", None
        yield "正在读取并测量…", "", gr.skip(), None
        for event in _events(engine, lambda: ask(request, engine.backend, engine.sessions, engine.generation,
                                                  engine.cache)):
            if event.kind == "facts":
                facts = event.data
                yield "已测量，正在回答…", gr.skip(), facts_rows(facts, unit), facts
            elif event.kind == "token":
                text += str(event.data.get("text", ""))
                yield text, gr.skip(), gr.skip(), gr.skip()
            elif event.kind == "audit":
                yield text, audit_text(event.data), gr.skip(), gr.skip()
            elif event.kind == "error" and not text:
                yield f"⚠ {event.data.get('message', '')}", "", gr.skip(), gr.skip()

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
                layers = gr.Dataframe(headers=["文件", "日期", "传感器"], interactive=False, elem_id="layers",
                                      label="引擎读到的影像")
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
        upload.change(describe_uploads, [upload], [layers])
        for trigger in (ask_button.click, question.submit):
            trigger(on_ask, [upload, question, unit, session], [answer, audit, facts, facts_state])
        unit.change(facts_rows, [facts_state, unit], [facts])
    return page, theme


def _path(item) -> str:
    return item if isinstance(item, str) else str(getattr(item, "name", item))


def mount(app, engine, max_upload_bytes: int):
    """The page mounted on ``app`` at ``/ui``; uploads go under the engine's cache and expire after a day."""
    from engine.scene.overviews import cache_dir

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    uploads = cache_dir() / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(uploads)
    import gradio as gr

    page, theme = build_page(engine)
    return gr.mount_gradio_app(app, page, path=PATH, max_file_size=max_upload_bytes, ssr_mode=False,
                               footer_links=[], theme=theme, allowed_paths=[str(uploads)])
