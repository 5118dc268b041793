"""The polygons a request carries inline (zones, an area of interest): checked, then written for the engine.

They come as GeoJSON FeatureCollections in EPSG:4326. Each is checked against the service's
limits before the request is admitted (finite coordinates, feature count, size), written to a
temporary file once it is, and removed when the work ends, whatever happens.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from engine.service.errors import ServiceError
from engine.service.settings import ServiceSettings


class VectorRefused(ServiceError):
    """An inline vector the service will not take."""


def checked_text(collection: dict[str, object], settings: ServiceSettings, what: str) -> str:
    """``collection`` (``what``: zones, aoi) checked against the limits, as the text to write once admitted."""
    if collection.get("type") != "FeatureCollection" or not isinstance(collection.get("features"), list):
        raise VectorRefused(422, f"bad_{what}", f"{what} must be a GeoJSON FeatureCollection")
    if not collection["features"]:
        raise VectorRefused(422, f"bad_{what}", f"{what} holds no feature")
    if not _finite(collection["features"]):
        raise VectorRefused(422, f"bad_{what}",
                            f"a feature of {what} has a coordinate that is not a finite number, or nests too deep")
    if len(collection["features"]) > settings.max_zone_features:
        raise VectorRefused(413, f"too_many_{what}", f"{len(collection['features'])} {what} features; the limit "
                                                     f"is {settings.max_zone_features}")
    text = json.dumps(collection)
    if len(text.encode()) > settings.max_zone_bytes:
        raise VectorRefused(413, f"{what}_too_large", f"{what} exceed {settings.max_zone_bytes // 2**20} MB")
    return text


def _finite(node: object, max_depth: int = 64) -> bool:
    """Every number in ``node`` is finite, and it nests no deeper than ``max_depth`` (GeoJSON needs 6)."""
    stack = [(node, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return False
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]
    return True


@dataclass
class PendingVectors:
    """A request's checked vectors by kind, written to temporary files once admitted and removed after."""

    texts: dict[str, str] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)

    def write(self) -> dict[str, Path]:
        try:
            for kind, text in self.texts.items():
                handle, name = tempfile.mkstemp(suffix=".geojson", prefix=f"{kind}-")
                with os.fdopen(handle, "w", encoding="utf-8") as f:
                    f.write(text)
                self.paths[kind] = Path(name)
        except OSError:
            self.remove()
            raise
        return self.paths

    def remove(self) -> None:
        for path in self.paths.values():
            path.unlink(missing_ok=True)
        self.paths = {}
