"""The two algorithms: ask about a raster extent (answer and findings file), and land-cover change polygons.

Both run on the main thread (``FlagNoThreading``) and wait for the engine in a local event loop
(``engine_call``); change polygons are measured by ``/v1/analyse``, never through the language model.
"""

from qgis.core import (
    QgsFeatureSink,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingOutputString,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorLayer,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QCoreApplication

from .. import findings
from .engine_call import params_for, run


def tr(text):
    return QCoreApplication.translate("LandUseMonitor", text)


class _Base(QgsProcessingAlgorithm):
    def group(self):
        return tr("Land-use monitoring")

    def groupId(self):
        return "landuse"

    def createInstance(self):
        return type(self)()

    def flags(self):
        return super().flags() | QgsProcessingAlgorithm.Flag.FlagNoThreading

    def _layers(self, parameters, context):
        layer = self.parameterAsRasterLayer(parameters, "INPUT", context)
        baseline = self.parameterAsRasterLayer(parameters, "BASELINE", context)
        rect = self.parameterAsExtent(parameters, "EXTENT", context)
        rect_crs = self.parameterAsExtentCrs(parameters, "EXTENT", context)
        return layer, baseline, rect, rect_crs

    def _add_inputs(self):
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", tr("Current layer")))
        self.addParameter(QgsProcessingParameterRasterLayer("BASELINE", tr("Baseline layer"),
                                                            optional=True))
        self.addParameter(QgsProcessingParameterExtent("EXTENT", tr("Extent"), optional=True))


class AskAboutExtent(_Base):
    def name(self):
        return "askaboutextent"

    def displayName(self):
        return tr("Ask about raster extent")

    def shortHelpString(self):
        return tr("Asks the engine about the layers over the extent. The answer's numbers are measured; the "
                  "findings (measured change patches and places the model pointed at) go to a GeoJSON file.")

    def initAlgorithm(self, config=None):
        self._add_inputs()
        self.addParameter(QgsProcessingParameterVectorLayer("ZONES", tr("Zones"),
                                                            [QgsProcessing.SourceType.TypeVectorPolygon],
                                                            optional=True))
        self.addParameter(QgsProcessingParameterString("QUESTION", tr("Question"),
                                                       defaultValue="新增耕地面积是多少？"))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT", tr("Findings"),
                                                                "GeoJSON (*.geojson)"))
        self.addOutput(QgsProcessingOutputString("ANSWER", tr("Answer")))

    def processAlgorithm(self, parameters, context, feedback):
        layer, baseline, rect, rect_crs = self._layers(parameters, context)
        zones = self.parameterAsVectorLayer(parameters, "ZONES", context)
        question = self.parameterAsString(parameters, "QUESTION", context)
        params = params_for(question, layer, baseline, rect, rect_crs, zones)
        answer, events = run("ask", params, feedback)
        output = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        model = (events.get("done", {}).get("backend") or {}).get("model") or ""
        findings.write_atomic(findings.collection_for_export(events.get("findings", {}), question, answer,
                                                             str(model), [lp.path for lp in params.layers]), output)
        feedback.pushInfo(answer)
        return {"ANSWER": answer, "OUTPUT": output}


class ChangePolygons(_Base):
    def name(self):
        return "changepolygons"

    def displayName(self):
        return tr("Land-cover change polygons")

    def shortHelpString(self):
        return tr("Measured land-cover change patches between the baseline and the current layer (after the "
                  "minimum mapping unit), with their classes and areas, as a polygon layer in EPSG:4326.")

    def initAlgorithm(self, config=None):
        self._add_inputs()
        self.addParameter(QgsProcessingParameterVectorLayer("ZONES", tr("Zones"),
                                                            [QgsProcessing.SourceType.TypeVectorPolygon],
                                                            optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink("OUTPUT", tr("Change polygons"),
                                                            QgsProcessing.SourceType.TypeVectorPolygon))

    def processAlgorithm(self, parameters, context, feedback):
        import os
        import tempfile

        layer, baseline, rect, rect_crs = self._layers(parameters, context)
        zones = self.parameterAsVectorLayer(parameters, "ZONES", context)
        _, events = run("analyse", params_for("", layer, baseline, rect, rect_crs, zones), feedback)
        measured = {"type": "FeatureCollection",
                    "features": [f for f in events.get("findings", {}).get("features", [])
                                 if f.get("properties", {}).get("source") == "measured"]}
        handle, path = tempfile.mkstemp(suffix=".geojson")
        os.close(handle)
        try:
            findings.write_atomic(measured, path)
            source = QgsVectorLayer(path, "changes", "ogr")
            sink, dest = self.parameterAsSink(parameters, "OUTPUT", context, source.fields(), source.wkbType(),
                                              source.crs())
            for feature in source.getFeatures():
                sink.addFeature(feature, QgsFeatureSink.Flag.FastInsert)
            del source
        finally:
            os.unlink(path)
        feedback.pushInfo(f"{len(measured['features'])} change polygons")
        return {"OUTPUT": dest}
