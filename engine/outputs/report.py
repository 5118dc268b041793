"""One analysis into the bureau's files: ``report.docx``, ``patches.xlsx``, ``patches.gpkg`` (+ ``.qml``),
optionally a Shapefile, ``report.pdf`` when LibreOffice is installed, and ``facts.json`` (the measurements every
figure comes from).

The summary paragraph is the analytics answer to ``REPORT_QUESTION`` (written from the facts alone), or a
model's explanation given by the caller; either way it carries its numbers audit, and the document says which
figures, if any, are not supported.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.answer.analytics import answer as analytics_answer
from engine.answer.audit import audit
from engine.cachefs import write_atomic
from engine.errors import ReportError
from engine.outputs.document import Summary, write_document
from engine.outputs.files import write_register_vectors, write_register_xlsx, write_style
from engine.outputs.labels import LANGS, Labels
from engine.outputs.pictures import overview_map, patch_chips
from engine.outputs.register import Register, patch_register
from engine.units import AreaUnit

log = logging.getLogger(__name__)

#: What the summary answers, a paragraph each (the zones' question only when zones were given); a model is asked
#: the first.
REPORT_QUESTIONS = {
    "zh": ("监测期内土地利用结构有何变化？", "本期新增建设用地和耕地变化情况？", "保护区边界是否被侵占？"),
    "en": ("How did the land-use structure change over the period?",
           "How much new built-up land and cropland change was there?", "Were the protection zones encroached?"),
}
REPORT_QUESTION = {lang: questions[0] for lang, questions in REPORT_QUESTIONS.items()}
PDF_TIMEOUT_S = 180
Stage = Callable[[str], None]


@dataclass(frozen=True)
class ReportConfig:
    title: str | None = None
    unit: str = "mu"  # the summary's unit: mu (亩) or ha (公顷); the tables give both
    lang: str = "zh"
    max_chips: int = 6  # before/after pairs of the largest patches
    shapefile: bool = False
    pdf: bool = True  # when LibreOffice is installed

    def __post_init__(self) -> None:
        if self.unit not in ("mu", "ha"):
            raise ReportError(f"--unit {self.unit}: use mu (亩) or ha (公顷)")
        if self.lang not in LANGS:
            raise ReportError(f"--lang {self.lang}: use one of {', '.join(LANGS)}")
        if not 0 <= self.max_chips <= 50:
            raise ReportError(f"--max-chips {self.max_chips}: give 0 to 50")


@dataclass
class ReportFiles:
    folder: Path
    files: dict[str, Path]  # docx, xlsx, gpkg, qml, facts, and shp / pdf when made
    patches: int
    total_mu: float
    summary: Summary
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"folder": str(self.folder), "files": {k: str(v) for k, v in self.files.items()},
                "patches": self.patches, "total_mu": self.total_mu, "summary": self.summary.text,
                "audit": self.summary.audit, "by_model": self.summary.by_model, "notes": self.notes}


def sweep_report_settings(lang: str) -> dict:
    """A sweep's report settings (``ReportConfig`` fields, checked here, plain data for the workers): no PDF, since
    workers may have no LibreOffice."""
    from dataclasses import asdict

    return asdict(ReportConfig(lang=lang, pdf=False))


def model_summary(request, config: ReportConfig, backend, cache=None, generation=None, cancel=None) -> Summary:
    """The model's explanation of the report's first question over ``request``'s layers, extent, zones and area
    (through ``engine.ask``: the same facts, then the numbers audit)."""
    import dataclasses

    from engine.ask import ask, collect

    asked = dataclasses.replace(request, question=REPORT_QUESTION[config.lang], language=config.lang,
                                unit=AreaUnit(config.unit), session_id=None, class_maps=False)
    reply = collect(ask(asked, backend, generation=generation, cache=cache, cancel=cancel))
    return Summary(str(reply.get("answer", "")), dict(reply.get("audit", {})), by_model=not reply.get("fallback"))


def analytics_summary(facts, lang: str, unit: str) -> Summary:
    """The report's questions answered from the facts alone (a paragraph each), with their audit."""
    questions = REPORT_QUESTIONS[lang][:3 if facts.zones else 2]
    text = "\n\n".join(analytics_answer(q, facts, AreaUnit(unit), lang).text for q in questions)
    return Summary(text, audit(text, facts.to_dict(), " ".join(questions)).to_dict(), by_model=False)


def make_report(analysis, out_dir: Path, config: ReportConfig | None = None, summary: Summary | None = None,
                stage: Stage | None = None) -> ReportFiles:
    """Write every output of ``analysis`` (measured with its change patches: ``keep_class_maps=True``) into
    ``out_dir``."""
    config = config or ReportConfig()
    stage = stage or (lambda name: log.info("report: %s", name))
    labels = Labels.for_lang(config.lang)
    prepare_out(out_dir)
    facts = analysis.facts.to_dict()
    summary = summary or analytics_summary(analysis.facts, config.lang, config.unit)
    stage("register")
    register = patch_register(analysis)
    files = {"facts": out_dir / "facts.json"}
    write_atomic(files["facts"], json.dumps(facts, ensure_ascii=False, indent=2).encode("utf-8"))
    files["xlsx"] = write_register_xlsx(register, labels, out_dir / "patches.xlsx")
    files["gpkg"] = write_register_vectors(register, labels, out_dir / "patches.gpkg")
    files["qml"] = write_style(out_dir / "patches.qml", labels)
    if config.shapefile:
        folder = out_dir / "patches_shp"
        folder.mkdir(exist_ok=True)
        files["shp"] = write_register_vectors(register, labels, folder / "patches.shp", driver="ESRI Shapefile")
    stage("map")
    picture = overview_map(analysis, register.rows, labels)
    stage("pictures")
    chips = patch_chips(analysis, register.rows, config.max_chips)
    stage("document")
    files["docx"] = write_document(out_dir / "report.docx", facts, register, summary, picture, chips, labels,
                                   config.title)
    notes = list(register.notes)
    if picture.font is None and config.lang == "zh":
        notes.append("no CJK font installed: the map's words are in English (apt-get install fonts-wqy-zenhei)")
    if config.pdf:
        stage("pdf")
        pdf, note = to_pdf(files["docx"])
        if pdf is not None:
            files["pdf"] = pdf
        elif note:
            notes.append(note)
    return ReportFiles(out_dir, files, len(register.rows), _total_mu(register), summary, notes)


def prepare_out(out_dir: Path) -> Path:
    """The output folder, made and checked writable (before anything is measured, when called first)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ReportError(f"--out {out_dir}: {exc.strerror or exc}") from None
    return out_dir


def _total_mu(register: Register) -> float:
    return round(sum(r.area_mu for r in register.rows), 2)


def office() -> str | None:
    """LibreOffice's command, when installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(docx: Path) -> tuple[Path | None, str | None]:
    """``docx`` converted by LibreOffice beside it, or (None, why not)."""
    command = office()
    if command is None:
        return None, "report.pdf not made: LibreOffice is not installed (apt-get install libreoffice-writer-nogui)"
    profile = docx.parent / ".libreoffice-profile"  # its own profile: a running LibreOffice does not block it
    try:
        subprocess.run([command, f"-env:UserInstallation=file://{profile.resolve()}", "--headless", "--convert-to",
                        "pdf", "--outdir", str(docx.parent), str(docx)], check=True, capture_output=True,
                       timeout=PDF_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"report.pdf not made: LibreOffice failed ({type(exc).__name__})"
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    pdf = docx.with_suffix(".pdf")
    return (pdf, None) if pdf.is_file() else (None, "report.pdf not made: LibreOffice wrote nothing")
