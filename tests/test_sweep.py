"""Sweeps on Dask: many townships measured as ``analyse --aoi`` measures one, failures isolated, reruns resumable.

Real clusters only: a ``LocalCluster`` of processes, and a ``dask scheduler`` plus ``dask worker`` started as
separate processes over TCP on 127.0.0.1, the worker in another folder (it imports the engine as the
installed package). Nothing listens beyond loopback.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from shapely.geometry import Polygon, mapping

from engine.sweep.run import SweepConfig, sweep
from engine.synthetic import SyntheticSpec, write_scene

REPO = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")
ORIGIN, SIDE_M = (500000.0, 3997440.0), 2560.0  # the synthetic scene: 256 px of 10 m in UTM 48N
TOWNS = ("城关镇", "新华乡", "东风镇", "红星乡")


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory):
    return write_scene(SyntheticSpec(width=256, height=256, patch_px=16, noise=0.01), tmp_path_factory.mktemp("sw"))


def _grid_areas(n: int, names: tuple[str, ...] | None = None) -> list[tuple[str, Polygon]]:
    """An n x n grid of townships over the scene, inset from their neighbours; named, or 乡01, 乡02 ..."""
    step = SIDE_M / n
    out = []
    for i in range(n * n):
        x0, y0 = ORIGIN[0] + (i % n) * step + 3.3, ORIGIN[1] + (i // n) * step + 3.3
        name = names[i] if names else f"乡{i + 1:02d}"
        out.append((name, Polygon([(x0, y0), (x0 + step - 6.6, y0), (x0 + step - 6.6, y0 + step - 6.6),
                                   (x0, y0 + step - 6.6)])))
    return out


def _write_areas(path: Path, areas: list[tuple[str, Polygon]]) -> Path:
    path.write_text(json.dumps({
        "type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:32648"}},
        "features": [{"type": "Feature", "properties": {"XZQMC": n}, "geometry": mapping(g)} for n, g in areas]},
        ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def towns(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four townships over the scene and one far outside it (which must fail alone)."""
    far = ("远方乡", Polygon([(700000, 3997440), (701000, 3997440), (701000, 3998440), (700000, 3998440)]))
    return _write_areas(tmp_path_factory.mktemp("towns") / "towns.geojson", [*_grid_areas(2, TOWNS), far])


def _cli(*args: str, cwd: Path = REPO, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=cwd,
                          check=False, **kwargs)


def _analyse_aoi(scene, towns: Path, name: str) -> dict:
    out = _cli("analyse", "--quiet", "--no-cache", "--json", *(a for p in scene.layers for a in ("--layer", str(p))),
               "--aoi", str(towns), "--aoi-name", name, "--aoi-name-field", "XZQMC")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _config(scene, towns: Path, out: Path, **kwargs) -> SweepConfig:
    return SweepConfig(areas=towns, name_field="XZQMC", layers=tuple(str(p) for p in scene.layers), out_dir=out,
                       use_cache=False, **kwargs)


def _summary(out: Path) -> dict[str, dict]:
    text = (out / "summary.csv").read_bytes()
    assert text.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read Chinese
    return {row["area"]: row for row in csv.DictReader(text.decode("utf-8-sig").splitlines())}


