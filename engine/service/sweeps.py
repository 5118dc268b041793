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
from engine.service.schemas import SweepBody
from engine.service.settings import ServiceSettings
from engine.service.vectors import VectorRefused, checked_text
from engine.sweep.run import SweepConfig, SweepResult, sweep


class SweepRefused(Exception):
    """A sweep request the service will not run: ``status`` and ``code`` for the HTTP reply."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


def _allowed(path: Path, settings: ServiceSettings, what: str) -> Path:
    if "\0" in str(path) or not settings.allows(path):
        raise SweepRefused(403, "path_not_allowed", f"{what} {path} is outside the folders this service may use")
    return path


def sweep_config(body: SweepBody, settings: ServiceSettings) -> tuple[SweepConfig, dict[str, str]]:
    """The sweep's inputs (paths checked against the roots) and the vector files to write into its folder."""
    out = _allowed(Path(body.out).expanduser(), settings, "the output folder")
    layers = []
    for layer in body.layers:
        matches = sorted(glob.glob(layer)) if set("*?[") & set(layer) else [layer]
        if not matches:
            raise SweepRefused(422, "bad_sweep", f"the layer pattern {layer} matches nothing")
        layers += [str(_allowed(Path(m), settings, "the layer")) for m in matches]
    try:
        files = {"areas.geojson": checked_text(body.areas, settings, "areas")}
        if body.zones is not None:
            files["zones.geojson"] = checked_text(body.zones, settings, "zones")
    except VectorRefused as exc:
        raise SweepRefused(exc.status, exc.code, str(exc)) from None
    config = SweepConfig(areas=out / "areas.geojson", name_field=body.name_field, layers=tuple(layers), out_dir=out,
                         zones={"path": out / "zones.geojson"} if body.zones is not None else None,
                         workers=body.workers, force=body.force, mmu_ha=body.mmu_ha if body.mmu_ha is not None
                         else 0.5)
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
        "areas": len(result.summary), "measured": sum(r["status"] == "ok" for r in result.summary),
        "failed": [{"area": r["area"], "error": r["error"]} for r in result.failed],
        "skipped": result.skipped})
