"""The sweep's client: check the inputs, start or join a Dask cluster, submit one task per area, gather.

``SweepConfig`` holds the inputs; ``sweep`` runs them and returns a ``SweepResult`` (the CLI's exit
status follows from it: 0 all areas ok, 1 some failed). Bad inputs raise ``SweepError`` before any
task starts. The cluster is ``distributed.LocalCluster`` (processes on 127.0.0.1, dashboard on
127.0.0.1 too) unless ``scheduler`` names an existing one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import json
import logging
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine import __version__
from engine.analysis.cache import file_identity
from engine.cachefs import sha256_of, write_atomic
from engine.errors import SweepError
from engine.sweep.areas import Area, read_areas
from engine.sweep.layers import DatedProducts, by_date, spec_record
from engine.sweep.mosaic import build_mosaic
from engine.sweep.narrative import NarrativeConfig
from engine.sweep.outputs import summary_row, write_findings, write_summary
from engine.sweep.task import AreaOutcome, AreaTask, is_done, measure_area

log = logging.getLogger(__name__)

WORKER_OVERHEAD_MB = 1536  # Python, numba, GDAL and the reader's buffers beside the analysis's own budget
Progress = Callable[[int, int, int], None]  # (done, failed, remaining)


@dataclass(frozen=True)
class SweepConfig:
    areas: Path
    name_field: str
    layers: tuple[str, ...]
    out_dir: Path
    zones: dict | None = None  # ZoneSpec fields
    reference: dict | None = None  # ReferenceSpec fields
    workers: int | None = None  # local cluster size (default: the CPU cores)
    scheduler: str | None = None  # an existing cluster's address, e.g. tcp://host:8786
    force: bool = False
    mmu_ha: float = 0.5
    thresholds: dict = field(default_factory=dict)
    budget_mb: int = 256
    max_memory_mb: int = 8192
    sensor: str | None = None
    assume_crs: str | None = None
    use_cache: bool = True
    narrate: NarrativeConfig | None = None  # the model's narrative per area (optional)
    report: dict | None = None  # ReportConfig fields: a report per area and a summary report (optional)

    @property
    def worker_memory_mb(self) -> int:
        """What one worker may use: the engine's reading and analysis budgets plus the process's own."""
        return self.budget_mb + self.max_memory_mb + WORKER_OVERHEAD_MB


@dataclass
class SweepResult:
    outcomes: list[AreaOutcome]
    skipped: list[str]
    summary: list[dict[str, object]]
    dashboard: str | None = None
    phases_s: dict[str, float] = field(default_factory=dict)  # plan, cluster_start, measure, cluster_close, outputs

    @property
    def failed(self) -> list[dict[str, object]]:
        return [r for r in self.summary if r["status"] != "ok"]


def plan(config: SweepConfig) -> tuple[list[Area], list[DatedProducts]]:
    """The areas and the dated products, checked before any task starts (``SweepError`` on bad input)."""
    if not config.areas.exists():
        raise SweepError(f"--areas {config.areas}: not found")
    areas = read_areas(config.areas, config.name_field)
    dates = by_date(list(config.layers), config.sensor, config.assume_crs)
    try:
        config.out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SweepError(f"--out {config.out_dir}: {exc.strerror or exc}") from None
    return areas, dates


def layers_of(config: SweepConfig, dates: list[DatedProducts]) -> tuple[dict, ...]:
    """One layer per date: the product itself, or the mosaic VRT of the date's products (``mosaic.py``)."""
    out = []
    for d in dates:
        spec = (d.specs[0] if len(d.specs) == 1 else
                build_mosaic(d.specs, d.date, config.out_dir.resolve() / "mosaics"))
        out.append(spec_record(spec))
    return tuple(out)


