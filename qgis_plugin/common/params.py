"""What one ask needs, gathered from the dock on the main thread and handed to the task."""

from dataclasses import dataclass, field


@dataclass
class LayerParams:
    path: str  # file or product folder, as the engine reads it
    date: str = ""  # YYYY-MM-DD override; empty = from the layer's metadata
    band_map: dict = field(default_factory=dict)  # role (red, nir, ...) -> 1-based band index; empty = from metadata

    def body(self):
        """The layer as the engine's requests take it."""
        return {"path": self.path, **({"date": self.date} if self.date else {}),
                **({"band_map": self.band_map} if self.band_map else {})}


@dataclass
class AskParams:
    question: str
    layers: list  # LayerParams, in any order (the engine sorts by date)
    extent: dict  # {xmin, ymin, xmax, ymax, crs}: the canvas extent in the first layer's CRS
    session_id: str
    language: str = "auto"  # zh | en | auto (the question's language)
    unit: str = "mu"  # mu | ha | km2
    zones: dict = field(default=None)  # GeoJSON FeatureCollection in EPSG:4326, or None
    aoi: dict = field(default=None)  # area of interest: GeoJSON FeatureCollection in EPSG:4326, or None
    aoi_name: str = ""  # its name in the facts

    def body(self):
        """The JSON body of POST /v1/ask (streamed)."""
        body = {"question": self.question, "session_id": self.session_id,
                **({"language": self.language} if self.language in ("zh", "en") else {}),
                "unit": self.unit, "stream": True, "extent": self.extent,
                "layers": [lp.body() for lp in self.layers]}
        if self.zones is not None:
            body["zones"] = self.zones
        if self.aoi is not None:
            body["aoi"] = self.aoi
            if self.aoi_name:
                body["aoi_name"] = self.aoi_name
        return body

    def analyse_body(self):
        """The JSON body of POST /v1/analyse (streamed): measurement without the model; a question is optional."""
        body = {k: v for k, v in self.body().items() if k not in ("session_id", "question")}
        if self.question:
            body["question"] = self.question
        return body

    def report_body(self, model):
        """The JSON body of POST /v1/report (streamed): the same layers, extent, zones and area; ``model``: the
        summary by the engine's model (when it has one) rather than from the measurements alone."""
        keep = ("extent", "layers", "zones", "aoi", "aoi_name")
        body = {k: v for k, v in self.body().items() if k in keep}
        body["language"] = self.language if self.language in ("zh", "en") else "zh"
        body["unit"] = self.unit if self.unit in ("mu", "ha") else "mu"
        body["model"] = bool(model)
        return body
