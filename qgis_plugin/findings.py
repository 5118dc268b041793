"""Findings as a GeoJSON file and a styled layer: what the answer found, where, measured or pointed at."""

import datetime as dt
import json
import os

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsFeatureRequest,
    QgsPalLayerSettings,
    QgsProject,
    QgsRendererCategory,
    QgsSymbol,
    QgsVectorLayer,
    QgsVectorLayerSimpleLabeling,
)
from qgis.PyQt.QtGui import QColor

from .common.vocab import UNITS, class_names

CLASS_COLOURS = {"water": "#2b7bba", "built_up": "#d7301f", "bare": "#c8a165", "cropland_grassland": "#f1d84b",
                 "forest": "#1a9641"}


def collection_for_export(findings, question, answer, model, source_layers, now=None):
    """The findings with the ask's context on every feature (RFC 7946, EPSG:4326)."""
    stamp = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    excerpt = answer if len(answer) <= 200 else answer[:199] + "…"
    features = []
    for feature in findings.get("features", []):
        props = dict(feature.get("properties") or {})
        props.update({"question": question, "answer_excerpt": excerpt, "model": model, "timestamp": stamp,
                      "source_layers": ";".join(source_layers)})
        features.append({"type": "Feature", "geometry": feature["geometry"], "properties": props})
    return {"type": "FeatureCollection", "features": features}


def write_atomic(collection, path):
    """Write next to ``path`` and rename over it, so a crash never leaves half a file."""
    tmp = f"{path}.part"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(collection, f, ensure_ascii=False)
    os.replace(tmp, path)


def add_styled_layer(path, name, unit, temporary=False):
    """Add the GeoJSON as a layer categorised by ``class_to`` and labelled with the area in ``unit``.

    It goes on top of the layer tree (above an opaque zones layer), and its legend lists only the classes present.
    """
    layer = QgsVectorLayer(path, name, "ogr")
    if not layer.isValid():
        raise ValueError(f"cannot open {path} as a vector layer")
    if temporary:
        layer = layer.materialize(QgsFeatureRequest())
        layer.setName(name)
    categories = []
    names = class_names()
    present = {feature["class_to"] for feature in layer.getFeatures()}
    for key, colour in CLASS_COLOURS.items():
        if key not in present:
            continue
        symbol = QgsSymbol.defaultSymbol(layer.geometryType())
        symbol.setColor(QColor(colour))
        symbol.setOpacity(0.6)
        categories.append(QgsRendererCategory(key, symbol, names[key]))
    layer.setRenderer(QgsCategorizedSymbolRenderer("class_to", categories))
    labels = QgsPalLayerSettings()
    labels.isExpression = True
    labels.fieldName = f"format_number(\"area_{unit}\", 2) || ' {dict(UNITS).get(unit, unit)}'"
    layer.setLabeling(QgsVectorLayerSimpleLabeling(labels))
    layer.setLabelsEnabled(True)
    QgsProject.instance().addMapLayer(layer, False)
    QgsProject.instance().layerTreeRoot().insertLayer(0, layer)
    return layer