@pytest.fixture(scope="module")
def local_sweep(scene, towns: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "sweep"
    result = sweep(_config(scene, towns, out, workers=2))
    assert sorted(o.name for o in result.outcomes) == sorted([*TOWNS, "远方乡"])
    return out


def test_each_areas_facts_equal_analyse_aoi_on_a_local_cluster(scene, towns: Path, local_sweep: Path) -> None:
    for name in TOWNS:
        swept = json.loads((local_sweep / "facts" / f"{name}.json").read_text(encoding="utf-8"))
        assert swept == _analyse_aoi(scene, towns, name), name
        assert swept["aoi"]["name"] == name


def test_a_failing_area_is_recorded_and_the_others_finish(local_sweep: Path) -> None:
    rows = _summary(local_sweep)
    assert [rows[n]["status"] for n in TOWNS] == ["ok"] * 4
    assert rows["远方乡"]["status"] == "failed" and "lies outside S2_synthetic_20230501" in rows["远方乡"]["error"]
    assert float(rows["城关镇"]["analysed_mu"]) > 0 and rows["城关镇"]["date_from"] == "2023-05-01"
    from openpyxl import load_workbook

    sheet = load_workbook(local_sweep / "summary.xlsx").active
    assert [c.value for c in sheet[1]][:3] == ["area", "status", "error"] and sheet.max_row == 6
    record = json.loads((local_sweep / "sweep.json").read_text(encoding="utf-8"))
    assert set(record["run"]["failed"]) == {"远方乡"} and record["versions"]["dask"]
    assert [d["date"] for d in record["inputs"]["dates"]] == ["2023-05-01", "2024-05-01"]
    phases = record["run"]["phases_s"]  # where a sweep's time went, for whoever sizes the next one
    assert list(phases) == ["plan", "cluster_start", "measure", "cluster_close", "outputs"]
    assert all(v >= 0 for v in phases.values()) and phases["measure"] > 0


def _findings_by_area(out: Path) -> dict[str, int]:
    import pyogrio.raw

    meta, _, _, columns = pyogrio.raw.read(out / "findings.gpkg", layer="change_patches")
    names = list(columns[list(meta["fields"]).index("area")])
    return {n: names.count(n) for n in set(names)}


def test_a_rerun_skips_done_areas_and_keeps_them_in_the_outputs(scene, towns: Path, local_sweep: Path) -> None:
    before = _findings_by_area(local_sweep)
    per_area = {n: json.loads((local_sweep / "findings" / f"{n}.geojson").read_text())["properties"]["count"]
                for n in TOWNS}
    assert before == {n: c for n, c in per_area.items() if c}
    again = sweep(_config(scene, towns, local_sweep, workers=1))
    assert sorted(again.skipped) == sorted(TOWNS) and [o.name for o in again.outcomes] == ["远方乡"]
    assert _findings_by_area(local_sweep) == before  # the skipped areas' patches are still there
    assert len(_summary(local_sweep)) == 5
    forced = sweep(_config(scene, towns, local_sweep, workers=1, force=True))
    assert not forced.skipped and len(forced.outcomes) == 5


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([str(DASK), *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


@pytest.fixture
def cluster(tmp_path: Path, free_port: int, request: pytest.FixtureRequest) -> Iterator[str]:
    """``dask scheduler`` and one ``dask worker`` as separate processes on 127.0.0.1; the worker in another folder,
    with no PYTHONPATH (it finds the engine as the installed package). ``preload``: a worker start-up script."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    address = f"tcp://127.0.0.1:{free_port}"
    preload = getattr(request, "param", None)
    scheduler = _start(["scheduler", "--host", "127.0.0.1", "--port", str(free_port), "--dashboard-address",
                        "127.0.0.1:0"], elsewhere, env)
    worker_args = ["worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--dashboard-address",
                   "127.0.0.1:0", "--no-nanny"]
    if preload:
        (elsewhere / "preload.py").write_text(preload, encoding="utf-8")
        worker_args += ["--preload", str(elsewhere / "preload.py")]
    worker = _start(worker_args, elsewhere, env)
    try:
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for process in (worker, scheduler):
            os.killpg(process.pid, signal.SIGTERM)
        for process in (worker, scheduler):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def test_the_same_facts_on_a_scheduler_and_worker_started_apart(scene, towns: Path, local_sweep: Path,
                                                                cluster: str, tmp_path: Path) -> None:
    out = tmp_path / "remote"
    run = _cli("sweep", "--areas", str(towns), "--name-field", "XZQMC", "--layer", str(scene.layers[0]),
               "--layer", str(scene.layers[1]), "--out", str(out), "--scheduler", cluster, "--no-cache", "--quiet")
    assert run.returncode == 1, run.stderr  # 远方乡 failed, the rest measured
    assert "4 of 5 areas measured" in run.stdout
    for name in TOWNS:
        assert json.loads((out / "facts" / f"{name}.json").read_text()) == \
            json.loads((local_sweep / "facts" / f"{name}.json").read_text()), name


BLOCK_ENGINE = '''"""A worker whose environment lacks the engine: importing it fails there."""
import sys


class _NoEngine:
    def find_spec(self, name, path=None, target=None):
        if name == "engine" or name.startswith("engine."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoEngine())
'''


@pytest.mark.parametrize("cluster", [BLOCK_ENGINE], indirect=True)
def test_a_worker_without_the_engine_is_named_in_one_line(scene, towns: Path, cluster: str, tmp_path: Path) -> None:
    run = _cli("sweep", "--areas", str(towns), "--name-field", "XZQMC", "--layer", str(scene.layers[0]),
               "--layer", str(scene.layers[1]), "--out", str(tmp_path / "o"), "--scheduler", cluster, "--quiet")
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and "cannot import the engine" in lines[-1], run.stderr
    assert not any(line.startswith("Traceback") for line in lines)


def test_a_killed_sweep_resumes_where_it_stopped(scene, tmp_path: Path) -> None:
    areas = _write_areas(tmp_path / "grid.geojson", _grid_areas(4))
    out = tmp_path / "killed"
    args = ["sweep", "--areas", str(areas), "--name-field", "XZQMC", "--layer", str(scene.layers[0]), "--layer",
            str(scene.layers[1]), "--out", str(out), "--workers", "1", "--no-cache", "--quiet"]
    process = subprocess.Popen([sys.executable, "-m", "engine", *args], cwd=REPO, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "done").glob("*.txt"))) < 2:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)  # the client, its scheduler and its worker, mid-sweep
    process.wait()
    done = sorted(p.stem for p in (out / "done").glob("*.txt"))  # each area's record of being done, written last
    assert 2 <= len(done) < 16, done
    for path in (out / "facts").glob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))  # no half-written facts
    rerun = _cli(*args)
    assert rerun.returncode == 0, rerun.stderr
    assert f"({len(done)} already done, skipped)" in rerun.stdout and "16 of 16 areas measured" in rerun.stdout
    assert len(_summary(out)) == 16 and all(r["status"] == "ok" for r in _summary(out).values())


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: ["--areas", str(d / "missing.gpkg")], "not found"),
    (lambda d: ["--areas", str(_write_areas(d / "a.geojson", _grid_areas(1))), "--name-field", "DLMC"],
     "has no field 'DLMC'"),
    (lambda d: ["--areas", str(_write_areas(d / "a.geojson", [("a/b", Polygon([(0, 0), (1, 0), (1, 1)])),
                                                              ("a_b", Polygon([(0, 0), (1, 0), (1, 1)]))]))],
     "would share the file name"),
    (lambda d: ["--areas", str(_write_areas(d / "a.geojson", _grid_areas(1))), "--layer", str(d / "none_*.tif")],
     "matches no file"),
])
def test_bad_inputs_are_one_line_and_exit_2(scene, tmp_path: Path, make, message: str) -> None:
    args = {"--name-field": "XZQMC", "--layer": str(scene.layers[0]), "--out": str(tmp_path / "o")}
    given = make(tmp_path)
    for flag, value in args.items():
        if flag not in given:
            given += [flag, value]
    run = _cli("sweep", *given, "--quiet")
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1 and message in lines[0], run.stderr


def _split(layer: Path, folder: Path) -> list[Path]:
    """The layer cut into two overlapping products of the same date (west and east), as two tiles are."""
    import rasterio
    from rasterio.windows import Window
    from rasterio.windows import transform as window_transform

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    with rasterio.open(layer) as src:
        for name, window in (("west", Window(0, 0, 150, src.height)), ("east", Window(100, 0, src.width - 100,
                                                                                      src.height))):
            profile = {**src.profile, "width": int(window.width), "height": int(window.height),
                       "transform": window_transform(window, src.transform), "blockxsize": 16, "blockysize": 16}
            path = folder / f"{name}_{layer.name}"
            with rasterio.open(path, "w", **profile) as dst:
                dst.write(src.read(window=window))
                dst.update_tags(**src.tags())
                dst.descriptions = src.descriptions
            out.append(path)
    return out


def test_two_products_of_one_date_are_mosaicked_and_measure_as_the_whole(scene, towns: Path, local_sweep: Path,
                                                                         tmp_path: Path) -> None:
    tiles = _split(scene.layers[1], tmp_path / "tiles")
    out = tmp_path / "mosaicked"
    result = sweep(SweepConfig(areas=towns, name_field="XZQMC", layers=(str(scene.layers[0]),
                                                                         str(tmp_path / "tiles" / "*.tif")),
                               out_dir=out, use_cache=False, workers=1))
    assert sum(o.status == "ok" for o in result.outcomes) == 4
    assert (out / "mosaics" / "mosaic_2024-05-01.vrt").is_file()
    record = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
    assert sorted(Path(p).name for p in record["inputs"]["dates"][1]["products"]) == sorted(t.name for t in tiles)
    for name in TOWNS:
        whole = json.loads((local_sweep / "facts" / f"{name}.json").read_text())
        mosaic = json.loads((out / "facts" / f"{name}.json").read_text())
        # the same pixels, calibrated the same way: the same classes, transitions and patches to the last digit
        assert mosaic["classes"] == whole["classes"] and mosaic["transitions"] == whole["transitions"], name
        assert mosaic["findings_count"] == whole["findings_count"]
        assert mosaic["per_date"][1]["valid_fraction"] == pytest.approx(1.0)


def test_the_service_runs_a_sweep_from_inline_boundaries(scene, tmp_path: Path) -> None:
    """POST /v1/sweep, as the QGIS "Sweep areas" algorithm sends it: boundaries inline in EPSG:4326, paths
    under the service's root; the same facts as the command line's sweep; nothing outside the root."""
    import httpx
    from pyproj import Transformer
    from test_service import Engine

    from engine.analysis.geo import reproject

    to_lonlat = Transformer.from_crs("EPSG:32648", "EPSG:4326", always_xy=True)
    areas = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"XZQMC": n}, "geometry": mapping(reproject(g, to_lonlat))}
        for n, g in _grid_areas(2, TOWNS)]}
    server = Engine("--backend", "none", "--root", str(tmp_path), "--root", str(Path(scene.layers[0]).parent))
    try:
        body = {"areas": areas, "name_field": "XZQMC", "layers": [str(p) for p in scene.layers],
                "out": str(tmp_path / "service-sweep"), "workers": 1}
        reply = httpx.post(server.url + "/v1/sweep", json=body, timeout=300)
        assert reply.status_code == 200, reply.text
        done = reply.json()
        assert done["measured"] == 4 and not done["failed"] and Path(done["findings"]).is_file()
        assert (tmp_path / "service-sweep" / "areas.geojson").is_file()  # kept with the sweep's record
        for name in TOWNS:
            facts = json.loads((tmp_path / "service-sweep" / "facts" / f"{name}.json").read_text())
            assert facts["aoi"]["name"] == name and facts["analysed_area_m2"] > 0
        streamed = httpx.post(server.url + "/v1/sweep", json={**body, "stream": True, "force": True}, timeout=300)
        kinds = [line.split(": ", 1)[1] for line in streamed.text.splitlines() if line.startswith("event: ")]
        assert kinds.count("progress") == 4 and kinds[-1] == "done"
        outside = httpx.post(server.url + "/v1/sweep", json={**body, "out": "/etc/sweep"}, timeout=60)
        assert outside.status_code == 403 and outside.json()["error"]["code"] == "path_not_allowed"
        # a pattern searching outside the roots is refused as such: nothing is said of what it would match
        for pattern in ("/etc/host*", "/etc/nothing-here-*"):
            probe = httpx.post(server.url + "/v1/sweep", json={**body, "layers": [pattern]}, timeout=60)
            assert probe.status_code == 403 and "/etc/host." not in probe.text, probe.text
        # a VRT under a root whose source lies outside every root is refused before it is read
        import shutil
        import tempfile

        elsewhere = Path(tempfile.mkdtemp(prefix="outside-roots-"))
        try:
            shutil.copy(scene.layers[1], elsewhere / scene.layers[1].name)
            (tmp_path / "sneaky_2024-05-01.vrt").write_text(
                f'<VRTDataset rasterXSize="256" rasterYSize="256"><VRTRasterBand dataType="UInt16" band="1">'
                f"<SimpleSource><SourceFilename>{elsewhere / scene.layers[1].name}</SourceFilename>"
                "<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>")
            sneaky = httpx.post(server.url + "/v1/sweep", json={**body, "layers": [
                str(scene.layers[0]), str(tmp_path / "sneaky_2024-05-01.vrt")]}, timeout=60)
            assert sneaky.status_code == 403 and sneaky.json()["error"]["code"] == "path_not_allowed", sneaky.text
        finally:
            shutil.rmtree(elsewhere)
        bad_field = httpx.post(server.url + "/v1/sweep", json={**body, "name_field": "DLMC"}, timeout=60)
        assert bad_field.status_code == 422 and "has no field 'DLMC'" in bad_field.json()["error"]["message"]
    finally:
        server.stop()


class _SlowNarrator:
    """An OpenAI-compatible server that answers each area with its facts' first class area, slowly, and counts
    how many requests it serves at once."""

    in_flight = 0
    most = 0
    lock = None

    @classmethod
    def handler(cls):
        import threading
        from http.server import BaseHTTPRequestHandler

        cls.lock, cls.in_flight, cls.most = threading.Lock(), 0, 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                import re

                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with cls.lock:
                    cls.in_flight += 1
                    cls.most = max(cls.most, cls.in_flight)
                time.sleep(0.4)
                text = body["messages"][-1]["content"][-1]["text"]
                water = re.search(r"水体[^\n]*?(\d[\d,.]*) 亩", text)
                answer = f"该区域水体 {water.group(1)} 亩。" if water else "无法读取。"
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                chunk = {"choices": [{"index": 0, "delta": {"content": answer}}]}
                self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\ndata: [DONE]\n\n".encode())
                with cls.lock:
                    cls.in_flight -= 1

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def test_a_narrative_per_area_through_an_openai_server_with_bounded_concurrency(scene, tmp_path: Path) -> None:
    """The model explains each area's facts through the OpenAI-compatible backend, at most 2 at once; each
    narrative carries its audit; the measurements never wait for it."""
    import threading
    from http.server import ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowNarrator.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    areas = _write_areas(tmp_path / "grid.geojson", _grid_areas(2, TOWNS))
    out = tmp_path / "narrated"
    try:
        run = _cli("sweep", "--areas", str(areas), "--name-field", "XZQMC", "--layer", str(scene.layers[0]),
                   "--layer", str(scene.layers[1]), "--out", str(out), "--workers", "2", "--no-cache", "--quiet",
                   "--narrate", "--openai-url", f"http://127.0.0.1:{server.server_address[1]}/v1",
                   "--openai-model", "county-qwen", "--narrate-concurrency", "2")
    finally:
        server.shutdown()
    assert run.returncode == 0, run.stderr
    assert 1 <= _SlowNarrator.most <= 2
    rows = _summary(out)
    for name in TOWNS:
        narrative = json.loads((out / "narratives" / f"{name}.json").read_text(encoding="utf-8"))
        assert narrative["answer"].startswith("该区域水体") and narrative["audit"]["verdict"] == "all_measured"
        assert rows[name]["narrative_audit"] == "all_measured"
    # without a server the measurements are still made, and each narrative records why it is missing
    bare = _cli("sweep", "--areas", str(areas), "--name-field", "XZQMC", "--layer", str(scene.layers[0]),
                "--layer", str(scene.layers[1]), "--out", str(tmp_path / "no-server"), "--workers", "1",
                "--no-cache", "--quiet", "--narrate", "--openai-url", "http://127.0.0.1:9/v1", "--openai-model", "m")
    assert bare.returncode == 0, bare.stderr
    assert all(r["status"] == "ok" and r["narrative_audit"] == "failed" for r in _summary(tmp_path / "no-server")
               .values())


def _listening(pids: list[int]) -> list[tuple[int, str]]:
    import psutil

    out = []
    for pid in pids:
        try:
            connections = psutil.Process(pid).net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        out += [(pid, c.laddr.ip) for c in connections if c.status == psutil.CONN_LISTEN]
    return out


def test_nothing_listens_beyond_loopback(scene, towns: Path, tmp_path: Path, cluster: str) -> None:
    """The local cluster's scheduler, dashboard and workers, and a scheduler and worker started as the README
    shows with --host 127.0.0.1: every listening socket is on 127.0.0.1."""
    import psutil

    from engine.sweep.run import client_for

    me = psutil.Process()
    before = {c.pid for c in me.children(recursive=True)}
    with client_for(_config(scene, towns, tmp_path / "o", workers=2)) as client:
        client.wait_for_workers(2, timeout=60)
        workers = [c for c in me.children(recursive=True) if c.pid not in before  # not multiprocessing's tracker
                   and "resource_tracker" not in " ".join(c.cmdline())]
        local = _listening([me.pid, *(c.pid for c in workers)])
    assert len(local) >= 4 and all(ip == "127.0.0.1" for _, ip in local), local  # scheduler, dashboard, workers
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert workers and not alive, alive  # the local cluster's worker processes end with the sweep
    others = [p.pid for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] and
              any(cluster.rsplit(":", 1)[1] in part for part in p.info["cmdline"])]
    remote = _listening(others)
    assert remote and all(ip == "127.0.0.1" for _, ip in remote), remote


def test_areas_from_a_gbk_shapefile_in_cgcs2000(tmp_path: Path) -> None:
    """Township boundaries as Chinese desktop GIS writes them (GBK names, no .cpg, CGCS2000): named right."""
    from test_aoi import _in_cgcs2000, _write_gbk_shapefile

    from engine.sweep.areas import read_areas

    shp = _write_gbk_shapefile(tmp_path / "shp", [(n, _in_cgcs2000(g)) for n, g in _grid_areas(2, TOWNS)])
    areas = read_areas(shp, "XZQMC")
    assert [a.name for a in areas] == list(TOWNS) and [a.stem for a in areas] == list(TOWNS)


def test_band_files_of_one_product_are_one_layer_and_folders_are_searched() -> None:
    """A glob over every band file of two Landsat scenes is two dates of one product each, not a mosaic of copies;
    a folder of product folders is searched, and the scene of another place is its own date."""
    from engine.sweep.layers import by_date

    landsat = REPO / "tests" / "data" / "landsat"
    dates = by_date([str(landsat / "L?0*_195025_*" / "*_B[1-5].TIF")])
    assert [(d.date, len(d.specs)) for d in dates] == [("2001-07-30", 1), ("2013-07-07", 1)]
    assert [d.date for d in by_date([landsat])] == ["2000-03-09", "2001-07-30", "2013-07-07"]


def test_a_rerun_with_other_inputs_measures_again_and_a_failure_leaves_no_old_figures(scene, tmp_path: Path) -> None:
    """Done means done for these inputs: another minimum mapping unit, or a moved polygon, measures the area again;
    an area that now fails shows its error, never the figures of an earlier run."""
    areas = _write_areas(tmp_path / "a.geojson", _grid_areas(2, TOWNS))
    out = tmp_path / "o"
    first = sweep(_config(scene, areas, out, workers=1))
    assert len(first.outcomes) == 4
    assert not sweep(_config(scene, areas, out, workers=1)).outcomes  # same inputs: all skipped
    assert len(sweep(_config(scene, areas, out, workers=1, mmu_ha=1.0)).outcomes) == 4
    moved = [(n, g) if n != "城关镇" else (n, Polygon([(700000, 3997440), (701000, 3997440), (701000, 3998440)]))
             for n, g in _grid_areas(2, TOWNS)]
    _write_areas(areas, moved)
    rerun = sweep(_config(scene, areas, out, workers=1, mmu_ha=1.0))
    assert {o.name: o.status for o in rerun.outcomes}["城关镇"] == "failed"
    row = _summary(out)["城关镇"]
    assert row["status"] == "failed" and row["analysed_mu"] == "" and "outside" in row["error"]
    assert not (out / "facts" / "城关镇.json").exists()


def test_reports_per_area_and_a_summary_report(scene, towns: Path, local_sweep: Path, tmp_path: Path) -> None:
    """With reports, each measured area gets `engine report`'s files, whose register holds all its patches, and
    summary_report.docx has every area's figures as summary.csv has them; the failed area is listed with why."""
    from docx import Document
    from openpyxl import load_workbook

    from engine.outputs.report import sweep_report_settings

    out = tmp_path / "reported"
    done = _cli("sweep", "--areas", str(towns), "--name-field", "XZQMC", "--out", str(out), "--workers", "1",
                "--quiet", "--no-cache", "--reports", *(a for p in scene.layers for a in ("--layer", str(p))),
                timeout=900)
    assert done.returncode == 1, done.stderr  # 远方乡 lies outside the layers
    record = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
    assert record["inputs"]["report"] == sweep_report_settings("zh")
    rows = _summary(out)
    for name in TOWNS:
        folder = out / "reports" / name
        assert {"report.docx", "patches.xlsx", "patches.gpkg", "patches.qml", "facts.json"} <= {
            p.name for p in folder.iterdir()}, name
        facts = json.loads((out / "facts" / f"{name}.json").read_text(encoding="utf-8"))
        assert json.loads((folder / "facts.json").read_text(encoding="utf-8")) == facts
        sheet = load_workbook(folder / "patches.xlsx").active
        registered = [r for r in sheet.iter_rows(min_row=2, values_only=True) if isinstance(r[0], int)]
        assert len(registered) == facts["findings_count"] == int(rows[name]["change_patches"])
    assert not (out / "reports" / "远方乡").exists()
    table = Document(str(out / "summary_report.docx")).tables
    measured = {r[0]: r for r in ([c.text for c in row.cells] for row in table[0].rows[1:])}
    assert set(measured) == {*TOWNS, "合计"}
    for name in TOWNS:
        assert measured[name][1] == f"{float(rows[name]['analysed_mu']):.2f}"
        assert measured[name][2] == f"{float(rows[name]['new_built_up_mu']):.2f}"
        assert measured[name][4] == rows[name]["change_patches"]
    assert measured["合计"][4] == str(sum(int(rows[n]["change_patches"]) for n in TOWNS))
    failed = [[c.text for c in row.cells] for row in table[1].rows[1:]]
    assert failed[0][0] == "远方乡" and "outside" in failed[0][1]
    # the same sweep without reports is another sweep: its areas are measured again, not skipped as done
    again = sweep(_config(scene, towns, out, workers=1))
    assert sorted(again.skipped) == [] and len(again.outcomes) == 5
