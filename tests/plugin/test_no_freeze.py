"""Opening the dock while the engine is down never freezes QGIS.

A user opens QGIS before the engine, or the engine has crashed. The dock must
build, ask the engine what the layers are in the background, and keep the
event loop turning. The test opens and closes the dock 20 times in a row,
with a port that refuses connections and with an engine that accepts but
never answers, in a child QGIS process (a deadlock would hang, so the child
has a deadline), and holds the longest stall of the event loop under 200 ms.
"""

import json
import socket
import subprocess
import sys
import threading

import pytest
from conftest import REPO

CHILD = r"""
import json, sys, time
sys.path.insert(0, {tests!r})
sys.path.insert(0, {plugins!r})
from conftest import PLUGIN_NAME, WidgetIface, start_plugin, wait_until
import qgis.utils
from qgis.core import QgsProject, QgsRasterLayer
from qgis.PyQt.QtCore import QElapsedTimer

class Patch:  # the part of pytest's monkeypatch that start_plugin uses
    def setattr(self, obj, name, value):
        setattr(obj, name, value)

layers = [QgsRasterLayer({l8!r}, "Landsat 8 2013"), QgsRasterLayer({l7!r}, "Landsat 7 2001")]
QgsProject.instance().addMapLayers(layers)
stalls, builds, settled = [], [], []
for attempt in range(20):
    iface = WidgetIface()
    plugin = start_plugin(iface, {plugins!r}, Patch(), {url!r})
    clock = QElapsedTimer()
    clock.start()
    iface.toolbar.actions()[0].trigger()  # build and show the dock
    builds.append(clock.elapsed())
    rows = [plugin.dock.layers.current, *plugin.dock.layers.baselines]
    done = lambda: all(r.info.text() and "…" not in r.info.text() for r in rows)
    stalls.append(wait_until(done, 2))
    settled.append(done() and all("未连接" in r.info.text() for r in rows))
    assert qgis.utils.unloadPlugin(PLUGIN_NAME)
print(json.dumps({{"stalls_ms": stalls, "builds_ms": builds, "settled": settled}}))
sys.stdout.flush()
import os
os._exit(0)  # QgsApplication.exitQgis() can abort at teardown in 3.22
"""


def _silent_server():
    """A port that accepts connections and never answers: (url, stop)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()

    def close():
        stop.set()
        for conn in held:
            conn.close()
        server.close()

    return f"http://127.0.0.1:{server.getsockname()[1]}", close


def _refusing_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more: connections are refused at once


@pytest.mark.parametrize("engine", ["refusing", "silent"])
def test_the_dock_opens_twenty_times_with_no_engine_and_qgis_stays_responsive(plugins_dir, engine):
    url, stop = _silent_server() if engine == "silent" else (_refusing_url(), lambda: None)
    landsat = REPO / "tests" / "data" / "landsat"
    l8 = landsat / "LC08_L1TP_195025_20130707_20170503_01_T1" / "LC08_L1TP_195025_20130707_20170503_01_T1_B5.TIF"
    l7 = landsat / "LE07_L1TP_195025_20010730_20170204_01_T1" / "LE07_L1TP_195025_20010730_20170204_01_T1_B4.TIF"
    script = CHILD.format(tests=str(REPO / "tests" / "plugin"), l8=str(l8), l7=str(l7), plugins=str(plugins_dir),
                          url=url)
    try:
        child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"QGIS froze opening the dock with the engine {engine} (child killed after 240 s): "
                    f"{(exc.stderr or b'')[-2000:]}")
    finally:
        stop()
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert len(result["stalls_ms"]) == 20
    assert max(result["stalls_ms"]) < 200, result
    assert max(result["builds_ms"]) < 200, result  # building the dock does no network round trip
    if engine == "refusing":  # a refused connection is known at once: every layer row says the engine is down
        assert all(result["settled"]), result