def tasks_for(config: SweepConfig, areas: list[Area], dates: list[DatedProducts]) -> list[AreaTask]:
    """One task per area, every path absolute (workers resolve nothing against their own folder)."""
    layers = layers_of(config, dates)
    zones = _absolute(config.zones)
    reference = _absolute(config.reference)
    common = {"layers": [[file_identity(s.path) for s in d.specs] for d in dates],  # a mosaic: its products
              "areas": sha256_of(config.areas), "name_field": config.name_field, "mmu_ha": config.mmu_ha,
              "thresholds": config.thresholds, "zones": zones and [zones, sha256_of(Path(zones["path"]))],
              "reference": reference and [reference, file_identity(reference["path"])],
              **({"report": config.report} if config.report else {})}  # (fingerprints without reports unchanged)
    tasks = []
    for a in areas:
        fingerprint = hashlib.sha256(json.dumps([common, a.name], sort_keys=True, default=str).encode()).hexdigest()
        tasks.append(AreaTask(name=a.name, stem=a.stem, areas_path=str(config.areas.resolve()),
                              name_field=config.name_field, layers=layers, out_dir=str(config.out_dir.resolve()),
                              mmu_ha=config.mmu_ha, thresholds=config.thresholds, budget_mb=config.budget_mb,
                              max_memory_mb=config.max_memory_mb, zones=zones, reference=reference,
                              use_cache=config.use_cache, narrate=config.narrate, fingerprint=fingerprint,
                              report=config.report))
    return tasks


def _absolute(spec: dict | None) -> dict | None:
    if spec is None:
        return None
    return {**spec, **{k: Path(v).resolve() for k, v in spec.items() if k in ("path", "table") and v is not None}}



@contextlib.contextmanager
def client_for(config: SweepConfig) -> Iterator:
    """A Dask client on the cluster at ``scheduler``, or on a local cluster on 127.0.0.1 (worker processes, or with
    one worker a thread of this process) that is shut down (workers and scheduler) when the block ends."""
    from distributed import Client, LocalCluster

    if config.scheduler:
        try:
            client = Client(config.scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise SweepError(f"--scheduler {config.scheduler}: cannot reach the Dask scheduler ({exc})") from None
        with client:
            check_workers(client)
            yield client
        return
    import dask

    # Dask's nannies set MALLOC_TRIM_THRESHOLD_ in their workers, which fixes glibc's mmap threshold: every strip
    # buffer the engine allocates is then a fresh mmap and its page faults made each area 1.5x slower here
    # (tests/bench_sweep.py). The engine returns freed memory itself (engine.memory.release_free_heap).
    environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
               if k != "MALLOC_TRIM_THRESHOLD_"}
    # One worker runs in this process (a thread): a worker process would only add its start, its imports and its
    # compiled kernels' loading to the sweep (tests/bench_sweep.py), and the engine's own budgets bound memory.
    in_process = config.workers == 1
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        where = {} if in_process else {"host": "127.0.0.1"}  # in process: Dask's inproc transport, no socket
        cluster = LocalCluster(n_workers=config.workers, threads_per_worker=1, processes=not in_process,
                               dashboard_address="127.0.0.1:0", memory_limit=f"{config.worker_memory_mb}MB",
                               **where)
    with cluster, Client(cluster) as client:  # a client does not close a cluster it was given: the cluster does
        yield client


def check_workers(client) -> None:
    """Every worker can import the engine (installed in its environment), or the sweep stops saying so."""
    try:
        versions = client.run(_engine_version)
    except Exception as exc:  # a worker's ModuleNotFoundError comes back as itself, or wrapped
        raise SweepError(f"a Dask worker cannot import the engine ({type(exc).__name__}: {exc}); install the "
                         "project in the workers' environment (scripts/setup.sh, or pip install -e . there)") from None
    if not versions:
        raise SweepError("the Dask cluster has no worker; start one with: dask worker SCHEDULER_ADDRESS")
    log.info("workers: %s", versions)


def _engine_version() -> str:
    import importlib

    return importlib.import_module("engine").__version__


