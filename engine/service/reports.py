"""``POST /v1/report`` and ``GET /v1/report/{id}``: the report files of ``engine report``, made by the service.

A report is measured (with its change patches), explained (the service's model when it has one and the
request allows it, else the measurements alone), written into ``<cache>/reports/<id>/`` and zipped as
``<id>.zip`` beside it; the newest ``KEEP`` reports are kept, so a report made earlier can be fetched again
by its id. Ids are random (uuid4 hex): knowing one is what allows fetching it.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.ask import AskEvent, AskRequest, analyse_live, threaded
from engine.cachefs import save_atomic
from engine.model.backends import BackendKind
from engine.outputs.report import ReportConfig, make_report, model_summary

KEEP = 50
ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class ReportStore:
    root: Path  # <cache>/reports

    def folder(self, report_id: str) -> Path:
        return self.root / report_id

    def zip_of(self, report_id: str) -> Path | None:
        """The zip of report ``report_id``, or None when there is none (an id not of our making included)."""
        if not ID.match(report_id):
            return None
        path = self.root / f"{report_id}.zip"
        return path if path.is_file() else None

    def pack(self, report_id: str) -> Path:
        """Zip the report's folder (atomically), then forget the oldest reports beyond ``KEEP``."""
        folder = self.folder(report_id)

        def write(tmp: Path) -> None:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(folder.rglob("*")):
                    if path.is_file() and not path.name.startswith("."):
                        archive.write(path, path.relative_to(folder).as_posix())

        path = save_atomic(self.root / f"{report_id}.zip", write)
        self._prune()
        return path

    def _prune(self) -> None:
        zips = sorted(self.root.glob("*.zip"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in zips[KEEP:]:
            shutil.rmtree(self.root / old.stem, ignore_errors=True)
            old.unlink(missing_ok=True)


def report_events(request: AskRequest, config: ReportConfig, store: ReportStore, report_id: str, backend,
                  cache, use_model: bool, cancel) -> Iterator[AskEvent]:
    """Measure, explain, write and zip one report; progress events, then ``done`` with its id and files."""
    request.class_maps = True  # the analysis keeps what the register needs: every patch itself
    yield AskEvent("progress", {"stage": "analyse", "done": 0, "total": 1})
    result = yield from analyse_live(request, cache, cancel)
    summary = None
    if use_model and backend.kind is not BackendKind.NONE:
        yield AskEvent("progress", {"stage": "model", "done": 0, "total": 1})
        summary = model_summary(request, config, backend, cache, cancel=cancel)
    folder = store.folder(report_id)

    def work(put) -> object:
        return make_report(result, folder, config, summary,
                           stage=lambda name: put(AskEvent("progress", {"stage": f"report: {name}", "done": 0,
                                                                        "total": 1})))

    made = yield from threaded(work, "report")
    store.pack(report_id)
    yield AskEvent("facts", result.facts.to_dict())
    yield AskEvent("done", {"id": report_id, "url": f"/v1/report/{report_id}",
                            "files": sorted(p.relative_to(folder).as_posix() for p in made.files.values()),
                            "patches": made.patches, "total_mu": made.total_mu, "summary": made.summary.text,
                            "audit": made.summary.audit, "by_model": made.summary.by_model, "notes": made.notes})


def new_id() -> str:
    return os.urandom(16).hex()
