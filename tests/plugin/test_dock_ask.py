"""The dock end to end inside real QGIS: a real engine process, a Landsat layer, the Ask button, the streamed answer."""

import json
import os
import socket
import subprocess

import pytest
import qgis.utils
from conftest import ENGINE_PYTHON, PLUGIN_NAME, REPO, start_engine, start_plugin, wait_until
from osgeo import ogr
from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsGeometry,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
)
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QTextCursor
from qgis.PyQt.QtTest import QTest
from qgis.PyQt.QtWidgets import QApplication, QMessageBox

ARTIFACTS = REPO / "test-artifacts"
L7 = "LE07_L1TP_195025_20010730_20170204_01_T1"
L8 = "LC08_L1TP_195025_20130707_20170503_01_T1"
L7_B4 = REPO / "tests/data/landsat" / L7 / f"{L7}_B4.TIF"  # QGIS opens a band; the engine finds its product
L8_B5 = REPO / "tests/data/landsat" / L8 / f"{L8}_B5.TIF"


@pytest.fixture(scope="module")
def tiny_engine_url(tmp_path_factory):
    """An engine serving the tiny Qwen2.5-VL in 4-bit (its answers are random tokens)."""
    if not ENGINE_PYTHON.exists():
        pytest.skip("the engine environment (.venv) is not set up: run scripts/setup.sh")
    model = tmp_path_factory.mktemp("tiny-qwen")
    subprocess.run([str(ENGINE_PYTHON), "-m", "engine", "make-tiny-model", str(model)], cwd=REPO, check=True,
                   env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True)
    process, url = start_engine(tmp_path_factory, "--backend", "local", "--model", str(model), "--precision", "nf4",
                                 "--device", "cpu", "--max-new-tokens", "24")
    yield url
    process.terminate()
    process.wait(10)


def show_pair(dock, iface, current, baseline):
    """Both layers in the project, the map on the current one, chosen in the dock: (current, baseline)."""
    QgsProject.instance().addMapLayers([current, baseline])
    iface.mapCanvas().setDestinationCrs(current.crs())
    iface.mapCanvas().setExtent(current.extent())
    dock.layer_box.setLayer(current)
    dock.baseline_box.setLayer(baseline)
    return current, baseline


def _last(dock):
    """The conversation's last turn and its verdict line."""
    turn = dock.thread.turns()[-1]
    return turn, dock.thread.item_of(turn).text().splitlines()[-1]


