"""One area of a sweep, measured on a worker: what ``analyse --aoi`` does, written to the sweep's folder.

The task is plain data in and plain data out (``AreaTask`` -> ``AreaOutcome``), so it crosses to any
Dask worker; the files it reads and writes must be reachable there (shared storage, or object
storage through GDAL's virtual file systems). Its facts are written exactly as ``analyse --json``
prints them, its findings (change patches and zone violations) as GeoJSON beside them; both
atomically, then the fingerprint of its inputs, so an area counts as done only once everything it
wrote is whole, and only for the inputs it was measured from.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

FACTS, FINDINGS, FAILED, DONE = "facts", "findings", "failed", "done"


@dataclass(frozen=True)
class AreaTask:
    """Everything a worker needs for one area (paths as the workers see them)."""

    name: str
    stem: str
    areas_path: str
    name_field: str
    layers: tuple[dict, ...]  # LayerSpec fields (path, date, sensor, band_map, scale, offset, assume_crs)
    out_dir: str
    mmu_ha: float = 0.5
    thresholds: dict = field(default_factory=dict)
    budget_mb: int = 256
    max_memory_mb: int = 8192
    zones: dict | None = None  # ZoneSpec fields
    reference: dict | None = None  # ReferenceSpec fields
    use_cache: bool = True
    max_findings: int = 5000
    narrate: object | None = None  # a narrative.NarrativeConfig: the model explains the facts (optional)
    fingerprint: str = ""  # of the inputs (files and settings): an area is done only for the inputs it was made from
    report: dict | None = None  # ReportConfig fields: also write reports/<stem>/ (engine.outputs.report)


@dataclass(frozen=True)
class AreaOutcome:
    """What the client keeps of one area: ok with its summary figures, or failed with the error."""

    name: str
    stem: str
    status: str  # ok | failed
    error: str = ""
    seconds: float = 0.0
    worker: str = ""
    peak_rss_mb: float = 0.0  # the worker process's peak resident memory so far


def paths(out_dir: Path, stem: str) -> dict[str, Path]:
    return {FACTS: out_dir / FACTS / f"{stem}.json", FINDINGS: out_dir / FINDINGS / f"{stem}.geojson",
            FAILED: out_dir / FAILED / f"{stem}.json", DONE: out_dir / DONE / f"{stem}.txt"}


def is_done(out_dir: Path, stem: str, fingerprint: str) -> bool:
    """The area was measured from these inputs: its record of them (written last, atomically) matches, and its
    facts and findings are whole. Other layers, settings or polygons make it not done."""
    where = paths(out_dir, stem)
    try:
        return where[DONE].read_text(encoding="utf-8") == fingerprint and where[FINDINGS].is_file() and \
            isinstance(json.loads(where[FACTS].read_text(encoding="utf-8")), dict)
    except (OSError, ValueError):
        return False


def measure_area(task: AreaTask, semaphore=None) -> AreaOutcome:
    """Measure one area; never raises for the area's own problems (they come back as ``failed``).

    With ``task.narrate``, the model then explains the facts (``semaphore`` bounds the requests at once).
    """
    import os
    import socket

    from engine.cachefs import write_atomic

    started = time.perf_counter()
    where = paths(Path(task.out_dir), task.stem)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    where[DONE].unlink(missing_ok=True)  # not done until this run says so
    try:
        measured, findings, analysis = _analyse(task)
        facts = measured.to_dict()
        if task.report is not None:
            _report(task, analysis)
    except Exception as exc:  # an area's failure is recorded, and the sweep goes on
        error = _describe(exc)
        for key in (FACTS, FINDINGS):  # an earlier run's results are not this run's
            where[key].unlink(missing_ok=True)
        where[FAILED].parent.mkdir(parents=True, exist_ok=True)
        write_atomic(where[FAILED], json.dumps({"area": task.name, "error": error}, ensure_ascii=False).encode())
        log.info("area %s failed: %s", task.name, error)
        return AreaOutcome(task.name, task.stem, "failed", error, time.perf_counter() - started, worker, _peak_mb())
    for key in (FINDINGS, FACTS, DONE):
        where[key].parent.mkdir(parents=True, exist_ok=True)
    write_atomic(where[FINDINGS], json.dumps(findings, ensure_ascii=False).encode("utf-8"))
    write_atomic(where[FACTS], json.dumps(facts, ensure_ascii=False, indent=2).encode("utf-8"))
    where[FAILED].unlink(missing_ok=True)
    write_atomic(where[DONE], task.fingerprint.encode("utf-8"))
    seconds = time.perf_counter() - started  # the measurement's time; a narrative's is the model server's
    if task.narrate is not None:
        from engine.sweep.narrative import narrate

        narrate(task.narrate, measured, Path(task.out_dir), task.stem, semaphore)
    return AreaOutcome(task.name, task.stem, "ok", "", seconds, worker, _peak_mb())


def _peak_mb() -> float:
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _report(task: AreaTask, analysis) -> None:
    """The area's report files in ``reports/<stem>/``; an area measured in chunks has no patch outlines to draw, so
    its folder says so instead."""
    from engine.cachefs import write_atomic
    from engine.outputs.report import ReportConfig, make_report

    folder = Path(task.out_dir) / "reports" / task.stem
    if analysis is None:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / "NO_REPORT.txt", b"this area was larger than the memory budget and was measured in "
                     b"chunks: its figures are in facts/ and summary.xlsx, but no report was drawn\n")
        return
    make_report(analysis, folder, ReportConfig(**task.report))


def _analyse(task: AreaTask):  # -> (Facts, findings, Analysis or None)
    """``analyse`` with the area as its AOI; an area too large for the memory budget at once, in chunks of rows
    (``engine.analysis.chunked``: the same facts, without the cache, and no Analysis to draw a report from)."""
    from engine.analysis.aoi import AoiSpec
    from engine.analysis.cache import AnalysisCache
    from engine.analysis.classify import Thresholds
    from engine.analysis.reference import ReferenceSpec
    from engine.analysis.run import AnalysisConfig, ZoneSpec, analyse
    from engine.errors import AnalysisMemoryError
    from engine.types import LayerSpec

    specs = [LayerSpec(**{**layer, "path": Path(layer["path"])}) for layer in task.layers]
    config = AnalysisConfig(thresholds=Thresholds(**task.thresholds), mmu_ha=task.mmu_ha, budget_mb=task.budget_mb,
                            max_memory_mb=task.max_memory_mb)
    zones = ZoneSpec(**{**task.zones, "path": Path(task.zones["path"])}) if task.zones else None
    reference = (ReferenceSpec(**{**task.reference, "path": Path(task.reference["path"])})
                 if task.reference else None)
    aoi = AoiSpec(Path(task.areas_path), task.name, task.name_field)
    try:
        result = analyse(specs, None, config, None, zones, AnalysisCache() if task.use_cache else None, reference,
                         keep_class_maps=task.report is not None, aoi=aoi)  # a report needs the patches
    except AnalysisMemoryError:
        if reference is not None:
            raise
        from engine.analysis.chunked import analyse_in_chunks

        return (*analyse_in_chunks(specs, aoi, config, zones, max_findings=task.max_findings), None)
    return result.facts, result.findings(task.max_findings), result


def _describe(exc: BaseException) -> str:
    from engine.errors import EngineError

    if isinstance(exc, EngineError | ValueError | OSError):
        return str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"
