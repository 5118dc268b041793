"""The service's boundaries under attack: huge bodies, foreign Host headers, the token, leaks, 500 bodies, bad input.

A real ``python -m engine serve`` process on loopback for what crosses the
network; FastAPI's TestClient for a bug planted in a backend.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import L7, L8
from fastapi.testclient import TestClient
from test_service import Engine

REPO = Path(__file__).resolve().parents[1]
TOKEN = "guard-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LAYERS = [{"path": str(L7)}, {"path": str(L8)}]


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("guarded")
    token_file = folder / "token"
    token_file.write_text(TOKEN + "\n")
    temp = folder / "tmp"
    temp.mkdir()
    server = Engine("--backend", "none", "--token-file", str(token_file), "--queue-size", "1",
                    env={"LANDUSE_CACHE_DIR": str(folder / "cache"), "TMPDIR": str(temp)})
    server.temp = temp
    yield server
    server.stop()


def test_the_token_comes_from_a_file_and_never_shows_in_ps(guarded: Engine) -> None:
    assert httpx.get(guarded.url + "/v1/health", headers=AUTH).status_code == 200
    command_line = Path(f"/proc/{guarded.process.pid}/cmdline").read_bytes().decode(errors="replace")
    assert TOKEN not in command_line


def test_docs_and_schema_need_the_token(guarded: Engine) -> None:
    for path in ("/openapi.json", "/docs"):
        assert httpx.get(guarded.url + path).status_code == 401, path
        assert httpx.get(guarded.url + path, headers=AUTH).status_code == 200, path


def test_a_64_mb_body_is_refused_while_it_is_read_and_health_stays_fast(guarded: Engine) -> None:
    body = b'{"question": "' + b"x" * (64 * 2**20) + b'", "layers": []}'
    latencies: list[float] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            start = time.monotonic()
            httpx.get(guarded.url + "/v1/health", headers=AUTH, timeout=30)
            latencies.append(time.monotonic() - start)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        declared = httpx.post(guarded.url + "/v1/ask", content=body, timeout=60,
                              headers={**AUTH, "Content-Type": "application/json"})

        def chunks():  # no Content-Length: the limit must hold while reading
            for i in range(0, len(body), 2**20):
                yield body[i:i + 2**20]

        streamed = httpx.post(guarded.url + "/v1/ask", content=chunks(), timeout=60,
                              headers={**AUTH, "Content-Type": "application/json"})
    finally:
        stop.set()
        poller.join()
    for reply in (declared, streamed):
        assert reply.status_code == 413 and reply.json()["error"]["code"] == "body_too_large"
    assert max(latencies) < 1.0, latencies  # the event loop was never held


@pytest.mark.parametrize("host", ["evil.example.com", "evil.example.com:8765", "192.168.1.5"])
def test_a_foreign_host_header_is_refused(guarded: Engine, host: str) -> None:
    reply = httpx.get(guarded.url + "/v1/health", headers={**AUTH, "Host": host})
    assert reply.status_code == 421 and reply.json()["error"]["code"] == "host_not_allowed"


def test_loopback_host_names_are_served(guarded: Engine) -> None:
    port = guarded.url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
        assert httpx.get(guarded.url + "/v1/health", headers={**AUTH, "Host": host}).status_code == 200, host


def test_busy_asks_with_zones_leave_no_temporary_file(guarded: Engine) -> None:
    zones = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "z"},
             "geometry": {"type": "Polygon", "coordinates": [[[7.0, 51.0], [7.1, 51.0], [7.1, 51.1], [7.0, 51.0]]]}}]}
    body = {"question": "新增耕地面积是多少？", "layers": LAYERS, "zones": zones}
    replies: list[int] = []
    threads = [threading.Thread(target=lambda: replies.append(httpx.post(
        guarded.url + "/v1/ask", json=body, headers=AUTH, timeout=120).status_code)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 429 in replies and 200 in replies, replies
    assert not list(guarded.temp.glob("zones-*")), list(guarded.temp.iterdir())


@pytest.mark.parametrize("extent, code", [
    ({"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1,
      "crs": 'LOCAL_CS["engineering",UNIT["metre",1],AXIS["X",EAST],AXIS["Y",NORTH]]'}, 422),
    ({"xmin": float("nan"), "ymin": 0, "xmax": 1, "ymax": 1, "crs": "EPSG:4326"}, 422),
    ({"xmin": 0, "ymin": 0, "xmax": float("inf"), "ymax": 1, "crs": "EPSG:4326"}, 422),
])
def test_bad_extents_are_4xx(guarded: Engine, extent: dict, code: int) -> None:
    body = json.dumps({"question": "新增耕地面积是多少？", "layers": LAYERS, "extent": extent}, allow_nan=True)
    reply = httpx.post(guarded.url + "/v1/ask", content=body, headers={**AUTH, "Content-Type": "application/json"},
                       timeout=60)
    assert reply.status_code == code, reply.text
    assert "Traceback" not in reply.text


def test_zones_with_a_nan_coordinate_are_4xx(guarded: Engine) -> None:
    zones = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "z"},
             "geometry": {"type": "Polygon", "coordinates": [[[7.0, 51.0], [math.nan, 51.0], [7.1, 51.1],
                                                              [7.0, 51.0]]]}}]}
    body = json.dumps({"question": "q", "layers": LAYERS, "zones": zones}, allow_nan=True)
    reply = httpx.post(guarded.url + "/v1/ask", content=body, headers={**AUTH, "Content-Type": "application/json"},
                       timeout=60)
    assert reply.status_code in (400, 422), reply.text


def test_zones_nested_deeper_than_geojson_are_4xx(guarded: Engine) -> None:
    nested: list = []
    inner = nested
    for _ in range(900):
        inner.append([])
        inner = inner[0]
    zones = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
             "geometry": {"type": "Polygon", "coordinates": nested}}]}
    reply = httpx.post(guarded.url + "/v1/ask", json={"question": "q", "layers": LAYERS, "zones": zones},
                       headers=AUTH, timeout=60)
    assert reply.status_code == 422 and reply.json()["error"]["code"] == "bad_zones", reply.text


class _Buggy:
    """A backend with a bug: its failure must reach the client as an id, never as exception text."""

    kind = "local"

    def info(self) -> dict:
        return {"backend": "buggy"}

    def prepare(self) -> None:
        raise ZeroDivisionError("secret internals: /home/user/.ssh/id_rsa")


def test_a_500_says_internal_error_with_an_id_the_log_records(caplog: pytest.LogCaptureFixture) -> None:
    from engine.service.app import create_app
    from engine.service.settings import ServiceSettings

    client = TestClient(create_app(ServiceSettings(), _Buggy()), raise_server_exceptions=False,
                        base_url="http://127.0.0.1")
    reply = client.post("/v1/ask", json={"question": "q", "layers": LAYERS})
    assert reply.status_code == 500
    error = reply.json()["error"]
    assert error["code"] == "internal_error" and "secret" not in reply.text and "ZeroDivision" not in reply.text
    assert error["id"] and error["id"] in error["message"]
    assert any(error["id"] in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("args", [
    ["analyse", "--layer", str(L7), "--mmu-ha", "nan"],
    ["analyse", "--layer", str(L7), "--mmu-ha", "-1"],
    ["analyse", "--layer", str(L7), "--thresholds", "vegetation_ndvi=nan"],
    ["analyse", "--layer", str(L7), "--bbox", "0", "0", "1", "1", "--bbox-crs",
     'LOCAL_CS["engineering",UNIT["metre",1],AXIS["X",EAST],AXIS["Y",NORTH]]'],
    ["analyse", "--layer", str(L7), "--bbox", "nan", "0", "1", "1", "--bbox-crs", "EPSG:4326"],
    ["render", str(L7), "-o", "/tmp/never.png", "--resolution", "0.001"],
    ["render", str(L7), "-o", "/tmp/never.png", "--resolution", "-5"],
])
def test_bad_input_is_one_line_and_exit_2(args: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "engine", *args, "--quiet"], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 2, (done.returncode, done.stderr[-1500:])
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
