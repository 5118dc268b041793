"""A first run that needs no hunting: the plugin installed and enabled by setup, the engine found and started
with one click, the status following the engine, and progress moving while a long first analysis runs."""

import os
import subprocess
import sys

import qgis.utils
from conftest import ENGINE_PYTHON, PLUGIN_NAME, REPO, free_port, start_engine, start_plugin, wait_until
from qgis.core import QgsProject, QgsRasterLayer, QgsSettings
from qgis.PyQt.QtCore import QSettings
from qgis.PyQt.QtWidgets import QPushButton
from test_dock_ask import L8_B5, show_pair


def test_setup_installs_enables_and_configures_the_plugin(tmp_path):
    profile = tmp_path / "profiles" / "default"
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "install_plugin.py"), "--profile-root",
                           str(profile), "--engine-python", str(ENGINE_PYTHON)], capture_output=True, text=True,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    plugin = profile / "python" / "plugins" / PLUGIN_NAME
    assert (plugin / "metadata.txt").is_file() and (plugin / "__init__.py").is_file()
    assert list((plugin / "i18n").glob("*.qm"))  # the translation compiled: Chinese in a Chinese QGIS
    ini = QSettings(str(profile / "QGIS" / "QGIS3.ini"), QSettings.Format.IniFormat)
    assert ini.value(f"PythonPlugins/{PLUGIN_NAME}") in (True, "true")
    assert ini.value(f"{PLUGIN_NAME}/python") == str(ENGINE_PYTHON)
    again = subprocess.run([sys.executable, str(REPO / "scripts" / "install_plugin.py"), "--profile-root",
                            str(profile)], capture_output=True, text=True,
                           env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert again.returncode == 0, again.stderr  # safe to run again: the folder is replaced, not merged


def test_the_status_follows_the_engine_coming_up(qgis_app, plugins_dir, iface, monkeypatch, tmp_path_factory):
    port = free_port()
    layer = QgsRasterLayer(str(L8_B5), "Landsat 8 2013")
    QgsProject.instance().addMapLayer(layer)
    plugin = start_plugin(iface, plugins_dir, monkeypatch, f"http://127.0.0.1:{port}")
    process = None
    try:
        iface.toolbar.actions()[0].trigger()
        dock = plugin.dock
        wait_until(lambda: dock.status.text().startswith("未连接"), 10)
        assert dock.status.text().startswith("未连接"), dock.status.text()
        row = dock.layers.current
        wait_until(lambda: "未连接" in row.info.text(), 10)
        offered = iface.messageBar().findChild(QPushButton, "startEngineButton")
        assert offered is not None  # one click to start it
        process, _ = start_engine(tmp_path_factory, "--backend", "none", port=port)
        wait_until(lambda: dock.status.text().startswith("已连接"), 15)  # no layer re-selected, nothing clicked
        assert dock.status.text().startswith("已连接分析引擎（none"), dock.status.text()
        wait_until(lambda: "Landsat" in row.info.text(), 15)
        assert "Landsat 8" in row.info.text() and row.date.text() == "2013-07-07"
    finally:
        assert qgis.utils.unloadPlugin(PLUGIN_NAME)
        QgsProject.instance().clear()
        if process is not None:
            process.terminate()
            process.wait(10)


def test_one_click_starts_the_engine_found_by_itself(qgis_app, plugins_dir, iface, monkeypatch, tmp_path):
    port = free_port()
    QgsSettings().setValue("county_landuse_monitor/python", "")  # nothing configured by hand
    monkeypatch.setenv("LANDUSE_ENGINE_PYTHON", str(ENGINE_PYTHON))
    monkeypatch.setenv("LANDUSE_BACKEND", "none")
    monkeypatch.setenv("LANDUSE_CACHE_DIR", str(tmp_path))
    plugin = start_plugin(iface, plugins_dir, monkeypatch, f"http://127.0.0.1:{port}")
    try:
        iface.toolbar.actions()[0].trigger()
        wait_until(lambda: iface.messageBar().findChild(QPushButton, "startEngineButton") is not None, 10)
        item = iface.messageBar().items()[-1]
        assert "引擎" in item.text() and "Connection refused" in item.toolTip()  # Chinese; the raw error in details
        iface.messageBar().findChild(QPushButton, "startEngineButton").click()
        wait_until(lambda: plugin.dock.status.text().startswith("已连接"), 90)
        assert plugin.dock.status.text().startswith("已连接"), plugin.dock.status.text()
        assert plugin.engine.running()
    finally:
        assert qgis.utils.unloadPlugin(PLUGIN_NAME)
        QgsSettings().setValue("county_landuse_monitor/python", "")


def test_progress_moves_while_a_long_first_analysis_runs(dock, iface, tmp_path):
    """A 3000 x 3000 two-date scene: the bar moves per date and strip before the facts arrive."""
    folder = tmp_path / "scene"
    script = ("from engine.synthetic import SyntheticSpec, write_scene; import sys; "
              "s = write_scene(SyntheticSpec(width=3000, height=3000, block_px=256), sys.argv[1]); "
              "print('\\n'.join(map(str, s.layers)))")
    done = subprocess.run([str(ENGINE_PYTHON), "-c", script, str(folder)], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)
    first, second = done.stdout.split()
    show_pair(dock, iface, QgsRasterLayer(second, "2024"), QgsRasterLayer(first, "2023"))
    dock.question.setPlainText("新增建设用地多少亩？")
    seen = []
    dock.ask()
    dock.task.progressed.connect(lambda percent, stage: seen.append((percent, stage, "facts" in dock.turn.events)))
    wait_until(lambda: dock.ask_button.isEnabled(), 300)
    assert dock.status.text().startswith("完成"), dock.status.text()
    reading = [p for p, stage, after_facts in seen if stage.startswith("date ") and not after_facts]
    assert len(set(reading)) >= 4 and min(reading) < 20 < max(reading) < 40, seen  # a moving bar, live
    assert any(s.startswith("date 1/2") for _, s, _ in seen) and any(s.startswith("date 2/2") for _, s, _ in seen)
    assert [p for p, _, _ in seen] == sorted(p for p, _, _ in seen)  # never backwards
    assert not dock.progress.isVisible()
