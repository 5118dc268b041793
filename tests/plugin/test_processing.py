"""Both Processing algorithms through processing.run, against a real engine process."""

import json
import sys

import pytest
import qgis.utils
from conftest import PLUGIN_NAME, start_plugin
from qgis.core import QgsApplication, QgsProject, QgsRasterLayer
from test_dock_ask import L7_B4, L8_B5, engine_url  # noqa: F401  (the engine fixture)

sys.path.insert(0, "/usr/share/qgis/python/plugins")  # Debian's QGIS: where the processing plugin lives


@pytest.fixture
def provider(qgis_app, plugins_dir, iface, monkeypatch, engine_url):  # noqa: F811
    import processing  # noqa: F401
    from processing.core.Processing import Processing

    Processing.initialize()
    start_plugin(iface, plugins_dir, monkeypatch, engine_url)
    yield QgsApplication.processingRegistry().providerById("landusemonitor")
    qgis.utils.unloadPlugin(PLUGIN_NAME)
    assert QgsApplication.processingRegistry().providerById("landusemonitor") is None  # removed on unload
    QgsProject.instance().clear()


def test_both_algorithms_run_through_processing(provider, tmp_path):
    import processing

    assert provider is not None
    assert {a.id() for a in provider.algorithms()} == {"landusemonitor:askaboutextent",
                                                       "landusemonitor:changepolygons"}
    current, baseline = QgsRasterLayer(str(L8_B5), "2013"), QgsRasterLayer(str(L7_B4), "2001")
    QgsProject.instance().addMapLayers([current, baseline])
    out = tmp_path / "findings.geojson"
    result = processing.run("landusemonitor:askaboutextent", {
        "INPUT": current, "BASELINE": baseline, "QUESTION": "新增耕地面积是多少？", "OUTPUT": str(out)})
    assert "亩" in result["ANSWER"]
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["features"] and all(f["properties"]["question"] == "新增耕地面积是多少？" for f in data["features"])
    result = processing.run("landusemonitor:changepolygons", {
        "INPUT": current, "BASELINE": baseline, "OUTPUT": "memory:changes"})
    layer = result["OUTPUT"]
    layer = layer if not isinstance(layer, str) else QgsProject.instance().mapLayer(layer)
    assert layer.featureCount() > 0 and "class_to" in layer.fields().names()
    assert all(f["source"] == "measured" for f in layer.getFeatures())