def test_ask_about_the_visible_layer_streams_an_answer_and_facts(dock, iface, tmp_path, monkeypatch):
    current = QgsRasterLayer(str(L8_B5), "Landsat 8 2013")
    baseline = QgsRasterLayer(str(L7_B4), "Landsat 7 2001")
    assert current.isValid() and baseline.isValid()
    show_pair(dock, iface, current, baseline)
    dock.examples.setCurrentIndex(1)
    dock.examples.activated.emit(1)
    assert dock.question.toPlainText() == "本季度耕地面积变化情况？"
    wait_until(lambda: dock.engine.connected, 10)  # the engine's health (backend none) has arrived
    QTest.mouseClick(dock.ask_button, Qt.MouseButton.LeftButton)
    assert not dock.ask_button.isEnabled() and dock.question.toPlainText() == ""
    longest_stall_ms = wait_until(lambda: dock.ask_button.isEnabled())
    assert dock.status.text().startswith("完成"), dock.status.text()
    turn, verdict = _last(dock)
    assert turn.question == "本季度耕地面积变化情况？" and "亩" in turn.answer and turn.state == "done"
    assert dock.last_endpoint == "analyse"  # an engine without a model: the question needs no explanation
    assert verdict.startswith("✔")
    classes = dock.facts_view.classes
    assert classes.rowCount() == 5 and "2001-07-30" in classes.horizontalHeaderItem(1).text()
    assert classes.item(0, 0).text() == "水体" and classes.item(3, 0).text() == "耕地和草地"
    assert dock.facts_view.changes.rowCount() >= 1 and "→" in dock.facts_view.changes.item(0, 0).text()
    patches = dock.facts_view.patches
    assert patches.rowCount() > 0 and patches.item(0, 0).text().startswith("1：")
    canvas_before = iface.mapCanvas().extent()
    assert patches.zoom_to_row(0)  # zoom to the largest patch
    zoomed = iface.mapCanvas().extent()
    xmin, ymin, xmax, ymax = patches.item(0, 0).data(Qt.ItemDataRole.UserRole)
    patch = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), current.crs(),
                                   QgsProject.instance()).transformBoundingBox(QgsRectangle(xmin, ymin, xmax, ymax))
    assert zoomed.contains(patch) and zoomed.width() < canvas_before.width()
    iface.mapCanvas().setExtent(current.extent())
    assert longest_stall_ms < 100  # the QGIS event loop kept running while the engine worked

    # export the findings: an RFC 7946 file, added as a styled layer on top, legend of the classes present
    assert dock.export_button.isEnabled()
    out = tmp_path / "findings.geojson"
    layer = dock.export_findings(str(out))
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and data["features"]
    bounds = QgsCoordinateTransform(current.crs(), QgsCoordinateReferenceSystem("EPSG:4326"),
                                    QgsProject.instance()).transformBoundingBox(current.extent())
    for feature in data["features"]:
        props = feature["properties"]
        for key in ("source", "class_from", "class_to", "area_m2", "area_mu", "question", "answer_excerpt", "model",
                    "timestamp", "source_layers"):
            assert key in props, key
        geometry = QgsGeometry.fromWkt(ogr.CreateGeometryFromJson(json.dumps(feature["geometry"])).ExportToWkt())
        assert geometry.isGeosValid()
        assert bounds.buffered(1e-6).contains(geometry.boundingBox())
    assert layer.isValid() and layer.featureCount() == len(data["features"])
    assert QgsProject.instance().layerTreeRoot().children()[0].layerId() == layer.id()  # above the rasters
    legend = {c.value() for c in layer.renderer().categories()}
    assert legend == {f["properties"]["class_to"] for f in data["features"]}  # only the classes present
    assert layer.renderer().classAttribute() == "class_to" and layer.labelsEnabled()
    # the question is in the project's history, saved with the project
    assert dock.history.count() == 1 and "本季度耕地面积变化情况" in dock.history.item(0).text()
    project = tmp_path / "county.qgz"
    assert QgsProject.instance().write(str(project))
    QgsProject.instance().clear()
    assert dock.history.count() == 1  # (clearing does not reread; reading does)
    assert QgsProject.instance().read(str(project))
    assert dock.history.count() == 1 and "本季度耕地面积变化情况" in dock.history.item(0).text()
    # a second export to the same file asks first; "No" leaves the file alone
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    before = out.stat().st_mtime_ns
    assert dock.export_findings(str(out)) is None and out.stat().st_mtime_ns == before


