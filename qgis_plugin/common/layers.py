"""From QGIS layers and extents to what the engine reads: file paths, an extent in the layer's CRS, zones."""

import json

from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject, QgsRasterLayer
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


NAME_FIELDS = ("name", "NAME", "Name", "名称", "XZQMC", "xzqmc", "XZMC", "QHMC")


def area_geojson(layer):
    """A boundary layer's selected features (all of them when none is selected) as the engine's area of interest,
    and the area's name: the feature's name when there is one feature, else the layer's name."""
    selected = layer.selectedFeatures()
    features = selected or list(layer.getFeatures())
    collection = zones_geojson(layer, features, tr("The boundary layer {} has no polygons"))
    field = next((f for f in NAME_FIELDS if f in layer.fields().names()), None)
    if len(features) == 1 and field is not None and _plain(features[0].attribute(field)):
        name = str(_plain(features[0].attribute(field)))
    else:
        name = layer.name() if not selected else tr("{} ({} selected)").format(layer.name(), len(selected))
    return collection, name


def zones_geojson(layer, features=None, empty_message=None):
    """A polygon layer (or ``features`` of it) as a GeoJSON FeatureCollection in EPSG:4326, as the engine takes it."""
    return features_geojson(layer.crs(), layer.fields().names(),
                            features if features is not None else layer.getFeatures(), layer.name(), empty_message)


def features_geojson(crs, names, features, label, empty_message=None):
    """Polygons in ``crs`` with the attributes ``names`` as a GeoJSON FeatureCollection in EPSG:4326.

    Each geometry is transformed with ``QgsCoordinateTransform`` and written with ``QgsGeometry.asJson`` (both in
    QGIS 3.22, the plugin's minimum; ``QgsJsonExporter.setDestinationCrs`` is not). Attributes go as strings or
    numbers; features without a geometry are left out. ``label`` names the layer in messages.
    """
    to_wgs84 = QgsCoordinateTransform(crs, QgsCoordinateReferenceSystem("EPSG:4326"), QgsProject.instance())
    out = []
    for feature in features:
        geometry = feature.geometry()
        if geometry is None or geometry.isEmpty():
            continue
        geometry = geometry.__class__(geometry)  # a copy: the layer's own features stay untouched
        if geometry.transform(to_wgs84) != 0:
            raise LayerError(tr("A zone of {} cannot be transformed to longitude/latitude").format(label))
        properties = {name: _plain(feature.attribute(name)) for name in names}
        out.append({"type": "Feature", "properties": properties, "geometry": json.loads(geometry.asJson(7))})
    if not out:
        raise LayerError((empty_message or tr("The zones layer {} has no polygons")).format(label))
    return {"type": "FeatureCollection", "features": out}


def _plain(value):
    """An attribute as JSON takes it (NULL as None; dates and other types as text)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "isNull") and value.isNull():
        return None
    return str(value)
