"""The dock's layers inside real QGIS: dates and band roles filled from the engine, edited where metadata is silent,
and several baselines asked about together."""

import shutil

import numpy as np
import pytest
from conftest import REPO, wait_until
from osgeo import gdal, osr
from qgis.core import QgsProject, QgsRasterLayer
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtTest import QTest
from qgis.PyQt.QtWidgets import QApplication

LANDSAT = REPO / "tests/data/landsat"
L7 = "LE07_L1TP_195025_20010730_20170204_01_T1"
L8 = "LC08_L1TP_195025_20130707_20170503_01_T1"


def _unnamed_stack(path, water_cols):
    """A 5-band float reflectance stack with no band names and no date: blue, green, red, nir, swir1 in that order.

    Columns left of ``water_cols`` are water, the rest vegetation.
    """
    water = [0.06, 0.08, 0.05, 0.02, 0.01]
    vegetation = [0.03, 0.07, 0.04, 0.40, 0.20]
    data = np.empty((5, 40, 40), np.float32)
    for band in range(5):
        data[band, :, :water_cols] = water[band]
        data[band, :, water_cols:] = vegetation[band]
    ds = gdal.GetDriverByName("GTiff").Create(str(path), 40, 40, 5, gdal.GDT_Float32)
    ds.SetGeoTransform((500000, 30, 0, 4000000, 0, -30))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32648)
    ds.SetProjection(srs.ExportToWkt())
    for band in range(5):
        ds.GetRasterBand(band + 1).WriteArray(data[band])
    ds = None
    return path


def _show(iface, layer):
    QgsProject.instance().addMapLayer(layer)
    iface.mapCanvas().setDestinationCrs(layer.crs())
    iface.mapCanvas().setExtent(layer.extent())


def _described(row):
    wait_until(lambda: row.call is None and row.description is not None, 30)
    return row.description


def test_choosing_a_landsat_layer_fills_its_date_and_bands(dock, iface):
    layer = QgsRasterLayer(str(LANDSAT / L8 / f"{L8}_B5.TIF"), "Landsat 8")
    _show(iface, layer)
    row = dock.layers.current
    dock.layer_box.setLayer(layer)
    description = _described(row)
    assert description["sensor"] == "landsat8" and not description["missing_roles"]
    assert row.date.text() == "2013-07-07"
    assert "Landsat 8" in row.info.text() and "⚠" not in row.bands_button.text()
    row.date.setText("2013-07-08")  # a person's date wins over the metadata, and is sent
    assert row.params().date == "2013-07-08"
    row.date.setText("7 July 2013")
    try:
        row.params()
        raise AssertionError("a malformed date was accepted")
    except Exception as exc:
        assert "YYYY-MM-DD" in str(exc)


def test_a_stack_without_band_names_is_mapped_by_hand_and_asked_about(dock, iface, tmp_path):
    before = _unnamed_stack(tmp_path / "county_before.tif", water_cols=30)
    after = _unnamed_stack(tmp_path / "county_after.tif", water_cols=10)
    current, baseline = QgsRasterLayer(str(after), "after"), QgsRasterLayer(str(before), "before")
    _show(iface, current)
    QgsProject.instance().addMapLayer(baseline)
    for row, layer, date in ((dock.layers.current, current, "2024-06-01"), (dock.layers.baselines[0], baseline,
                                                                              "2023-06-01")):
        row.layer_box.setLayer(layer)
        description = _described(row)
        assert description["error"]["code"] == "band_roles_unknown"
        assert "⚠" in row.bands_button.text() and "⚠" in row.info.text() and row.date.text() == ""

        def choose_bands():
            dialog = QApplication.activeModalWidget()
            for i, role in enumerate(("blue", "green", "red", "nir", "swir1"), start=1):
                box = dialog.findChild(type(dialog.boxes["red"]), f"role_{role}")
                box.setCurrentIndex(box.findData(i))
            dialog.accept()

        QTimer.singleShot(200, choose_bands)
        row.edit_bands()
        assert row.band_map == {"blue": 1, "green": 2, "red": 3, "nir": 4, "swir1": 5}
        row.description = None
        description = _described(row)  # the engine checked the choice
        assert description["error"] is None and description["missing_roles"] == []
        assert "⚠" not in row.bands_button.text()
        row.date.setText(date)
    dock.question.setPlainText("水体面积变化了多少？")
    QTest.mouseClick(dock.ask_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: dock.ask_button.isEnabled(), 120)
    assert dock.status.text().startswith("完成"), dock.status.text()
    assert dock.facts["dates"] == ["2023-06-01", "2024-06-01"]
    water = [dock.facts["classes"][d]["water"]["area_m2"] for d in dock.facts["dates"]]
    # 30 then 10 columns of 40 pixels of nominally 30 m x 30 m; the engine measures ground areas on the ellipsoid,
    # which UTM's scale factor (within 0.1 % in its zone) sets a little apart from the nominal 900 m²
    assert water == pytest.approx([30 * 40 * 900.0, 10 * 40 * 900.0], rel=2e-3)
    assert water[0] / water[1] == pytest.approx(3.0, rel=1e-6)


def test_several_baselines_are_asked_about_in_date_order(dock, iface, tmp_path):
    copy = tmp_path / L7  # the same scene again, as a third date a person types in
    shutil.copytree(LANDSAT / L7, copy)
    layers = [QgsRasterLayer(str(LANDSAT / L8 / f"{L8}_B5.TIF"), "2013"),
              QgsRasterLayer(str(LANDSAT / L7 / f"{L7}_B4.TIF"), "2001"),
              QgsRasterLayer(str(copy / f"{L7}_B4.TIF"), "2005")]
    _show(iface, layers[0])
    QgsProject.instance().addMapLayers(layers[1:])
    dock.layer_box.setLayer(layers[0])
    dock.baseline_box.setLayer(layers[1])
    added = dock.layers.add_baseline(layers[2])
    for row in (dock.layers.current, dock.layers.baselines[0], added):
        _described(row)
    added.date.setText("2005-06-01")
    dock.layers.add_baseline()  # an empty row adds nothing
    dock.layers.remove_baseline(dock.layers.add_baseline(layers[1]))  # nor does a removed one
    assert [lp.date for lp in dock.layers.layer_params()] == ["2013-07-07", "2001-07-30", "2005-06-01"]
    dock.question.setPlainText("近一年土地利用结构趋势？")
    QTest.mouseClick(dock.ask_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: dock.ask_button.isEnabled(), 120)
    assert dock.status.text().startswith("完成"), dock.status.text()
    assert dock.facts["dates"] == ["2001-07-30", "2005-06-01", "2013-07-07"]
    assert dock.facts_view.classes.columnCount() == 4