def sweep(config: SweepConfig, progress: Progress | None = None, on_dashboard: Callable[[str], None] | None = None
          ) -> SweepResult:
    """Measure every area not done yet (all with ``force``), then write the summary, findings and record."""
    phases: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        phases[name] = round(time.perf_counter() - clock, 3)
        clock = time.perf_counter()

    areas, dates = plan(config)
    todo = [t for t in tasks_for(config, areas, dates)
            if config.force or not is_done(config.out_dir, t.stem, t.fingerprint)]
    skipped = [a.name for a in areas if a.name not in {t.name for t in todo}]
    started = dt.datetime.now(dt.UTC)
    outcomes: list[AreaOutcome] = []
    dashboard = None
    lap("plan")
    if todo:
        with client_for(config) as client:
            lap("cluster_start")
            dashboard = _dashboard(client)
            if dashboard and on_dashboard is not None:
                on_dashboard(dashboard)
            outcomes = _measure(client, config, todo, started, progress)
            lap("measure")
        lap("cluster_close")
    summary = [summary_row(a, config.out_dir) for a in areas]
    write_summary(summary, config.out_dir)
    write_findings(areas, config.out_dir)
    if config.report is not None:
        from engine.outputs.sweep_report import write_sweep_report

        write_sweep_report(summary, config.out_dir / "summary_report.docx", config.report)
    lap("outputs")
    _write_record(config, dates, outcomes, skipped, started, phases)
    return SweepResult(outcomes, skipped, summary, dashboard, phases)


def _measure(client, config: SweepConfig, todo: list[AreaTask], started: dt.datetime,
             progress: Progress | None) -> list[AreaOutcome]:
    """One task per area on the cluster; the outcomes as they complete."""
    from distributed import as_completed

    semaphore = None
    if config.narrate is not None:
        from distributed import Semaphore

        semaphore = Semaphore(max_leases=config.narrate.concurrency, name=f"narrative-{started.timestamp()}")
    futures = {client.submit(measure_area, t, semaphore, key=f"area-{i}-{t.stem}", pure=False): t
               for i, t in enumerate(todo)}
    outcomes: list[AreaOutcome] = []
    failed = 0
    for future in as_completed(list(futures)):
        outcomes.append(_outcome(future, futures[future]))
        failed += outcomes[-1].status != "ok"
        if progress is not None:
            progress(len(outcomes) - failed, failed, len(todo) - len(outcomes))
    client.cancel(list(futures))
    return outcomes


def _outcome(future, task: AreaTask) -> AreaOutcome:
    """The task's own outcome, or its failure to run at all (a worker lost, the engine not importable there)."""
    try:
        return future.result()
    except ModuleNotFoundError as exc:
        error = (f"the worker cannot import {exc.name or 'the engine'}: install the project in the workers' "
                 "environment (scripts/setup.sh, or pip install -e . there)")
    except Exception as exc:
        error = f"the task did not run: {type(exc).__name__}: {exc}"
    return AreaOutcome(task.name, task.stem, "failed", error)


def _dashboard(client) -> str | None:
    try:
        return client.dashboard_link if client.scheduler_info().get("services", {}).get("dashboard") else None
    except (AttributeError, KeyError, OSError):
        return None


def _write_record(config: SweepConfig, dates: list[DatedProducts], outcomes: list[AreaOutcome],
                  skipped: list[str], started: dt.datetime, phases: dict[str, float]) -> None:
    """``sweep.json``: the inputs, this run's outcome and the versions, so the sweep can be reproduced."""
    versions = {"engine": __version__, "python": platform.python_version()}
    for package in ("rasterio", "numpy", "dask", "distributed", "pyproj", "shapely"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    try:
        import rasterio

        versions["gdal"] = rasterio.__gdal_version__
    except ImportError:
        pass
    record = {
        "inputs": {**{k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()
                      if k != "narrate"},
                   "narrate": ({k: v for k, v in asdict(config.narrate).items() if k != "api_key"}
                               if config.narrate else None),
                   "dates": [{"date": d.date, "products": [str(s.path) for s in d.specs]} for d in dates]},
        "run": {"started": started.isoformat(), "finished": dt.datetime.now(dt.UTC).isoformat(),
                "measured": [o.name for o in outcomes if o.status == "ok"],
                "failed": {o.name: o.error for o in outcomes if o.status != "ok"}, "skipped_done": skipped,
                "seconds": {o.name: round(o.seconds, 2) for o in outcomes},
                "peak_worker_rss_mb": {o.name: round(o.peak_rss_mb) for o in outcomes if o.peak_rss_mb},
                "phases_s": phases},
        "versions": versions,
    }
    write_atomic(config.out_dir / "sweep.json", json.dumps(record, ensure_ascii=False, indent=2,
                                                           default=str).encode("utf-8"))
