"""Request bodies of the service (pydantic), so the OpenAPI schema and validation come from one place."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class LayerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=4096, description="file or product folder on the engine's machine")
    date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD override")
    band_map: dict[str, int] | None = Field(default=None, description="band role -> 1-based band index")
    sensor: str | None = Field(default=None, max_length=32)


class ExtentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    crs: str = Field(min_length=1, max_length=20000, description="anything pyproj accepts, e.g. EPSG:4326")


class AskBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=2000)
    layers: list[LayerBody] = Field(min_length=1, max_length=8)
    extent: ExtentBody | None = None
    zones: dict[str, Any] | None = Field(default=None, description="a GeoJSON FeatureCollection of zones")
    aoi: dict[str, Any] | None = Field(default=None, description="area of interest: a GeoJSON FeatureCollection "
                                                                 "(EPSG:4326) whose polygons measurement is "
                                                                 "clipped to")
    aoi_name: str | None = Field(default=None, max_length=200, description="the area's name in the facts")
    session_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,128}$")
    language: Literal["zh", "en"] | None = None
    unit: Literal["mu", "ha", "km2", "m2"] | None = None
    stream: bool = False


class AnalyseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    layers: list[LayerBody] = Field(min_length=1, max_length=8)
    extent: ExtentBody | None = None
    zones: dict[str, Any] | None = Field(default=None, description="a GeoJSON FeatureCollection of zones")
    aoi: dict[str, Any] | None = Field(default=None, description="area of interest: a GeoJSON FeatureCollection "
                                                                 "(EPSG:4326) whose polygons measurement is "
                                                                 "clipped to")
    aoi_name: str | None = Field(default=None, max_length=200, description="the area's name in the facts")
    question: str | None = Field(default=None, max_length=2000,
                                 description="optional: answered from the measurements alone, with its audit")
    language: Literal["zh", "en"] | None = None
    unit: Literal["mu", "ha", "km2", "m2"] | None = None
    mmu_ha: float | None = Field(default=None, ge=0, le=10_000, allow_inf_nan=False,
                                 description="minimum mapping unit of change patches, ha (default 0.5)")
    max_findings: int = Field(default=500, ge=0, le=5000, description="change patches returned, largest first")
    class_maps: bool = Field(default=False, description="also write each date's land-cover map as a GeoTIFF "
                                                         "(paths in `done.class_maps`) on the engine's machine")
    stream: bool = False


class SweepBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    areas: dict[str, Any] = Field(description="the boundary polygons: a GeoJSON FeatureCollection (EPSG:4326)")
    name_field: str = Field(min_length=1, max_length=200, description="the property naming each area")
    layers: list[str] = Field(min_length=1, max_length=64, description="layer paths or globs; repeat dates")
    out: str = Field(min_length=1, max_length=4000, description="the sweep's folder, under the service's roots")
    zones: dict[str, Any] | None = Field(default=None, description="a GeoJSON FeatureCollection of zones")
    workers: int | None = Field(default=None, ge=1, le=256, description="local Dask workers (default: CPU cores)")
    force: bool = Field(default=False, description="measure again the areas already measured")
    reports: bool = Field(default=False, description="also a report per area and a summary report")
    mmu_ha: float | None = Field(default=None, ge=0, le=10_000, allow_inf_nan=False,
                                 description="minimum mapping unit of change patches, ha (default 0.5)")
    stream: bool = False


class ReportBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    layers: list[LayerBody] = Field(min_length=1, max_length=8)
    extent: ExtentBody | None = None
    zones: dict[str, Any] | None = Field(default=None, description="a GeoJSON FeatureCollection of zones")
    aoi: dict[str, Any] | None = Field(default=None, description="area of interest: a GeoJSON FeatureCollection "
                                                                 "(EPSG:4326) the report is clipped to")
    aoi_name: str | None = Field(default=None, max_length=200, description="the area's name in the report")
    mmu_ha: float | None = Field(default=None, ge=0, le=10_000, allow_inf_nan=False,
                                 description="minimum mapping unit of change patches, ha (default 0.5)")
    title: str | None = Field(default=None, max_length=200, description="the report's title")
    language: Literal["zh", "en"] = "zh"
    unit: Literal["mu", "ha"] = Field(default="mu", description="unit of the summary; the tables give both")
    max_chips: int = Field(default=6, ge=0, le=50, description="before/after pictures of the largest patches")
    shapefile: bool = Field(default=False, description="also a Shapefile of the patches in the zip")
    model: bool = Field(default=True, description="the summary by the service's model when it has one (with its "
                                                  "numbers audit); false: from the measurements alone")
    stream: bool = Field(default=False, description="progress events, then `done` with the report's id, instead "
                                                    "of the zip")


class InspectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    layers: list[LayerBody] = Field(min_length=1, max_length=8)


class AuditBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    facts: dict[str, Any] = Field(description="the facts record, as `analyse --json` prints or an ask's facts event")
    answer: str = Field(max_length=200_000, description="the text to check: an answer, another model's, a draft report")
    question: str | None = Field(default=None, max_length=2000, description="its own figures are echoes, not checked")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody
