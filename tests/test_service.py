"""The engine service, driven through real HTTP on loopback: a real ``python -m engine serve`` process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
import schemathesis
from conftest import L7, L8, write_tif
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from engine.service.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[1]
TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
QUESTION = "新增耕地面积是多少？"
LAYERS = [{"path": str(L7)}, {"path": str(L8)}]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Engine:
    """A ``python -m engine serve`` child process on loopback."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, log: Path | None = None):
        """``log``: a file the service's output goes to (else a pipe, read only if it exits at start)."""
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine", "serve", "--port", str(self.port), *args],
            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
            stdout=log.open("w") if log else subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = log.read_text() if log else self.process.stdout.read()
                raise RuntimeError(f"the service exited: {output}")
            try:
                httpx.get(self.url + "/openapi.json", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("the service did not start within 120 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of multiband stacks: one with band names, one with none (roles for a person to fill)."""
    folder = tmp_path_factory.mktemp("stacks")
    data = np.full((5, 8, 8), 1200, np.uint16)
    write_tif(folder / "named_2024-05-01.tif", data, descriptions=["blue", "green", "red", "nir", "swir1"])
    write_tif(folder / "unnamed.tif", data, descriptions=["", "", "", "", "band five"])
    return folder


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, stacks: Path) -> Iterator[Engine]:
    cache = tmp_path_factory.mktemp("service-cache")
    server = Engine("--backend", "none", "--token", TOKEN, "--root", str(REPO / "tests" / "data"),
                    "--root", str(stacks), "--queue-size", "3", env={"LANDUSE_CACHE_DIR": str(cache)})
    yield server
    server.stop()


def _ask(engine: Engine, **body: object) -> httpx.Response:
    return httpx.post(engine.url + "/v1/ask", json={"question": QUESTION, "layers": LAYERS, **body},
                      headers=AUTH, timeout=120)


def _events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_health(engine: Engine) -> None:
    health = httpx.get(engine.url + "/v1/health", headers=AUTH).json()
    assert health["status"] == "ok" and health["backend"] == "none"
    assert health["queue_length"] == 0 and health["versions"]["engine"]
    assert {"model", "device", "precision", "first_token_latency_s", "tokens_per_s"} <= health.keys()


def test_ask_json(engine: Engine) -> None:
    reply = _ask(engine)
    assert reply.status_code == 200
    body = reply.json()
    assert {"answer", "facts", "findings", "audit", "images", "timings"} <= body.keys()
    assert body["audit"]["ok"] and "亩" in body["answer"]
    assert body["facts"]["dates"] == ["2001-07-30", "2013-07-07"]
    assert body["findings"]["type"] == "FeatureCollection"


def test_ask_stream_events_in_order(engine: Engine) -> None:
    reply = _ask(engine, stream=True)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
    kinds = [k for k, _ in _events(reply.text)]
    assert kinds[0] == "progress" and kinds[-1] == "done"
    assert kinds.index("facts") < kinds.index("token") < kinds.index("findings") < kinds.index("audit")


@pytest.mark.parametrize("body, status, code", [
    ({"question": "", "layers": LAYERS}, 422, "invalid_request"),
    ({"question": QUESTION, "layers": []}, 422, "invalid_request"),
    ({"question": QUESTION * 250, "layers": LAYERS}, 422, "invalid_request"),
    ({"question": QUESTION, "layers": [{"path": "/etc/passwd"}]}, 403, "path_not_allowed"),
    ({"question": QUESTION, "layers": [{"path": str(REPO / "tests/data/../../README.md")}]}, 403,
     "path_not_allowed"),
    ({"question": QUESTION, "layers": [{"path": str(REPO / "tests/data/nope.tif")}]}, 404, "layer_not_found"),
    ({"question": QUESTION, "layers": [{"path": str(REPO / "tests/data/README.md")}]}, 422, "not_a_raster"),
    ({"question": QUESTION, "layers": LAYERS, "extent": {"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1,
                                                          "crs": "EPSG:4326"}}, 422, "extent_outside"),
    ({"question": QUESTION, "layers": LAYERS, "zones": {"type": "Point"}}, 422, "bad_zones"),
    ({"question": QUESTION, "layers": LAYERS, "session_id": "../x"}, 422, "invalid_request"),
])
def test_bad_requests_are_json_errors(engine: Engine, body: dict, status: int, code: str) -> None:
    reply = httpx.post(engine.url + "/v1/ask", json=body, headers=AUTH, timeout=60)
    assert (reply.status_code, reply.json()["error"]["code"]) == (status, code)
    assert reply.json()["error"]["message"]


def test_inspect_tells_dates_sensors_and_band_roles_from_metadata(engine: Engine, stacks: Path) -> None:
    layers = [{"path": str(L7)}, {"path": str(stacks / "named_2024-05-01.tif")}, {"path": str(stacks / "unnamed.tif")}]
    reply = httpx.post(engine.url + "/v1/inspect", json={"layers": layers}, headers=AUTH, timeout=30)
    assert reply.status_code == 200, reply.text
    landsat, named, unnamed = reply.json()["layers"]
    assert (landsat["sensor"], landsat["date"], landsat["crs"]) == ("landsat7", "2001-07-30", "EPSG:32632")
    assert landsat["roles"]["nir"] == "B4" and landsat["missing_roles"] == [] and landsat["error"] is None
    assert named["date"] == "2024-05-01" and named["size"] == [8, 8] and named["missing_roles"] == []
    assert unnamed["error"]["code"] == "band_roles_unknown"
    assert [b["description"] for b in unnamed["file_bands"]] == ["", "", "", "", "band five"]
    assert set(unnamed["missing_roles"]) == {"blue", "green", "red", "nir", "swir1"}
    mapped = {"path": str(stacks / "unnamed.tif"), "band_map": {"blue": 1, "green": 2, "red": 3, "nir": 4}}
    fixed = httpx.post(engine.url + "/v1/inspect", json={"layers": [mapped]}, headers=AUTH, timeout=30).json()
    assert fixed["layers"][0]["error"] is None and fixed["layers"][0]["missing_roles"] == ["swir1"]


@pytest.mark.parametrize("path, status, code", [
    ("/etc/hostname", 403, "path_not_allowed"),
    (str(REPO / "tests" / "data" / "nothing.tif"), 404, "layer_not_found"),
])
def test_inspect_refuses_paths_it_may_not_read(engine: Engine, path: str, status: int, code: str) -> None:
    reply = httpx.post(engine.url + "/v1/inspect", json={"layers": [{"path": path}]}, headers=AUTH, timeout=30)
    assert (reply.status_code, reply.json()["error"]["code"]) == (status, code)


def test_malformed_json_unknown_route_and_missing_token(engine: Engine) -> None:
    reply = httpx.post(engine.url + "/v1/ask", content=b"{not json", headers={**AUTH, "Content-Type":
                                                                                "application/json"})
    assert reply.status_code == 422 and reply.json()["error"]["code"] == "invalid_request"
    assert httpx.get(engine.url + "/v1/nothing", headers=AUTH).json()["error"]["code"] == "not_found"
    assert httpx.get(engine.url + "/v1/ask", headers=AUTH).json()["error"]["code"] == "method_not_allowed"
    reply = httpx.get(engine.url + "/v1/health")
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "unauthorised"


def test_zones_in_the_request(engine: Engine) -> None:
    zones = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "基本农田一号", "kind": "farmland"},
        "geometry": {"type": "Polygon", "coordinates": [[[8.76, 50.78], [8.80, 50.78], [8.80, 50.81],
                                                         [8.76, 50.81], [8.76, 50.78]]]}}]}
    body = _ask(engine, zones=zones, question="基本农田内是否有疑似违规建设？").json()
    assert [z["name"] for z in body["facts"]["zones"]] == ["基本农田一号"]


def test_an_area_of_interest_in_the_request(engine: Engine) -> None:
    """The plugin sends a boundary layer's selected features: measured inside them, named, and no temp file left."""
    import tempfile

    half = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"XZQMC": "城关镇"},
        "geometry": {"type": "Polygon", "coordinates": [[[8.70, 50.70], [8.7715, 50.70], [8.7715, 50.90],
                                                         [8.70, 50.90], [8.70, 50.70]]]}}]}
    url = engine.url + "/v1/analyse"
    whole = httpx.post(url, json={"layers": LAYERS, "mmu_ha": 0.18}, headers=AUTH, timeout=120).json()["facts"]
    reply = httpx.post(url, json={"layers": LAYERS, "mmu_ha": 0.18, "aoi": half, "aoi_name": "城关镇"}, headers=AUTH,
                       timeout=120)
    assert reply.status_code == 200, reply.text
    facts = reply.json()["facts"]
    assert facts["aoi"]["name"] == "城关镇"
    assert facts["analysed_area_m2"] == pytest.approx(0.5 * whole["analysed_area_m2"], rel=0.1)
    assert not list(Path(tempfile.gettempdir()).glob("aoi-*.geojson"))
    bad = httpx.post(url, json={"layers": LAYERS, "aoi": {"type": "FeatureCollection", "features": []}},
                     headers=AUTH, timeout=60)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_aoi"


def test_sessions_keep_their_own_history_and_can_be_deleted(engine: Engine) -> None:
    assert _ask(engine, session_id="s1").json()["history_turns"] == 0
    assert _ask(engine, session_id="s1").json()["history_turns"] == 1
    assert _ask(engine, session_id="s2").json()["history_turns"] == 0
    assert httpx.delete(engine.url + "/v1/sessions/s1", headers=AUTH).status_code == 204
    assert _ask(engine, session_id="s1").json()["history_turns"] == 0
    assert httpx.delete(engine.url + "/v1/sessions/zz", headers=AUTH).json()["error"]["code"] == "session_not_found"


def test_twenty_concurrent_asks_are_answered_or_told_busy(engine: Engine) -> None:
    def one(i: int) -> tuple[int, int | None, str | None]:
        reply = _ask(engine, session_id=f"c{i}")
        if reply.status_code == 429:
            return 429, int(reply.headers["Retry-After"]), None
        return reply.status_code, reply.json()["history_turns"], reply.json()["answer"]

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(one, range(20)))
    assert {status for status, _, _ in results} <= {200, 429}
    answered = [r for r in results if r[0] == 200]
    assert answered and all(turns == 0 for _, turns, _ in answered)  # no session saw another's history
    assert any(r[0] == 429 for r in results)  # 20 at once against a queue of 3
    assert all(r[1] > 0 for r in results if r[0] == 429)
    assert httpx.get(engine.url + "/v1/health", headers=AUTH).json()["status"] == "ok"


def test_analyse_measures_without_the_model(engine: Engine) -> None:
    url = engine.url + "/v1/analyse"
    plain = httpx.post(url, json={"layers": LAYERS, "mmu_ha": 0.18}, headers=AUTH, timeout=120)
    assert plain.status_code == 200, plain.text
    body = plain.json()
    assert body["facts"]["dates"] == ["2001-07-30", "2013-07-07"] and body["facts"]["mmu_m2"] == 1800.0
    assert body["findings"]["type"] == "FeatureCollection" and body["findings"]["features"]
    assert {f["properties"]["source"] for f in body["findings"]["features"]} == {"measured"}
    assert "answer" not in body and "audit" not in body
    question = {"layers": LAYERS, "question": "新增建设用地多少亩？"}
    asked = httpx.post(url, json=question, headers=AUTH, timeout=120).json()
    assert asked["answer"].startswith("2001-07-30至2013-07-07，新增建设用地")
    assert asked["audit"]["verdict"] == "all_measured"
    streamed = httpx.post(url, json={"layers": LAYERS, "stream": True, "mmu_ha": 0.27}, headers=AUTH, timeout=120)
    kinds = [kind for kind, _ in _events(streamed.text)]
    assert kinds[0] == "progress" and kinds[-3:] == ["facts", "findings", "done"]
    assert kinds.count("progress") > 2  # per date and strip, as they happen
    for bad, code in (({"layers": LAYERS, "mmu_ha": -1}, 422), ({"layers": LAYERS, "max_findings": 10**9}, 422),
                      ({"layers": [{"path": "/etc/passwd"}]}, 403), ({"layers": []}, 422)):
        assert httpx.post(url, json=bad, headers=AUTH, timeout=60).status_code == code, bad


def test_audit_any_text_against_the_facts_of_an_ask(engine: Engine) -> None:
    facts = _ask(engine).json()["facts"]
    new = sum(t["area_mu"] for t in facts["transitions"] if t["to"] == "cropland_grassland")
    true = httpx.post(engine.url + "/v1/audit", headers=AUTH, timeout=30, json={
        "facts": facts, "answer": f"新增耕地和草地{new:.1f}亩。", "question": QUESTION}).json()
    assert true["ok"] and true["verdict"] == "all_measured" and true["checked"] == 1
    assert true["numbers"][0]["source"].startswith(("gain", "transitions"))
    invented = httpx.post(engine.url + "/v1/audit", headers=AUTH, timeout=30, json={
        "facts": facts, "answer": "新增耕地约五百亩，共十二处。"}).json()
    assert not invented["ok"] and invented["unsupported"] == ["约五百亩", "十二处"]
    for bad in ({"answer": "1亩"}, {"facts": {"x": 1}, "answer": "1亩"}, {"facts": facts, "answer": 5}):
        reply = httpx.post(engine.url + "/v1/audit", headers=AUTH, timeout=30, json=bad)
        assert reply.status_code == 422 and "error" in reply.json(), bad
    assert httpx.post(engine.url + "/v1/audit", timeout=30, json={"facts": facts, "answer": "1"}).status_code == 401


def test_fuzzing_from_the_openapi_schema_never_gets_a_5xx(engine: Engine) -> None:
    """Requests generated from /openapi.json (schemathesis strategies, driven by hypothesis)."""
    schema = schemathesis.openapi.from_url(engine.url + "/openapi.json", headers=AUTH)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/ask", "/v1/analyse", "/v1/inspect", "/v1/audit", "/v1/health",
                                              "/v1/sessions/{session_id}"}
    statuses: list[int] = []
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def call(case: schemathesis.Case) -> None:
            response = case.call(headers=AUTH, timeout=60)
            statuses.append(response.status_code)
            assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code} {response.text}"
            case.validate_response(response, checks=[response_schema_conformance, content_type_conformance])

        call()
    assert len(statuses) >= 30 and any(400 <= s < 500 for s in statuses)


def test_off_loopback_needs_a_token_and_roots(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs --token"):
        ServiceSettings(host="0.0.0.0")
    with pytest.raises(ValueError, match="needs --root"):
        ServiceSettings(host="0.0.0.0", token="t")
    assert ServiceSettings(host="0.0.0.0", token="t", roots=(tmp_path,)).allows(tmp_path / "a.tif")
    done = subprocess.run([sys.executable, "-m", "engine", "serve", "--host", "0.0.0.0", "--backend", "none"],
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "needs --token" in done.stderr


@pytest.fixture(scope="module")
def tiny_engine(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    server = Engine("--backend", "local", "--model", str(tiny_model_dir), "--precision", "nf4", "--device", "cpu",
                    "--max-new-tokens", "4000", env={"LANDUSE_CACHE_DIR": str(tmp_path_factory.mktemp("c"))})
    yield server
    server.stop()


def test_tiny_model_in_4bit_streams_through_the_service(tiny_engine: Engine) -> None:
    health = httpx.get(tiny_engine.url + "/v1/health").json()
    assert health["backend"] == "local" and health["precision"] == "nf4" and health["device"] == "cpu"
    with httpx.stream("POST", tiny_engine.url + "/v1/ask", timeout=120,
                      json={"question": QUESTION, "layers": LAYERS, "stream": True}) as reply:
        kinds = []
        for line in reply.iter_lines():
            if line.startswith("event: "):
                kinds.append(line[7:])
            if kinds.count("token") >= 3:
                break  # the client goes away mid-answer
    deadline = time.monotonic() + 20
    while httpx.get(tiny_engine.url + "/v1/health").json()["queue_length"] and time.monotonic() < deadline:
        time.sleep(0.2)
    # 4000 new tokens take minutes on this model: an empty queue this soon means generation was cancelled
    assert httpx.get(tiny_engine.url + "/v1/health").json()["queue_length"] == 0
    assert kinds[:1] == ["progress"] and "facts" in kinds


def test_a_report_as_a_zip_and_again_by_its_id(engine: Engine) -> None:
    import io
    import zipfile

    url = engine.url + "/v1/report"
    made = httpx.post(url, json={"layers": LAYERS, "mmu_ha": 0.18, "max_chips": 1, "shapefile": True},
                      headers=AUTH, timeout=300)
    assert made.status_code == 200, made.text
    assert made.headers["content-type"] == "application/zip"
    report_id = made.headers["x-report-id"]
    names = set(zipfile.ZipFile(io.BytesIO(made.content)).namelist())
    assert {"report.docx", "patches.xlsx", "patches.gpkg", "patches.qml", "facts.json",
            "patches_shp/patches.shp", "patches_shp/patches.cpg"} <= names
    facts = json.loads(zipfile.ZipFile(io.BytesIO(made.content)).read("facts.json"))
    assert facts["dates"] == ["2001-07-30", "2013-07-07"] and facts["mmu_m2"] == 1800.0
    again = httpx.get(f"{url}/{report_id}", headers=AUTH, timeout=30)
    assert again.status_code == 200 and again.content == made.content
    streamed = httpx.post(url, json={"layers": LAYERS, "mmu_ha": 0.18, "max_chips": 0, "stream": True,
                                     "language": "en"}, headers=AUTH, timeout=300)
    events = _events(streamed.text)
    assert events[0][0] == "progress" and events[-1][0] == "done"
    done = events[-1][1]
    assert done["url"] == f"/v1/report/{done['id']}" and "report.docx" in done["files"]
    assert done["audit"]["verdict"] == "all_measured" and not done["by_model"]
    # the samples lie in Europe: no CGCS2000 plane coordinates, said, and the rest of the report made
    assert any("outside China's 3-degree Gauss-Kruger zones" in n for n in done["notes"])
    assert httpx.get(engine.url + done["url"], headers=AUTH, timeout=30).status_code == 200
    for path, status in ((f"{url}/{'0' * 32}", 404), (f"{url}/..%2F..%2Fetc%2Fpasswd", 404), (f"{url}/x", 404)):
        reply = httpx.get(path, headers=AUTH, timeout=30)
        assert reply.status_code == status and reply.json()["error"]["code"] in ("report_not_found", "not_found")
    for bad, code in (({"layers": LAYERS, "max_chips": 99}, 422), ({"layers": [{"path": "/etc/passwd"}]}, 403),
                      ({"layers": LAYERS, "language": "fr"}, 422)):
        assert httpx.post(url, json=bad, headers=AUTH, timeout=60).status_code == code, bad
    assert httpx.get(f"{url}/{report_id}", timeout=30).status_code == 401  # the token guards reports too
