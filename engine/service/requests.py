"""A request body as the pipeline takes it: layers checked against the roots (and every file GDAL would read),
the extent, and the zones and area written as temporary files once the request is admitted."""

from __future__ import annotations

from pathlib import Path

from engine import errors
from engine.analysis.aoi import AoiSpec
from engine.analysis.areas import AreaUnit
from engine.analysis.run import ZoneSpec
from engine.ask import AskRequest
from engine.scene.confine import check_confined, check_request
from engine.scene.layer import open_layer
from engine.service.errors import ServiceError
from engine.service.schemas import AnalyseBody, AskBody, LayerBody, ReportBody
from engine.service.settings import ServiceSettings
from engine.service.vectors import PendingVectors, checked_text
from engine.types import Extent, LayerSpec


def layer_spec(layer: LayerBody, settings: ServiceSettings) -> LayerSpec:
    """A request's layer as a ``LayerSpec``, refused unless it is a file or folder the service may read."""
    if "\0" in layer.path:
        raise ServiceError(422, "invalid_layer", "a path cannot contain a NUL character")
    if not settings.allows(Path(layer.path)):
        raise ServiceError(403, "path_not_allowed", f"{layer.path} is outside the folders this service may read")
    try:
        path = Path(layer.path).expanduser()
        exists, plain = path.exists(), path.is_file() or path.is_dir()
    except (RuntimeError, OSError):  # "~user" for a user this machine does not have; a name too long
        exists = False
    if not exists:
        raise ServiceError(404, errors.LayerNotFoundError.code, f"layer not found: {layer.path}")
    if not plain:  # a device or a pipe: reading it could block forever
        raise ServiceError(422, errors.NotARasterError.code, f"{layer.path} is not a file or a folder")
    try:
        spec = LayerSpec(path=path, date=layer.date, sensor=layer.sensor, band_map=layer.band_map or {})
    except (ValueError, KeyError) as exc:
        raise ServiceError(422, "invalid_layer", f"{layer.path}: {exc}") from None
    if settings.roots:  # every file the layer reads, not only the one named: MTL/SAFE references, VRT sources
        check_request(path, settings.allows)  # the path, its metadata's references, VRT sources: before GDAL
        try:
            product = open_layer(spec)
        except errors.EngineError:  # it cannot be read as it is (inspect says why); nothing more will be opened
            return spec
        check_confined(product, settings.allows)
    return spec


def ask_request(body: AskBody | AnalyseBody | ReportBody,
                 settings: ServiceSettings) -> tuple[AskRequest, PendingVectors]:
    """The request (its zones and area still to be written, once admitted) and those vectors' text."""
    layers = [layer_spec(layer, settings) for layer in body.layers]
    extent = None
    if body.extent is not None:
        e = body.extent
        extent = Extent(e.xmin, e.ymin, e.xmax, e.ymax, e.crs)
    vectors = PendingVectors()
    for kind, collection in (("zones", body.zones), ("aoi", body.aoi)):  # a refusal is a ServiceError
        if collection is not None:
            vectors.texts[kind] = checked_text(collection, settings, kind)
    request = AskRequest(question=getattr(body, "question", None) or "", layers=layers, extent=extent, zones=None,
                         session_id=getattr(body, "session_id", None), language=body.language,
                         unit=AreaUnit(body.unit) if body.unit else None)
    request.aoi_label = body.aoi_name
    return request, vectors


def use_vectors(request: AskRequest, paths: dict[str, Path]) -> None:
    """The request's written zones and area, as the analysis takes them."""
    request.zones = ZoneSpec(paths["zones"]) if "zones" in paths else None
    request.aoi = AoiSpec(paths["aoi"], label=request.aoi_label) if "aoi" in paths else None
