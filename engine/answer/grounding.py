"""Grounding boxes: Qwen2.5-VL's ``bbox_2d`` JSON mapped through an image's geotransform to map polygons.

Qwen2.5-VL points at regions with ``{"bbox_2d": [x1, y1, x2, y2], "label": ...}``
in absolute pixels of the image it was given (already at ``smart_resize``
size here, so the model's pixels are the rendered tile's pixels); Qwen3-VL gives
them per mille of the image's width and height (``box_scale`` 1000). Each box's
corners go through that tile's geotransform to the grid CRS, then to EPSG:4326
as an RFC 7946 polygon (edges densified, counter-clockwise). These findings
carry ``source`` = ``"model"``: they are where the model looked, not measurements.
JSON is parsed with ``json``, never evaluated.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

from pyproj import Transformer
from shapely.geometry import Polygon, mapping
from shapely.geometry.polygon import orient

from engine.prompt.builder import ImageFrame

log = logging.getLogger(__name__)

_OBJECT = re.compile(r"\{[^{}]*\"bbox_2d\"[^{}]*\}")
_EDGE_POINTS = 8


@dataclass(frozen=True)
class Box:
    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    image: int | None  # 1-based image number when the model gave one


def parse_boxes(text: str) -> list[Box]:
    """The ``bbox_2d`` objects in ``text`` (malformed ones are skipped and logged)."""
    boxes = []
    for match in _OBJECT.finditer(text):
        try:
            obj = json.loads(match.group(0))
            x1, y1, x2, y2 = (float(v) for v in obj["bbox_2d"])
        except (ValueError, TypeError, KeyError) as exc:
            log.info("skipped a malformed grounding box %r: %s", match.group(0)[:80], exc)
            continue
        image = obj.get("image")
        boxes.append(Box(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2), str(obj.get("label", "")),
                         int(image) if isinstance(image, int | float) and not isinstance(image, bool) else None))
    return boxes


def box_to_feature(box: Box, frame: ImageFrame, image_number: int) -> dict[str, object] | None:
    """The box as a GeoJSON Feature in EPSG:4326, or None when it is empty inside the image."""
    x1, x2 = max(0.0, box.x1), min(float(frame.width), box.x2)
    y1, y2 = max(0.0, box.y1), min(float(frame.height), box.y2)
    if x2 <= x1 or y2 <= y1:
        return None
    ring = []
    corners = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
    for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1], strict=True):
        ring += [(ax + (bx - ax) * k / _EDGE_POINTS, ay + (by - ay) * k / _EDGE_POINTS) for k in range(_EDGE_POINTS)]
    to_wgs84 = Transformer.from_crs(frame.crs, "EPSG:4326", always_xy=True)
    xs, ys = zip(*(frame.transform @ p for p in ring), strict=True)
    lons, lats = to_wgs84.transform(xs, ys)
    polygon = orient(Polygon(zip(lons, lats, strict=True)), sign=1.0)
    centroid = polygon.centroid
    return {"type": "Feature", "geometry": mapping(polygon),
            "properties": {"source": "model", "label": box.label, "image": image_number, "date": frame.date,
                           "composite": frame.composite, "bbox_2d": [box.x1, box.y1, box.x2, box.y2],
                           "centroid_lon": centroid.x, "centroid_lat": centroid.y}}


def boxes_to_features(text: str, frames: list[ImageFrame], box_scale: int | None = None) -> list[dict[str, object]]:
    """Features for every box in ``text``; a box without an image number refers to the last image.

    ``box_scale``: the model's boxes are relative to it (Qwen3-VL: 1000), not in the image's pixels.
    """
    features = []
    for box in parse_boxes(text):
        number = box.image if box.image is not None and 1 <= box.image <= len(frames) else len(frames)
        if not frames:
            break
        frame = frames[number - 1]
        if box_scale:
            sx, sy = frame.width / box_scale, frame.height / box_scale
            box = Box(box.x1 * sx, box.y1 * sy, box.x2 * sx, box.y2 * sy, box.label, box.image)
        feature = box_to_feature(box, frame, number)
        if feature is not None:
            features.append(feature)
    return features
