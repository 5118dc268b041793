"""The browser page's parts that need no browser: the language of a request, the layers under the roots, what
the model was shown, and the imagery a person chose."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.web.roots import layers_under
from engine.web.text import lang_of, seen_text


@pytest.mark.parametrize(("header", "lang"), [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("en-US,en;q=0.9", "en"), ("en-GB,zh-CN;q=0.5", "en"),
    ("fr-FR,fr;q=0.9", "zh"), ("", "zh"), (None, "zh"), ("fr,en;q=0.5", "en"), ("zh-TW", "zh"),
])
def test_the_pages_words_follow_the_browsers_language_chinese_by_default(header: str | None, lang: str) -> None:
    assert lang_of(header) == lang


def test_layers_under_the_roots_are_products_and_geotiffs(tmp_path: Path) -> None:
    root = tmp_path / "imagery"
    landsat = root / "2023" / "LC08_L1TP_131034_20230501_20230509_02_T1"
    landsat.mkdir(parents=True)
    (landsat / "LC08_L1TP_131034_20230501_20230509_02_T1_MTL.txt").write_text("GROUP = L1_METADATA_FILE")
    (landsat / "LC08_L1TP_131034_20230501_20230509_02_T1_B4.TIF").write_bytes(b"")
    safe = root / "S2A_MSIL2A_20240501T040551_N0510_R047_T48SUE_20240501T084455.SAFE"
    safe.mkdir()
    (root / "county_2024-05-01.tif").write_bytes(b"")
    (root / "notes.txt").write_text("not a layer")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.tif").write_bytes(b"")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.tif").write_bytes(b"")
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "linked.tif").symlink_to(outside / "secret.tif")
    found = dict(layers_under((root,)))
    assert set(found) == {"imagery/2023/LC08_L1TP_131034_20230501_20230509_02_T1",
                          "imagery/S2A_MSIL2A_20240501T040551_N0510_R047_T48SUE_20240501T084455.SAFE",
                          "imagery/county_2024-05-01.tif"}, found  # band files, hidden and linked folders not
    assert found["imagery/county_2024-05-01.tif"] == str((root / "county_2024-05-01.tif").resolve())
    assert len(layers_under((root,), limit=1)) == 1


@pytest.mark.parametrize(("done", "lang", "expected"), [
    ({"backend": {"backend": "local"}, "video": {"frames": 3, "dates": ["2022-05-01", "2023-05-01", "2024-05-01"]},
      "images": [{}, {}, {}]}, "zh",
     "模型看到：3 个日期组成的一段视频（2022-05-01、2023-05-01、2024-05-01），另有3 幅影像。"),
    ({"backend": {"backend": "local"}, "video": None, "images": [{}] * 4}, "zh", "模型看到：4 幅影像。"),
    ({"backend": {"backend": "local"}, "video": {"frames": 3, "dates": ["a", "b", "c"]}, "images": []}, "en",
     "The model was shown one video of 3 frames, one per date (a, b, c)."),
    ({"backend": {"backend": "none"}, "images": []}, "zh", "没有模型回答：回答由测量结果写成。"),
    ({"backend": {"backend": "local"}, "fallback": True, "images": [{}]}, "en",
     "No model answered: the answer is written from the measurements."),
])
def test_what_the_model_was_shown_is_said_from_the_done_event(done: dict, lang: str, expected: str) -> None:
    assert seen_text(done, lang) == expected


def test_photos_and_layers_cannot_be_asked_about_together(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from engine.synthetic import SyntheticSpec, write_scene
    from engine.web.actions import Actions

    scene = write_scene(SyntheticSpec(width=64, height=64, patch_px=16), tmp_path / "scene")
    photo = tmp_path / "site.png"
    photo.write_bytes(b"\x89PNG")
    ui = SimpleNamespace(answer="answer", audit="audit")
    from engine.service.settings import ServiceSettings

    engine = SimpleNamespace(settings=ServiceSettings())
    actions = Actions(engine, None, tmp_path / "uploads", ui)
    out = list(actions.ask([str(scene.layers[0]), str(photo)], [], [], None, "有什么？", "mu", "s"))
    assert out == [{"answer": "⚠ 照片和带地理参考的影像不能一起提问：请只选其中一种。", "audit": ""}]


def test_dates_and_sensors_typed_into_the_layers_table_are_used(tmp_path: Path) -> None:
    import datetime as dt

    from engine.synthetic import SyntheticSpec, write_scene
    from engine.types import LayerSpec, Sensor
    from engine.web.uploads import corrected

    scene = write_scene(SyntheticSpec(width=32, height=32, patch_px=16), tmp_path / "scene")
    specs = [LayerSpec(path=p) for p in scene.layers]
    a, b = (p.name for p in scene.layers)
    as_read = corrected(specs, [[a, "2023-05-01", "Sentinel-2 MSI"], [b, "2024-05-01", "Sentinel-2 MSI"]])
    assert [s.sensor for s in as_read] == [None, None]  # nothing typed: the engine reads it as before
    typed = corrected(specs, [[a, "2022-06-30", "Landsat 8 OLI"], [b, "2024-05-01", "l9"]])
    assert typed[0].date == dt.date(2022, 6, 30) and typed[0].sensor is Sensor.LANDSAT_8
    assert typed[1].sensor is Sensor.LANDSAT_9
    with pytest.raises(ValueError, match="unknown sensor"):
        corrected(specs, [[a, "2023-05-01", "a camera"]])
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        corrected(specs, [[a, "May 2023", ""]])


def test_the_answers_map_draws_the_zones(tmp_path: Path) -> None:
    import io
    import json

    import numpy as np
    from PIL import Image
    from shapely.geometry import box, mapping

    from engine.analysis.run import ZoneSpec
    from engine.ask import AskRequest, collect, measure
    from engine.outputs.pictures import ZONE_RGB
    from engine.synthetic import SyntheticSpec, write_scene
    from engine.types import LayerSpec
    from engine.web.downloads import map_file

    scene = write_scene(SyntheticSpec(width=96, height=96, patch_px=16), tmp_path / "scene")
    zones = tmp_path / "zones.geojson"
    zones.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {
        "name": "urn:ogc:def:crs:EPSG::32648"}}, "features": [{"type": "Feature", "properties": {"name": "基本农田"},
        "geometry": mapping(box(500100, 3999300, 500800, 3999900))}]}))
    layers = [LayerSpec(path=p) for p in scene.layers]
    out = collect(measure(AskRequest("保护区边界是否被占用？", layers, zones=ZoneSpec(zones))))
    plain = map_file(layers, out["facts"], out["findings"], tmp_path / "plain")
    drawn = map_file(layers, out["facts"], out["findings"], tmp_path / "drawn", zones=ZoneSpec(zones))

    def yellow(path: str) -> int:
        pixels = np.asarray(Image.open(io.BytesIO(Path(path).read_bytes())).convert("RGB")).astype(int)
        return int((np.abs(pixels - np.array(ZONE_RGB)).sum(axis=2) < 60).sum())

    assert yellow(drawn) > 50 * max(1, yellow(plain)), (yellow(drawn), yellow(plain))


def _vrt_to(target: Path, path: Path) -> Path:
    """A VRT, named like a GeoTIFF, whose one band is ``target``'s first band."""
    path.write_text(f"""<VRTDataset rasterXSize="32" rasterYSize="32"><VRTRasterBand dataType="UInt16" band="1">
<SimpleSource><SourceFilename relativeToVRT="0">{target}</SourceFilename><SourceBand>1</SourceBand></SimpleSource>
</VRTRasterBand></VRTDataset>""")
    return path


