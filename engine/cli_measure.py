"""The measuring options that ``analyse``, ``sweep`` and ``report`` share, the inputs they make, and progress bars.

One definition, so that a sweep's area measures exactly what ``analyse --aoi`` measures for it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from engine.types import Extent, LayerSpec


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def add_extent_options(p: argparse.ArgumentParser, whose: str) -> None:
    p.add_argument("--bbox", nargs=4, type=float, metavar=("XMIN", "YMIN", "XMAX", "YMAX"),
                   help=f"extent to read; default: the whole of {whose}")
    p.add_argument("--bbox-crs", default=None, metavar="CRS",
                   help=f"CRS of --bbox, e.g. EPSG:4326 (default: the CRS of {whose})")


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")


class Bars:
    """Progress bars on stderr, one per stage, made on first use and closed on exit (none with --quiet)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bars: dict[str, tqdm] = {}

    def __enter__(self) -> Bars:
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self.bars.values():
            bar.close()

    def update(self, stage: str, done: int, total: int | None, unit: str = "rows", scale: bool = False) -> None:
        if self.quiet:
            return
        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(desc=stage, total=total, unit=unit, unit_scale=scale, file=sys.stderr,
                                          leave=False, dynamic_ncols=True)
        bar.total = total
        bar.n = done
        bar.refresh()

    def stage(self, name: str, unit: str = "rows") -> Callable[[int, int], None]:
        """A ``(done, total)`` callback for one stage, as the library's progress hooks take."""
        return lambda done, total: self.update(name, done, total, unit)


def add_measure_options(p: argparse.ArgumentParser, aoi: bool = True) -> None:
    """Classifier, mapping unit, zones, reference, AOI, reading and cache options."""
    p.add_argument("--mmu-ha", type=float, default=0.5, metavar="HA",
                   help="minimum mapping unit for change patches, in hectares (default 0.5)")
    p.add_argument("--thresholds", default=None, metavar="NAME=VALUE,...",
                   help="override classifier thresholds, e.g. vegetation_ndvi=0.35,water_mndwi=0.1 "
                        "(water_mndwi unset = Otsu per scene)")
    p.add_argument("--zones", type=Path, default=None, metavar="ZONES",
                   help="protection zones: GeoJSON or any OGR vector (shapefile, GeoPackage, ...) in any CRS")
    p.add_argument("--zone-name-field", default=None, metavar="FIELD",
                   help="attribute holding the zone name (default: name, NAME, 名称, zone ...)")
    p.add_argument("--zone-kind", choices=["farmland", "ecological", "river", "other"], default=None,
                   help="kind of every zone (default: from a 'kind' field or words in the zone name)")
    p.add_argument("--zones-crs", default=None, metavar="CRS",
                   help="CRS of a zones file that carries none (e.g. a shapefile without .prj)")
    p.add_argument("--reference", type=Path, default=None, metavar="R",
                   help="a reference land-use layer used as one more date: an ESA WorldCover raster or a vector "
                        "with GB/T 21010 (三调) codes; its agreement with the nearest classified date is reported")
    p.add_argument("--reference-date", default=None, metavar="YYYY-MM-DD",
                   help="date of --reference (default: a date or year in its file name)")
    p.add_argument("--reference-field", default=None, metavar="FIELD",
                   help="code field of a vector reference (default: DLBM, code, class, ...)")
    p.add_argument("--reference-map", type=Path, default=None, metavar="TABLE.json",
                   help="JSON table replacing code mappings, e.g. "
                        '{"gbt21010": {"0101": "cropland_grassland"}, "worldcover": {"90": "cropland_grassland"}}')
    if aoi:
        p.add_argument("--aoi", type=Path, default=None, metavar="FILE",
                       help="area of interest: measure inside its polygon(s), not their bounding box (GeoPackage, "
                            "Shapefile, GeoJSON, any CRS including CGCS2000)")
        p.add_argument("--aoi-name", default=None, metavar="NAME",
                       help="the feature(s) of --aoi whose name field holds NAME (default: all of them)")
        p.add_argument("--aoi-name-field", default=None, metavar="FIELD",
                       help="attribute holding the area's name (default: name, NAME, 名称, XZQMC ...)")
        p.add_argument("--aoi-crs", default=None, metavar="CRS", help="CRS of an --aoi file that carries none")
    p.add_argument("--sensor", default=None, help="override the sensor of every layer")
    p.add_argument("--assume-crs", default=None, metavar="CRS", help="CRS for rasters that have none")
    p.add_argument("--budget-mb", type=positive_int, default=256, metavar="MB",
                   help="memory budget for reading (default 256)")
    p.add_argument("--max-memory-mb", type=positive_int, default=8192, metavar="MB",
                   help="most memory for the class maps and change labels (default 8192); a larger extent is "
                        "refused before anything is read")
    p.add_argument("--no-cache", action="store_true",
                   help="recompute everything (by default class maps and results are cached in "
                        "$LANDUSE_CACHE_DIR or ~/.cache/county-landuse, capped at $LANDUSE_CACHE_MB, default 2048)")


@dataclass(frozen=True)
class MeasureInputs:
    """What ``analyse`` takes, from the command line."""

    specs: list[LayerSpec]
    extent: Extent | None
    config: object  # engine.analysis.run.AnalysisConfig
    zones: object | None  # engine.analysis.run.ZoneSpec
    reference: object | None  # engine.analysis.reference.ReferenceSpec
    aoi: object | None  # engine.analysis.aoi.AoiSpec


def measure_inputs(args: argparse.Namespace) -> MeasureInputs:
    from engine.analysis.aoi import AoiSpec
    from engine.analysis.classify import Thresholds
    from engine.analysis.reference import ReferenceSpec
    from engine.analysis.run import AnalysisConfig, ZoneSpec
    from engine.analysis.zones import ZoneKind

    specs = [LayerSpec(path=p, sensor=args.sensor, assume_crs=args.assume_crs) for p in args.layer]
    config = AnalysisConfig(thresholds=Thresholds.parse_overrides(args.thresholds or ""), mmu_ha=args.mmu_ha,
                            budget_mb=args.budget_mb, max_memory_mb=args.max_memory_mb)
    extent = None
    if getattr(args, "bbox", None) is not None:
        crs = args.bbox_crs
        if crs is None:
            from engine.scene.layer import open_layer

            crs = open_layer(specs[0]).grid.crs.to_string()
        extent = Extent(*args.bbox, crs=crs)
    zones = None
    if args.zones is not None:
        zones = ZoneSpec(args.zones, args.zone_name_field, ZoneKind(args.zone_kind) if args.zone_kind else None,
                         args.zones_crs)
    reference = None
    if args.reference is not None:
        reference = ReferenceSpec(args.reference, dt.date.fromisoformat(args.reference_date)
                                  if args.reference_date else None, args.reference_field, args.reference_map)
    aoi = None
    if getattr(args, "aoi", None) is not None:
        aoi = AoiSpec(args.aoi, args.aoi_name, args.aoi_name_field, args.aoi_crs)
    return MeasureInputs(specs, extent, config, zones, reference, aoi)
