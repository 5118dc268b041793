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
    engine = SimpleNamespace(settings=SimpleNamespace(roots=(), allows=lambda path: True))
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
