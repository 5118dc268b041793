"""Protection zones in QGIS 3.22: a zones layer in another CRS than the rasters, from the dock and Processing.

Suspected violations in protection zones are the product's main use: the zones
layer here is in longitude/latitude (EPSG:4326) and in Web Mercator while the
Landsat samples are in UTM 32N, as a bureau's 基本农田 layer and its imagery
usually are.
"""

import json

import pytest
from conftest import wait_until
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsDistanceArea,
    QgsFeature,
    QgsGeometry,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtTest import QTest
from test_dock_ask import L7_B4, L8_B5
from test_processing import provider  # noqa: F401  (the Processing fixture)


def zones_layer(raster, crs):
    """A 基本农田 polygon over the western half of ``raster``, in ``crs``, with a name and a kind."""
    e = raster.extent()
    west = QgsRectangle(e.xMinimum(), e.yMinimum(), (e.xMinimum() + e.xMaximum()) / 2, e.yMaximum())
    geometry = QgsGeometry.fromRect(west)
    geometry.densifyByCount(10)
    to_crs = QgsCoordinateTransform(raster.crs(), QgsCoordinateReferenceSystem(crs), QgsProject.instance())
    assert geometry.transform(to_crs) == 0
    layer = QgsVectorLayer(f"Polygon?crs={crs}&field=name:string&field=kind:string", "基本农田", "memory")
    feature = QgsFeature(layer.fields())
    feature.setGeometry(geometry)
    feature.setAttributes(["基本农田一区", "farmland"])
    assert layer.dataProvider().addFeatures([feature])
    layer.updateExtents()
    return layer, west


def townships_layer(raster, crs="EPSG:3857"):
    """Two townships, 西镇 and 东镇, the western and eastern halves of ``raster``, drawn in ``crs`` (field XZQMC)."""
    e = raster.extent()
    mid = (e.xMinimum() + e.xMaximum()) / 2
    halves = {"西镇": QgsRectangle(e.xMinimum(), e.yMinimum(), mid, e.yMaximum()),
              "东镇": QgsRectangle(mid, e.yMinimum(), e.xMaximum(), e.yMaximum())}
    towns = QgsVectorLayer(f"Polygon?crs={crs}&field=XZQMC:string", "乡镇界", "memory")
    to_crs = QgsCoordinateTransform(raster.crs(), QgsCoordinateReferenceSystem(crs), QgsProject.instance())
    features = []
    for name, rect in halves.items():
        geometry = QgsGeometry.fromRect(rect)
        geometry.densifyByCount(10)
        assert geometry.transform(to_crs) == 0
        feature = QgsFeature(towns.fields())
        feature.setGeometry(geometry)
        feature.setAttributes([name])
        features.append(feature)
    assert towns.dataProvider().addFeatures(features)
    towns.updateExtents()
    return towns, halves


def _lons(coordinates):
    if isinstance(coordinates[0], (int, float)):
        return [coordinates[0]]
    return [lon for part in coordinates for lon in _lons(part)]


def _ground_area_m2(rect, crs):
    area = QgsDistanceArea()
    area.setSourceCrs(crs, QgsProject.instance().transformContext())
    area.setEllipsoid("WGS84")
    return area.measureArea(QgsGeometry.fromRect(rect))


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:3857"])
def test_ask_with_a_zones_layer_in_another_crs(dock, iface, crs):
    current, baseline = QgsRasterLayer(str(L8_B5), "Landsat 8 2013"), QgsRasterLayer(str(L7_B4), "Landsat 7 2001")
    zones, west = zones_layer(current, crs)
    QgsProject.instance().addMapLayers([current, baseline, zones])
    iface.mapCanvas().setDestinationCrs(current.crs())
    iface.mapCanvas().setExtent(current.extent())
    dock.layer_box.setLayer(current)
    dock.baseline_box.setLayer(baseline)
    dock.zones_box.setLayer(zones)
    dock.question.setPlainText("是否存在疑似违规建设？")
    QTest.mouseClick(dock.ask_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: dock.ask_button.isEnabled(), 120)
    assert dock.status.text().startswith("完成"), dock.status.text()
    (zone,) = dock.facts["zones"]
    assert zone["name"] == "基本农田一区" and zone["kind"] == "farmland" and not zone["outside"]
    # the western half of the extent, measured on the ground: the zone came through in its own CRS
    assert zone["area_in_extent_m2"] == pytest.approx(_ground_area_m2(west, current.crs()), rel=0.05)
    inside = [f for f in dock.findings["features"] if f["properties"].get("zone") == "基本农田一区"]
    to_wgs84 = QgsCoordinateTransform(current.crs(), QgsCoordinateReferenceSystem("EPSG:4326"), QgsProject.instance())
    east_edge = to_wgs84.transformBoundingBox(west).xMaximum()
    assert inside and all(min(_lons(f["geometry"]["coordinates"])) <= east_edge for f in inside)  # they overlap it


