"""What one ask needs, gathered from the dock on the main thread and handed to the task."""

from dataclasses import dataclass, field


@dataclass
class LayerParams:
    path: str  # file or product folder, as the engine reads it
    date: str = ""  # YYYY-MM-DD override; empty = from the layer's metadata


@dataclass
class AskParams:
    question: str
    layers: list  # LayerParams, in any order (the engine sorts by date)
    extent: dict  # {xmin, ymin, xmax, ymax, crs}: the canvas extent in the first layer's CRS
    session_id: str
    language: str = "zh"  # zh | en
    unit: str = "mu"  # mu | ha | km2
    zones: dict = field(default=None)  # GeoJSON FeatureCollection in EPSG:4326, or None

    def body(self):
        """The JSON body of POST /v1/ask (streamed)."""
        body = {"question": self.question, "session_id": self.session_id, "language": self.language,
                "unit": self.unit, "stream": True, "extent": self.extent,
                "layers": [{"path": lp.path, **({"date": lp.date} if lp.date else {})} for lp in self.layers]}
        if self.zones is not None:
            body["zones"] = self.zones
        return body
