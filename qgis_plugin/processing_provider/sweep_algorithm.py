"""Sweep areas: every feature of a boundary layer (or of its selection) measured by the engine's sweep.

The boundaries go to the local engine service inline (EPSG:4326), with the raster layers' files and an
output folder (both under the service's roots); the service runs ``engine sweep`` on Dask and streams
its progress. The change patches and zone violations (``findings.gpkg``) and the summary table are
then loaded into the project.
"""

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputFile,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterVectorLayer,
    QgsVectorLayer,
)

from ..common.errors import LayerError
from ..common.layers import features_geojson, layer_params, zones_geojson
from .algorithms import _Base, tr
from .engine_call import run_body


class SweepAreas(_Base):
    def name(self):
        return "sweepareas"

    def displayName(self):
        return tr("Sweep areas")

    def shortHelpString(self):
        return tr("Measures every area of a boundary layer (townships, counties; its selected features when "
                  "'Selected features only' is ticked) on the same dates, through the local engine's sweep on "
                  "Dask. Loads the change patches, zone violations and the summary table (亩 and 公顷) into the "
                  "project. A rerun into the same folder skips the areas already measured.")

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFeatureSource("AREAS", tr("Boundary layer"),
                                                              [QgsProcessing.SourceType.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField("NAME_FIELD", tr("Name field"),
                                                      parentLayerParameterName="AREAS"))
        self.addParameter(QgsProcessingParameterMultipleLayers("LAYERS", tr("Layers (one or more per date)"),
                                                               QgsProcessing.SourceType.TypeRaster))
        self.addParameter(QgsProcessingParameterVectorLayer("ZONES", tr("Zones"),
                                                            [QgsProcessing.SourceType.TypeVectorPolygon],
                                                            optional=True))
        self.addParameter(QgsProcessingParameterBoolean("FORCE", tr("Measure again the areas already measured"),
                                                        defaultValue=False))
        self.addParameter(QgsProcessingParameterBoolean("REPORTS", tr("Write a report per area and a summary report"),
                                                        defaultValue=False))
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT", tr("Sweep folder")))
        self.addOutput(QgsProcessingOutputFile("FINDINGS", tr("Findings (GeoPackage)")))
        self.addOutput(QgsProcessingOutputFile("SUMMARY", tr("Summary table (Excel)")))
        self.addOutput(QgsProcessingOutputFile("SUMMARY_REPORT", tr("Summary report (Word)")))

    def processAlgorithm(self, parameters, context, feedback):
        source = self.parameterAsSource(parameters, "AREAS", context)
        field = self.parameterAsString(parameters, "NAME_FIELD", context)
        layers = self.parameterAsLayerList(parameters, "LAYERS", context)
        zones = self.parameterAsVectorLayer(parameters, "ZONES", context)
        out = self.parameterAsString(parameters, "OUTPUT", context)
        try:
            body = {"areas": features_geojson(source.sourceCrs(), [field], source.getFeatures(), source.sourceName(),
                                              tr("The boundary layer {} has no polygons")),
                    "name_field": field, "layers": [layer_params(layer).path for layer in layers], "out": out,
                    "force": self.parameterAsBoolean(parameters, "FORCE", context),
                    "reports": self.parameterAsBoolean(parameters, "REPORTS", context), "stream": True}
            if zones is not None:
                body["zones"] = zones_geojson(zones)
        except LayerError as exc:
            raise QgsProcessingException(str(exc)) from None
        _, events = run_body("sweep", body, feedback)
        done = events.get("done") or {}
        for failure in done.get("failed", []):
            feedback.reportError(tr("{}: {}").format(failure["area"], failure["error"]))
        feedback.pushInfo(tr("{} of {} areas measured; results in {}").format(done.get("measured", 0),
                                                                            done.get("areas", 0), out))
        self._load(done, context)
        return {"OUTPUT": out, "FINDINGS": done.get("findings", ""), "SUMMARY": done.get("summary_xlsx", ""),
                "SUMMARY_REPORT": done.get("summary_report", "")}

    @staticmethod
    def _load(done, context):
        """The findings' two layers and the summary table, into the project the algorithm runs for."""
        project = context.project()
        if project is None or not done.get("findings"):
            return
        loaded = [QgsVectorLayer(f"{done['findings']}|layername={name}", label, "ogr")
                  for name, label in (("change_patches", tr("Change patches")),
                                      ("zone_violations", tr("Zone violations")))]
        loaded.append(QgsVectorLayer(done["summary_csv"], tr("Sweep summary"), "ogr"))
        project.addMapLayers([layer for layer in loaded if layer.isValid()])