def test_an_upload_that_would_read_outside_the_roots_is_refused(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from engine.errors import PathNotAllowedError
    from engine.service.settings import ServiceSettings
    from engine.synthetic import SyntheticSpec, write_scene
    from engine.web.actions import Actions

    secret = write_scene(SyntheticSpec(width=32, height=32, patch_px=16), tmp_path / "outside").layers[0]
    root, uploads = tmp_path / "root", tmp_path / "cache" / "uploads"
    root.mkdir()
    (uploads / "abc").mkdir(parents=True)
    sneaky = _vrt_to(secret, uploads / "abc" / "county_2024-05-01.tif")
    inside = write_scene(SyntheticSpec(width=32, height=32, patch_px=16), uploads / "def").layers
    confined = Actions(SimpleNamespace(settings=ServiceSettings(roots=(root,))), None, uploads, None)
    with pytest.raises(PathNotAllowedError):
        confined.chosen([str(sneaky)], [])
    assert len(confined.chosen([str(p) for p in inside], [])[0]) == 2  # real uploads are the page's own
    loopback = Actions(SimpleNamespace(settings=ServiceSettings()), None, uploads, None)
    assert len(loopback.chosen([str(sneaky)], [])[0]) == 1  # no roots: the machine's own files, as for the API


def test_a_removed_pick_is_a_message_not_a_crash(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from engine.service.settings import ServiceSettings
    from engine.web.actions import Actions
    from engine.web.uploads import UploadError

    root = tmp_path / "root"
    root.mkdir()
    actions = Actions(SimpleNamespace(settings=ServiceSettings(roots=(root,))), None, tmp_path / "uploads", None)
    with pytest.raises(UploadError, match="not found"):
        actions.chosen([], [str(root / "gone_2024-05-01.tif")])


@pytest.mark.parametrize(("name", "content"), [
    ("zones.kml", '<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd</SrcDataSource>'
                  "</OGRVRTLayer></OGRVRTDataSource>"),
    ("zones.kml", '<?xml version="1.0"?><OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/tmp/a.csv'
                  "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>"),  # an XML declaration is no KML
    ("zones.kml", "<?xml version="),
    ("zones.gpkg", "not a database"), ("zones.shp", "not a shapefile"), ("zones.csv", "a,b"),
])
def test_zones_that_are_not_what_their_name_says_are_refused(tmp_path: Path, name: str, content: str) -> None:
    from engine.web.uploads import UploadError, zones_spec

    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(UploadError, match=name.split(".")[0]):
        zones_spec(str(path))


def test_one_zip_unpacked_by_two_requests_at_once(tmp_path: Path) -> None:
    import zipfile
    from concurrent.futures import ThreadPoolExecutor

    from engine.web.uploads import unpack

    archive = tmp_path / "pair.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(20):
            z.writestr(f"pair/layer_{i}.tif", b"\0" * 200_000)
    with ThreadPoolExecutor(4) as pool:
        folders = list(pool.map(lambda _: unpack(archive), range(8)))
    assert len(set(folders)) == 1 and len(list(folders[0].iterdir())) == 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pair", "pair.zip"]  # no half-unpacked folder left


def test_two_layers_of_one_name_keep_their_own_dates(tmp_path: Path) -> None:
    import datetime as dt

    from engine.synthetic import SyntheticSpec, write_scene
    from engine.types import LayerSpec
    from engine.web.uploads import corrected, shown_names

    specs = []
    for year in ("2023", "2024"):
        layer = write_scene(SyntheticSpec(width=32, height=32, patch_px=16, dates=(f"{year}-05-01",)),
                            tmp_path / year).layers[0]
        layer = layer.rename(layer.with_name("county.tif"))
        specs.append(LayerSpec(path=layer))
    names = shown_names(specs)
    assert names == ["2023/county.tif", "2024/county.tif"]
    dated = corrected(specs, [[names[0], "2023-06-01", ""], [names[1], "2024-06-01", ""]])
    assert [s.date for s in dated] == [dt.date(2023, 6, 1), dt.date(2024, 6, 1)]


def test_uploads_older_than_a_day_are_removed_with_what_was_made_from_them(tmp_path: Path) -> None:
    import os
    import time

    from engine.web.uploads import expire

    uploads = tmp_path / "uploads"
    old = [uploads / "a1" / "pair.zip", uploads / "a1" / "pair" / "b4.tif", uploads / "timelapse" / "x.gif",
           uploads / "answers" / "s1" / "map.png"]
    new = [uploads / "b2" / "county.tif", uploads / "answers" / "s2" / "findings.geojson"]
    for path in old + new:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    two_days_ago = time.time() - 2 * 86400
    for path in old:
        os.utime(path, (two_days_ago, two_days_ago))
    assert expire(uploads, 86400) == len(old)
    assert all(p.exists() for p in new) and not any(p.exists() for p in old)
    assert not (uploads / "a1").exists() and not (uploads / "timelapse").exists()  # emptied folders go too
    assert uploads.is_dir()


def test_the_page_builds_with_every_handler_it_names(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from engine.service.settings import ServiceSettings
    from engine.web.page import build_page

    page, _, translations = build_page(SimpleNamespace(settings=ServiceSettings(roots=(tmp_path,))), None,
                                       tmp_path / "uploads")
    import inspect

    names = {fn.fn.__name__ for fn in page.fns.values()}
    assert {"describe", "replay", "ask", "report", "refacts", "refresh_roots"} <= names, names
    for fn in page.fns.values():  # each handler takes exactly the inputs it is given (the request aside)
        if getattr(fn.fn, "__self__", None) is not None:
            params = [p for p in inspect.signature(fn.fn).parameters if p != "request"]
            assert len(params) == len(fn.inputs), (fn.fn.__name__, params, len(fn.inputs))
    assert set(translations.translations) >= {"zh-CN", "en"}


@pytest.mark.parametrize(("lang", "expected"), [
    ("zh", "**数字核查：** ✘ 1 个数字没有测量依据：两百亩\n- ✔ 179.7亩（transitions[0].area_m2）\n- ✘ 两百亩"),
    ("en", "**Figures checked:** ✘ 1 figures are not measured: 200 mu\n- ✔ 179.7 mu (transitions[0].area_m2)\n"
           "- ✘ 200 mu"),
])
def test_the_audit_reads_in_the_pages_language(lang: str, expected: str) -> None:
    from engine.web.actions import audit_text

    figure = "两百亩" if lang == "zh" else "200 mu"
    audit = {"verdict": "unsupported", "unsupported": [figure], "numbers": [
        {"supported": True, "text": "179.7亩" if lang == "zh" else "179.7 mu", "source": "transitions[0].area_m2"},
        {"supported": False, "text": figure}]}
    assert audit_text(audit, lang) == expected


def test_a_real_kml_is_accepted(tmp_path: Path) -> None:
    from engine.web.uploads import zones_spec

    kml = tmp_path / "zones.kml"
    kml.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
                   "</Document></kml>")
    assert zones_spec(str(kml)).path == kml


def test_a_zipped_layer_reading_outside_the_roots_is_refused_before_it_is_opened(tmp_path: Path, monkeypatch) -> None:
    import zipfile
    from types import SimpleNamespace

    from engine.errors import PathNotAllowedError
    from engine.service.settings import ServiceSettings
    from engine.synthetic import SyntheticSpec, write_scene
    from engine.web.actions import Actions

    secret = write_scene(SyntheticSpec(width=32, height=32, patch_px=16), tmp_path / "outside").layers[0]
    root, uploads = tmp_path / "root", tmp_path / "cache" / "uploads"
    root.mkdir()
    (uploads / "abc").mkdir(parents=True)
    archive = uploads / "abc" / "product.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("product/county_2024-05-01.tif", _vrt_to(secret, tmp_path / "v.vrt").read_text())
    opened = []
    import engine.scene.layer

    real = engine.scene.layer.open_layer
    monkeypatch.setattr(engine.scene.layer, "open_layer", lambda spec, *a, **k: opened.append(spec) or real(spec))
    actions = Actions(SimpleNamespace(settings=ServiceSettings(roots=(root,))), None, uploads, None)
    with pytest.raises(PathNotAllowedError):
        actions.chosen([str(archive)], [])
    assert opened == []  # refused before GDAL opened anything


def test_a_zipped_zones_file_is_held_to_the_upload_limit(tmp_path: Path) -> None:
    import zipfile

    from engine.web.uploads import UploadError, zones_spec

    archive = tmp_path / "zones.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("zones/zones.geojson", " " * (5 * 2**20))
    with pytest.raises(UploadError, match="unpacks to more than 4 MB"):
        zones_spec(str(archive), max_upload_bytes=2**20)


def test_layers_of_one_name_in_folders_of_one_name_are_told_apart(tmp_path: Path) -> None:
    from engine.types import LayerSpec
    from engine.web.uploads import shown_names

    specs = [LayerSpec(path=tmp_path / root / "2023" / "x.tif") for root in ("a", "b")]
    specs.append(LayerSpec(path=tmp_path / "c" / "y.tif"))
    assert shown_names(specs) == ["a/2023/x.tif", "b/2023/x.tif", "y.tif"]
