"""From QGIS layers and extents to what the engine reads: file paths, an extent in the layer's CRS, zones."""

import json

from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsJsonExporter, QgsProject, QgsRasterLayer
from qgis.PyQt.QtCore import QCoreApplication

from .errors import LayerError
from .params import LayerParams


def tr(text):
    return QCoreApplication.translate("LandUseMonitor", text)


def layer_params(layer):
    """The engine's view of a raster layer: its file (the engine finds the product around a band file)."""
    if not isinstance(layer, QgsRasterLayer):
        raise LayerError(tr("Choose a raster layer"))
    if not layer.crs().isValid():
        raise LayerError(tr("The layer has no CRS: set it in its properties"))
    return LayerParams(path=layer.source().split("|")[0])


def extent_for(layer, rect, rect_crs):
    """``rect`` (in ``rect_crs``) in the layer's CRS, clipped to the layer, as the engine's extent record."""
    to_layer = QgsCoordinateTransform(rect_crs, layer.crs(), QgsProject.instance())
    extent = to_layer.transformBoundingBox(rect)
    if not extent.intersects(layer.extent()):
        raise LayerError(tr("The map view is outside the layer: zoom to it"))
    extent = extent.intersect(layer.extent())
    return {"xmin": extent.xMinimum(), "ymin": extent.yMinimum(), "xmax": extent.xMaximum(),
            "ymax": extent.yMaximum(), "crs": layer.crs().authid() or layer.crs().toWkt()}


def zones_geojson(layer):
    """A polygon layer as a GeoJSON FeatureCollection in EPSG:4326 (what the engine takes)."""
    exporter = QgsJsonExporter(layer)
    exporter.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    return json.loads(exporter.exportFeatures(list(layer.getFeatures())))