def test_zones_export_never_changes_the_layer(dock, iface):
    from county_landuse_monitor.common.layers import zones_geojson

    current = QgsRasterLayer(str(L8_B5), "Landsat 8 2013")
    zones, _ = zones_layer(current, "EPSG:3857")
    before = next(zones.getFeatures()).geometry().asWkt()
    collection = zones_geojson(zones)
    assert next(zones.getFeatures()).geometry().asWkt() == before
    (feature,) = collection["features"]
    lon, lat = feature["geometry"]["coordinates"][0][0]
    assert -180 <= lon <= 180 and -90 <= lat <= 90 and feature["properties"]["name"] == "基本农田一区"
    json.dumps(collection)  # plain JSON


def test_change_polygons_with_zones_in_processing(provider, tmp_path):  # noqa: F811
    import processing

    current, baseline = QgsRasterLayer(str(L8_B5), "2013"), QgsRasterLayer(str(L7_B4), "2001")
    zones, _ = zones_layer(current, "EPSG:4326")
    QgsProject.instance().addMapLayers([current, baseline, zones])
    result = processing.run("landusemonitor:changepolygons", {
        "INPUT": current, "BASELINE": baseline, "ZONES": zones, "OUTPUT": "memory:changes"})
    layer = result["OUTPUT"]
    layer = layer if not isinstance(layer, str) else QgsProject.instance().mapLayer(layer)
    named = {f["zone"] for f in layer.getFeatures()}
    assert "基本农田一区" in named  # patches in the zone carry its name
    assert all(f["source"] == "measured" for f in layer.getFeatures())
    out = tmp_path / "findings.geojson"
    asked = processing.run("landusemonitor:askaboutextent", {
        "INPUT": current, "BASELINE": baseline, "ZONES": zones, "QUESTION": "是否存在疑似违规建设？",
        "OUTPUT": str(out)})
    assert asked["ANSWER"]


def test_the_selected_features_of_a_boundary_layer_are_the_area(dock, iface):
    """Two townships in Web Mercator over the UTM scene; the western one selected: only it is measured."""
    current, baseline = QgsRasterLayer(str(L8_B5), "Landsat 8 2013"), QgsRasterLayer(str(L7_B4), "Landsat 7 2001")
    towns, halves = townships_layer(current)
    e = current.extent()
    QgsProject.instance().addMapLayers([current, baseline, towns])
    towns.selectByExpression("\"XZQMC\" = '西镇'")
    iface.mapCanvas().setDestinationCrs(current.crs())
    iface.mapCanvas().setExtent(current.extent())
    dock.layer_box.setLayer(current)
    dock.baseline_box.setLayer(baseline)
    dock.area_box.setLayer(towns)
    QTest.mouseClick(dock.measure_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: dock.measure_button.isEnabled(), 120)
    assert dock.status.text().startswith("完成"), dock.status.text()
    assert dock.facts["aoi"]["name"] == "西镇"
    assert dock.facts["analysed_area_m2"] == pytest.approx(_ground_area_m2(halves["西镇"], current.crs()), rel=0.05)
    towns.removeSelection()  # none selected: the whole layer is the area
    QTest.mouseClick(dock.measure_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: dock.measure_button.isEnabled(), 120)
    assert dock.facts["aoi"]["name"] == "乡镇界"
    assert dock.facts["analysed_area_m2"] == pytest.approx(_ground_area_m2(e, current.crs()), rel=0.05)
