"""生成报告 in real QGIS: after an answer, the button has the engine write the report, saves its files in a folder,
adds the patch register (CGCS2000) with its style and opens the folder; with the engine gone, a message says so."""

import socket

from conftest import wait_until
from qgis.core import QgsProject, QgsRasterLayer, QgsSettings
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtTest import QTest
from test_dock_ask import L7_B4, L8_B5, show_pair


def _measured(dock, iface):
    show_pair(dock, iface, QgsRasterLayer(str(L8_B5), "Landsat 8 2013"), QgsRasterLayer(str(L7_B4), "Landsat 7 2001"))
    assert not dock.report_button.isEnabled()  # nothing answered yet: nothing to report
    QTest.mouseClick(dock.measure_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: dock.measure_button.isEnabled(), 120)
    assert dock.report_button.isEnabled() and dock.report_button.text() == "生成报告"


def _click_report(dock, monkeypatch, folder):
    from qgis.PyQt.QtWidgets import QFileDialog

    opened = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    monkeypatch.setattr("qgis.PyQt.QtGui.QDesktopServices.openUrl", lambda url: opened.append(url.toLocalFile()))
    QTest.mouseClick(dock.report_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: dock.report_run is None, 300)
    return opened


def test_the_report_button_saves_the_files_and_adds_the_styled_register(dock, iface, monkeypatch, tmp_path):
    _measured(dock, iface)
    folder = tmp_path / "报告"
    folder.mkdir()
    opened = _click_report(dock, monkeypatch, folder)
    assert {"report.docx", "patches.xlsx", "patches.gpkg", "patches.qml", "facts.json"} <= {
        p.name for p in folder.iterdir()}, dock.status.text()
    assert opened == [str(folder)]
    layer = dock.report_layer
    assert layer is not None and layer.isValid() and layer.name() == "变化图斑台账"
    assert QgsProject.instance().mapLayer(layer.id()) is layer
    assert layer.crs().authid() == "EPSG:4490" and layer.featureCount() > 0
    symbol = layer.renderer().symbol()
    assert symbol.symbolLayer(0).strokeColor().name() == "#e61414"  # the style written beside the GeoPackage
    assert layer.labelsEnabled()
    assert {f["number"] for f in layer.getFeatures()} == set(range(1, layer.featureCount() + 1))
    assert dock.status.text().startswith("报告已保存") and dock.report_button.isEnabled()


def test_a_report_with_the_engine_gone_says_so(dock, iface, monkeypatch, tmp_path):
    _measured(dock, iface)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    QgsSettings().setValue("county_landuse_monitor/engine_url", f"http://127.0.0.1:{closed}")
    folder = tmp_path / "out"
    folder.mkdir()
    opened = _click_report(dock, monkeypatch, folder)
    assert not opened and not list(folder.iterdir())
    texts = [w.text() for w in iface.messageBar().items()]
    assert any(str(closed) in t for t in texts), texts
    assert dock.report_button.isEnabled() and not dock.progress.isVisible()


def test_a_hostile_archive_writes_nothing_outside_the_folder(plugins_dir, tmp_path):
    import io
    import zipfile

    import pytest
    from county_landuse_monitor.common.errors import EngineReturnedError
    from county_landuse_monitor.tasks.report_run import unpack

    for evil in ("../escaped.txt", "/tmp/absolute.txt", "a/../../escaped.txt"):
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w") as archive:
            archive.writestr("report.docx", b"fine")
            archive.writestr(evil, b"evil")
        folder = tmp_path / "inside"
        folder.mkdir(exist_ok=True)
        with pytest.raises(EngineReturnedError):
            unpack(data.getvalue(), str(folder))
        assert not (tmp_path / "escaped.txt").exists()
