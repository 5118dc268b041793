"""``POST /v1/sweep``: the QGIS "Sweep areas" algorithm's way to the sweep, through the local service.

The request carries the boundary polygons inline (a GeoJSON FeatureCollection in EPSG:4326, as the
plugin exports a layer or its selection), the name field, the layers (paths or globs) and the output
folder; every path must lie under the service's roots, the output folder too. The polygons (and
zones, if any) are written into the output folder, where they stay as part of the sweep's record.
The sweep then runs as ``python -m engine sweep`` does, its progress streamed as events.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from pathlib import Path

from engine.ask import AskEvent, threaded
from engine.cachefs import write_atomic
from engine.outputs.report import sweep_report_settings
from engine.service.errors import ServiceError
from engine.service.schemas import SweepBody
from engine.service.settings import ServiceSettings
from engine.service.vectors import checked_text
from engine.sweep.run import SweepConfig, SweepResult, sweep


class SweepRefused(ServiceError):
    """A sweep request the service will not run."""


def _allowed(path: Path, settings: ServiceSettings, what: str) -> Path:
    if "\0" in str(path) or not settings.allows(path):
        raise SweepRefused(403, "path_not_allowed", f"{what} {path} is outside the folders this service may use")
    return path


def _fixed_prefix(pattern: str) -> Path:
    """The folder a glob pattern searches in: its leading components without a wildcard."""
    parts = []
    for part in Path(pattern).parts:
        if set("*?[") & set(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def _layers(patterns: list[str], settings: ServiceSettings) -> list[str]:
    """Each layer (or pattern's match) checked as the other endpoints check theirs: the path, what its metadata
    names and every file GDAL would read, against the roots, before the sweep starts. A pattern is refused
    unless the folder it searches is under the roots, so nothing is said of what lies outside them."""
    from engine.errors import EngineError, PathNotAllowedError
    from engine.scene.confine import check_confined, check_request
    from engine.scene.layer import open_layer
    from engine.sweep.layers import expand

    out = []
    for pattern in patterns:
        _allowed(_fixed_prefix(pattern) if set("*?[") & set(pattern) else Path(pattern), settings, "the layer")
        matches = sorted(glob.glob(pattern)) if set("*?[") & set(pattern) else [pattern]
        if not matches:
            raise SweepRefused(422, "bad_sweep", f"the layer pattern {pattern} matches nothing")
        for match in matches:
            try:
                for spec in expand(glob.escape(str(Path(match).resolve()))):
                    _allowed(spec.path, settings, "the layer")
                    check_request(spec.path, settings.allows)
                    check_confined(open_layer(spec), settings.allows)
                    out.append(glob.escape(str(spec.path)))
            except PathNotAllowedError as exc:
                raise SweepRefused(403, "path_not_allowed", str(exc)) from None
            except EngineError as exc:
                raise SweepRefused(422, getattr(exc, "code", "bad_sweep"), str(exc)) from None
    return out


def sweep_config(body: SweepBody, settings: ServiceSettings) -> tuple[SweepConfig, dict[str, str]]:
    """The sweep's inputs (paths checked against the roots) and the vector files to write into its folder."""
    if "\0" in body.out or any("\0" in layer for layer in body.layers):
        raise SweepRefused(422, "bad_sweep", "a path cannot contain a NUL character")
    out = _allowed(Path(body.out).expanduser().resolve(), settings, "the output folder")
    layers = _layers(body.layers, settings)
    files = {"areas.geojson": checked_text(body.areas, settings, "areas")}  # a refusal is a ServiceError
    if body.zones is not None:
        files["zones.geojson"] = checked_text(body.zones, settings, "zones")
    config = SweepConfig(areas=out / "areas.geojson", name_field=body.name_field, layers=tuple(layers), out_dir=out,
                         zones={"path": out / "zones.geojson"} if body.zones is not None else None,
                         workers=body.workers, force=body.force, mmu_ha=body.mmu_ha if body.mmu_ha is not None
                         else 0.5, report=sweep_report_settings("zh") if body.reports else None)
    return config, files


def sweep_events(config: SweepConfig, files: dict[str, str]) -> Iterator[AskEvent]:
    """Write the request's vectors into the sweep's folder, run the sweep, and yield its progress and outcome."""
    try:
        config.out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"the output folder {config.out_dir}: {exc.strerror or exc}") from None
    for name, text in files.items():
        write_atomic(config.out_dir / name, text.encode("utf-8"))
    def work(put) -> SweepResult:
        def progress(done: int, failed: int, remaining: int) -> None:
            put(AskEvent("progress", {"stage": "areas", "done": done + failed, "failed": failed,
                                      "total": done + failed + remaining}))

        return sweep(config, progress)

    result = yield from threaded(work, "sweep")
    out = config.out_dir
    yield AskEvent("done", {
        "out": str(out), "findings": str(out / "findings.gpkg"), "summary_csv": str(out / "summary.csv"),
        "summary_xlsx": str(out / "summary.xlsx"), "record": str(out / "sweep.json"),
        **({"summary_report": str(out / "summary_report.docx"), "reports": str(out / "reports")}
           if config.report is not None else {}),
        "areas": len(result.summary), "measured": sum(r["status"] == "ok" for r in result.summary),
        "failed": [{"area": r["area"], "error": r["error"]} for r in result.failed],
        "skipped": result.skipped})
