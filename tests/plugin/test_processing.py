"""Both Processing algorithms through processing.run, against a real engine process."""

import json
import sys

import pytest
import qgis.utils
from conftest import PLUGIN_NAME, start_plugin
from qgis.core import QgsApplication, QgsProcessingParameterRasterLayer, QgsProject, QgsRasterLayer
from test_dock_ask import L7_B4, L8_B5

sys.path.insert(0, "/usr/share/qgis/python/plugins")  # Debian's QGIS: where the processing plugin lives


@pytest.fixture
def provider(qgis_app, plugins_dir, iface, monkeypatch, engine_url):
    import processing  # noqa: F401
    from processing.core.Processing import Processing

    Processing.initialize()
    start_plugin(iface, plugins_dir, monkeypatch, engine_url)
    yield QgsApplication.processingRegistry().providerById("landusemonitor")
    assert qgis.utils.unloadPlugin(PLUGIN_NAME)
    assert QgsApplication.processingRegistry().providerById("landusemonitor") is None  # removed on unload
    QgsProject.instance().clear()


def test_both_algorithms_run_through_processing(provider, tmp_path):
    import processing

    assert provider is not None
    assert {a.id() for a in provider.algorithms()} == {"landusemonitor:askaboutextent",
                                                       "landusemonitor:changepolygons", "landusemonitor:sweepareas"}
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


def test_change_polygons_run_inside_a_model(provider):
    """A Model Builder model: two raster inputs -> Land-cover change polygons -> the model's output."""
    import processing
    from qgis.core import (
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildParameterSource,
        QgsProcessingModelOutput,
        QgsProcessingModelParameter,
    )

    model = QgsProcessingModelAlgorithm("change check", "county")
    for name in ("current", "baseline"):
        model.addModelParameter(QgsProcessingParameterRasterLayer(name, name), QgsProcessingModelParameter(name))
    child = QgsProcessingModelChildAlgorithm("landusemonitor:changepolygons")
    child.setChildId("changes")
    child.addParameterSources("INPUT", [QgsProcessingModelChildParameterSource.fromModelParameter("current")])
    child.addParameterSources("BASELINE", [QgsProcessingModelChildParameterSource.fromModelParameter("baseline")])
    output = QgsProcessingModelOutput("polygons")
    output.setChildOutputName("OUTPUT")
    child.setModelOutputs({"polygons": output})
    model.addChildAlgorithm(child)
    model.updateDestinationParameters()
    valid, problems = model.validate()
    assert valid, problems
    result = processing.run(model, {"current": str(L8_B5), "baseline": str(L7_B4),
                                    "changes:polygons": "memory:"})
    layer = result["changes:polygons"]
    layer = layer if not isinstance(layer, str) else QgsProject.instance().mapLayer(layer)
    assert layer is not None and layer.featureCount() > 0, result


def test_ask_runs_row_after_row_as_in_batch_mode(provider, tmp_path):
    """The batch dialog runs the algorithm once per row, layers given as file paths: each row its own file."""
    import processing
    from qgis.core import QgsSettings

    QgsSettings().setValue("county_landuse_monitor/language", "auto")  # answer in each question's language
    rows = [(str(L8_B5), str(L7_B4), "新增耕地面积是多少？"), (str(L8_B5), str(L7_B4), "How much new built-up land?")]
    answers = []
    for i, (current, baseline, question) in enumerate(rows):
        out = tmp_path / f"row{i}.geojson"
        result = processing.run("landusemonitor:askaboutextent", {"INPUT": current, "BASELINE": baseline,
                                                                 "QUESTION": question, "OUTPUT": str(out)})
        data = json.loads(out.read_text(encoding="utf-8"))
        assert data["features"] and {f["properties"]["question"] for f in data["features"]} == {question}
        answers.append(result["ANSWER"])
    assert "亩" in answers[0] and " mu" in answers[1] and "亩" not in answers[1], answers  # each in its language


def test_sweep_areas_measures_the_selected_townships_and_loads_the_results(provider, tmp_path):
    """Two townships in Web Mercator over the UTM samples, one selected: only it is swept, through the engine's
    /v1/sweep; the change patches, zone violations and summary table come back into the project."""
    import csv

    import processing
    from qgis.core import QgsProcessingFeatureSourceDefinition
    from test_zones import townships_layer

    current, baseline = QgsRasterLayer(str(L8_B5), "2013"), QgsRasterLayer(str(L7_B4), "2001")
    towns, _ = townships_layer(current)
    QgsProject.instance().addMapLayers([current, baseline, towns])
    towns.selectByExpression("\"XZQMC\" = '西镇'")
    out = tmp_path / "sweep"
    result = processing.run("landusemonitor:sweepareas", {
        "AREAS": QgsProcessingFeatureSourceDefinition(towns.id(), True), "NAME_FIELD": "XZQMC",
        "LAYERS": [current, baseline], "REPORTS": True, "OUTPUT": str(out)})
    assert result["OUTPUT"] == str(out) and result["FINDINGS"].endswith("findings.gpkg")
    assert result["SUMMARY_REPORT"] == str(out / "summary_report.docx") and (out / "summary_report.docx").is_file()
    assert {"report.docx", "patches.gpkg"} <= {p.name for p in (out / "reports" / "西镇").iterdir()}
    rows = list(csv.DictReader((out / "summary.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert [(r["area"], r["status"]) for r in rows] == [("西镇", "ok")]
    assert json.loads((out / "facts" / "西镇.json").read_text(encoding="utf-8"))["aoi"]["name"] == "西镇"
    names = {layer.name() for layer in QgsProject.instance().mapLayers().values()}
    assert {"变化图斑", "保护区疑似违规", "批量测量汇总"} <= names, names