def test_a_conversation_keeps_each_answer_with_its_facts(dock, iface):
    current, _ = show_pair(dock, iface, QgsRasterLayer(str(L8_B5), "Landsat 8 2013"),
                           QgsRasterLayer(str(L7_B4), "Landsat 7 2001"))
    # Enter sends; Shift+Enter starts a new line
    dock.question.setFocus()
    dock.question.setPlainText("新增耕地面积")  # (QTest types ASCII only)
    dock.question.moveCursor(QTextCursor.MoveOperation.End)
    QTest.keyClick(dock.question, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    dock.question.insertPlainText("是多少？")
    assert dock.question.toPlainText() == "新增耕地面积\n是多少？" and dock.task is None
    QTest.keyClick(dock.question, Qt.Key.Key_Return)
    assert dock.task is not None
    wait_until(lambda: dock.ask_button.isEnabled())
    first, _ = _last(dock)
    # the second question only on the western half of the view: other facts
    half = current.extent()
    half.setXMaximum((half.xMinimum() + half.xMaximum()) / 2)
    iface.mapCanvas().setExtent(half)
    dock.question.setPlainText("新增建设用地多少亩？")
    QTest.keyClick(dock.question, Qt.Key.Key_Enter)
    wait_until(lambda: dock.ask_button.isEnabled())
    second, verdict = _last(dock)
    assert dock.thread.count() == 2 and first.answer and second.answer != first.answer
    assert first.events["facts"]["analysed_area_m2"] > second.events["facts"]["analysed_area_m2"]
    def patch_rows(turn):
        return len([f for f in turn.events["findings"]["features"] if f["properties"]["source"] == "measured"])

    assert patch_rows(first) != patch_rows(second)
    assert dock.facts_view.patches.rowCount() == patch_rows(second)
    dock.thread.setCurrentItem(dock.thread.item_of(first))  # selecting the earlier answer shows its facts again
    assert dock.facts == first.events["facts"] and dock.facts_view.patches.rowCount() == patch_rows(first)
    copied = dock.thread.copy_selected()
    assert QApplication.clipboard().text() == copied and first.answer in copied
    figures = [n["text"] for n in first.events["audit"]["numbers"]]
    assert figures and all(f in copied for f in figures) and all("亩" in f for f in figures if "亩" in first.answer)
    assert verdict.startswith("✔")
    # what a user sees: the README's screenshot (QGIS maximised on a 1920x1080 screen leaves a dock about this tall)
    iface.window.resize(1280, 1000)
    iface.window.show()
    dock.thread.setCurrentItem(dock.thread.item_of(second))
    QgsApplication.processEvents()
    assert dock.export_button.isVisible() and dock.tabs.isVisible()  # reachable without scrolling
    assert dock.export_button.geometry().bottom() < dock.widget().height()
    ARTIFACTS.mkdir(exist_ok=True)
    assert iface.window.grab(dock.geometry()).save(str(ARTIFACTS / "dock_conversation.png"))


def test_measure_only_needs_no_model_and_no_question(dock, iface):
    show_pair(dock, iface, QgsRasterLayer(str(L8_B5), "Landsat 8 2013"), QgsRasterLayer(str(L7_B4), "Landsat 7 2001"))
    QTest.mouseClick(dock.measure_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: dock.measure_button.isEnabled())
    turn, verdict = _last(dock)
    assert turn.question == "（仅测量）" and turn.events["facts"]["dates"] == ["2001-07-30", "2013-07-07"]
    assert dock.facts_view.classes.rowCount() == 5 and dock.facts_view.patches.rowCount() > 0
    assert verdict == "⚠ 模型没有给出回答" or verdict.startswith("回答中没有")  # no answer was asked for: no tick
    assert not verdict.startswith("✔")


def test_land_cover_maps_are_added_as_styled_layers(dock, iface, tmp_path, monkeypatch):
    show_pair(dock, iface, QgsRasterLayer(str(L8_B5), "Landsat 8 2013"), QgsRasterLayer(str(L7_B4), "Landsat 7 2001"))
    before = set(QgsProject.instance().mapLayers())
    QTest.mouseClick(dock.classmap_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: dock.classmap_button.isEnabled() and dock.classmap_run is None, 60)
    added = [QgsProject.instance().mapLayer(i) for i in set(QgsProject.instance().mapLayers()) - before]
    assert sorted(layer.name() for layer in added) == ["地类 2001-07-30", "地类 2013-07-07"], dock.status.text()
    for layer in added:
        classes = layer.renderer().classes()
        assert classes and {c.label for c in classes} <= {"水体", "建设用地", "裸地", "耕地和草地", "林地"}
        assert layer.renderer().type() == "paletted"


def test_the_latest_layer_is_current_and_the_one_before_the_baseline(qgis_app, plugins_dir, iface, monkeypatch,
                                                                     engine_url):
    older, newer = QgsRasterLayer(str(L7_B4), "A 2001"), QgsRasterLayer(str(L8_B5), "B 2013")
    QgsProject.instance().addMapLayers([older, newer])  # alphabetical order would pick the 2001 layer
    plugin = start_plugin(iface, plugins_dir, monkeypatch, engine_url)
    try:
        iface.toolbar.actions()[0].trigger()
        QgsApplication.processEvents()
        assert plugin.dock.layer_box.currentLayer() is newer
        assert plugin.dock.baseline_box.currentLayer() is older
    finally:
        assert qgis.utils.unloadPlugin(PLUGIN_NAME)
        QgsProject.instance().clear()


def test_layer_and_extent_problems_are_message_bar_texts(dock, iface):
    dock.question.setPlainText("新增耕地面积是多少？")
    QTest.mouseClick(dock.ask_button, Qt.MouseButton.LeftButton)  # no layer loaded
    assert dock.ask_button.isEnabled()
    layer = QgsRasterLayer(str(L8_B5), "Landsat 8 2013")
    QgsProject.instance().addMapLayer(layer)
    dock.layer_box.setLayer(layer)
    iface.mapCanvas().setDestinationCrs(layer.crs())
    far = layer.extent()
    far.setXMinimum(far.xMinimum() + 1e6)
    far.setXMaximum(far.xMaximum() + 1e6)
    iface.mapCanvas().setExtent(far)
    QTest.mouseClick(dock.ask_button, Qt.MouseButton.LeftButton)
    texts = [w.text() for w in iface.messageBar().items()]
    assert any("地图范围不在图层范围内" in t for t in texts), texts
    assert dock.ask_button.isEnabled()


def _ask_and_wait(dock, iface, layer):
    QgsProject.instance().addMapLayer(layer)
    dock.layer_box.setLayer(layer)
    iface.mapCanvas().setDestinationCrs(layer.crs())
    iface.mapCanvas().setExtent(layer.extent())
    dock.question.setPlainText("新增耕地面积是多少？")
    QTest.mouseClick(dock.ask_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: dock.ask_button.isEnabled())
    return [w.text() for w in iface.messageBar().items()]


def test_engine_not_running_says_how_to_start_it(dock, iface):
    from qgis.core import QgsSettings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    QgsSettings().setValue("county_landuse_monitor/engine_url", f"http://127.0.0.1:{closed}")
    texts = _ask_and_wait(dock, iface, QgsRasterLayer(str(L8_B5), "Landsat 8 2013"))
    assert any("启动本地引擎" in t for t in texts), texts
    from qgis.PyQt.QtWidgets import QPushButton

    assert iface.messageBar().findChild(QPushButton, "startEngineButton") is not None  # the offer to start it
    assert dock.ask_button.isEnabled() and not dock.cancel_button.isEnabled()
    turn, verdict = _last(dock)
    assert turn.state == "failed" and verdict.startswith("⚠ 没有回答：") and "✔" not in verdict


def test_an_engine_error_reaches_the_message_bar(dock, iface, tmp_path):
    import shutil

    copy = tmp_path / "not_a_scene.tif"  # a raster QGIS opens but with no Landsat metadata near it
    shutil.copy(L8_B5, copy)
    texts = _ask_and_wait(dock, iface, QgsRasterLayer(str(copy), "copy"))
    assert any("band" in t or "波段" in t or "sensor" in t for t in texts), texts


def test_settings_start_a_local_engine_and_unload_stops_it(qgis_app, plugins_dir, iface, monkeypatch, tmp_path):
    from qgis.core import QgsSettings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    QgsSettings().setValue("county_landuse_monitor/engine_url", f"http://127.0.0.1:{port}")
    QgsSettings().setValue("county_landuse_monitor/python", str(ENGINE_PYTHON))
    monkeypatch.setenv("LANDUSE_BACKEND", "none")
    monkeypatch.setenv("LANDUSE_CACHE_DIR", str(tmp_path))
    plugin = start_plugin(iface, plugins_dir, monkeypatch)
    try:
        from county_landuse_monitor.widgets.settings_dialog import SettingsDialog

        dialog = SettingsDialog(plugin.local_engine())
        dialog.start_engine()
        wait_until(lambda: "引擎运行中" in dialog.health.text(), seconds=90)
        assert dialog.health.text().startswith("引擎运行中：后端 none，"), dialog.health.text()  # Chinese throughout
        process = plugin.engine.process
        assert plugin.engine.running()
    finally:
        assert qgis.utils.unloadPlugin(PLUGIN_NAME)
    assert process.state() == process.ProcessState.NotRunning  # unload stopped the engine


def test_the_user_story_with_the_tiny_model(qgis_app, plugins_dir, iface, monkeypatch, tiny_engine_url, tmp_path):
    """Plugin from the menu, layers loaded, question asked, streamed model answer and facts, findings as a layer."""
    plugin = start_plugin(iface, plugins_dir, monkeypatch, tiny_engine_url)
    try:
        (menu,) = iface.submenus.values()
        next(a for a in menu.actions() if a.text().startswith("县域土地利用监测")).trigger()  # from the menu
        dock = plugin.dock
        show_pair(dock, iface, QgsRasterLayer(str(L8_B5), "Landsat 8 2013"),
                  QgsRasterLayer(str(L7_B4), "Landsat 7 2001"))
        dock.question.setPlainText("新增耕地面积是多少？")
        tokens = []
        dock.ask()
        dock.task.streamed.connect(lambda kind, data: tokens.append(kind) if kind == "token" else None)
        wait_until(lambda: dock.ask_button.isEnabled(), seconds=120)
        assert dock.status.text().startswith("完成"), dock.status.text()
        turn, verdict = _last(dock)
        assert len(tokens) > 1 and turn.answer  # streamed, token by token
        assert dock.last_endpoint == "ask"  # a model to explain the facts
        assert dock.facts_view.classes.rowCount() == 5 and verdict
        done = turn.events["done"]
        assert done["backend"]["precision"] == "nf4" and len(done["images"]) == 4
        layer = dock.export_findings(str(tmp_path / "story.geojson"))
        assert layer.isValid() and QgsProject.instance().mapLayer(layer.id()) is not None
    finally:
        assert qgis.utils.unloadPlugin(PLUGIN_NAME)
        QgsProject.instance().clear()


def test_wrong_token_says_so(qgis_app, plugins_dir, iface, monkeypatch, tmp_path_factory, dock):
    from qgis.core import QgsSettings

    process, url = start_engine(tmp_path_factory, "--backend", "none", "--token", "right")
    try:
        QgsSettings().setValue("county_landuse_monitor/engine_url", url)
        QgsSettings().setValue("county_landuse_monitor/token", "wrong")
        texts = _ask_and_wait(dock, iface, QgsRasterLayer(str(L8_B5), "Landsat 8 2013"))
        assert any("令牌" in t for t in texts), texts
    finally:
        QgsSettings().setValue("county_landuse_monitor/token", "")
        process.terminate()
        process.wait(10)


def test_cancel_mid_stream(qgis_app, plugins_dir, iface, monkeypatch, tiny_engine_url):
    plugin = start_plugin(iface, plugins_dir, monkeypatch, tiny_engine_url)
    try:
        iface.toolbar.actions()[0].trigger()
        dock = plugin.dock
        layer = QgsRasterLayer(str(L8_B5), "Landsat 8 2013")
        QgsProject.instance().addMapLayer(layer)
        dock.layer_box.setLayer(layer)
        iface.mapCanvas().setDestinationCrs(layer.crs())
        iface.mapCanvas().setExtent(layer.extent())
        dock.question.setPlainText("新增耕地面积是多少？")
        dock.ask()
        wait_until(lambda: dock.turn is not None and dock.turn.answer != "", seconds=120)  # the first token arrived
        QTest.mouseClick(dock.cancel_button, Qt.MouseButton.LeftButton)
        wait_until(lambda: dock.ask_button.isEnabled(), seconds=30)
        assert dock.status.text() == "已取消"
        turn, verdict = _last(dock)
        assert turn.state == "cancelled" and verdict == "已取消"  # never the tick
        assert not dock.export_button.isEnabled()  # nothing half-finished to export
    finally:
        assert qgis.utils.unloadPlugin(PLUGIN_NAME)
        QgsProject.instance().clear()
