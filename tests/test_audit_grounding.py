"""The numbers audit (a table of answers) and grounding boxes mapped to map coordinates."""

from __future__ import annotations

import pytest
from affine import Affine
from pyproj import Transformer

from engine.answer.audit import audit
from engine.answer.grounding import boxes_to_features, parse_boxes
from engine.prompt.builder import ImageFrame

FACTS = {
    "dates": ["2023-05-01", "2024-05-01"],
    "classes": {
        "2023-05-01": {"cropland_grassland": {"area_m2": 120000.0, "area_ha": 12.0, "fraction": 0.25},
                       "built_up": {"area_m2": 40000.0, "fraction": 0.08}},
        "2024-05-01": {"cropland_grassland": {"area_m2": 150000.0, "area_ha": 15.0, "fraction": 0.3125},
                       "built_up": {"area_m2": 50000.0, "fraction": 0.1}},
    },
    "transitions": [{"from": "forest", "to": "cropland_grassland", "area_m2": 20000.0, "patches": 3},
                    {"from": "bare", "to": "cropland_grassland", "area_m2": 10000.0, "patches": 2}],
    "findings_count": 5,
}
QUESTION = "2024年第二季度新增耕地面积是多少？"


@pytest.mark.parametrize("answer, unsupported", [
    ("2023年耕地12 公顷，即180亩，约0.12 km²。", []),  # one area in three units
    ("耕地由12公顷增至15 ha，增加25%，占比上升6.25个百分点。", []),
    ("新增耕地3公顷（45亩），共5个图斑。", []),  # gross gain = sum of transitions into cropland
    ("约120000平方米；约 1,800 亩", ["约 1,800 亩"]),
    ("新增耕地350亩。", ["350亩"]),  # invented
    ("耕地增加了40%。", ["40%"]),  # the measured change is 25 %
    ("Cropland grew from 12 ha to 15 ha, i.e. 225 mu.", []),
    ("Cropland was about 18.0 mu.", ["about 18.0 mu"]),
    ("约120亩？", ["约120亩"]),  # 120 mu is 8 ha: nothing measured is near it
    ("耕地面积约 0.15 平方公里", []),
    ("2024年5月1日的影像显示2024-05-01耕地增加。", []),  # dates are not figures
    ("第二季度新增耕地", []),  # the question's quarter
    ('{"bbox_2d": [10, 20, 110, 220], "label": "cropland"}', []),  # box coordinates are not figures
    ("共7个图斑", ["7个图斑"]),
])
def test_audit_table(answer: str, unsupported: list[str]) -> None:
    result = audit(answer, FACTS, QUESTION)
    assert [n.text for n in result.unsupported] == unsupported
    assert result.ok is (not unsupported)


def test_audit_accepts_rounding_but_not_more() -> None:
    assert audit("耕地约 12.0 公顷", FACTS).ok
    assert not audit("耕地约 12.2 公顷", FACTS).ok
    assert audit("耕地约 11.96 公顷", FACTS).unsupported[0].text == "约 11.96 公顷"


def test_audit_counts_every_number() -> None:
    result = audit("12 公顷、15 公顷和 999 亩", FACTS)
    assert len(result.numbers) == 3 and result.to_dict()["unsupported"] == ["999 亩"]


def test_parse_boxes_skips_malformed_and_never_evaluates() -> None:
    text = ('好的 {"bbox_2d": [30, 40, 10, 20], "label": "built_up", "image": 2} 以及 '
            '{"bbox_2d": [1, 2, 3], "label": "x"} {"bbox_2d": "__import__(\'os\')"}')
    boxes = parse_boxes(text)
    assert len(boxes) == 1
    box = boxes[0]
    assert (box.x1, box.y1, box.x2, box.y2, box.label, box.image) == (10, 20, 30, 40, "built_up", 2)


def test_boxes_map_through_the_tile_geotransform() -> None:
    # a 280 x 280 image of a UTM 48N extent at 10 m per image pixel, origin (500000, 4000000)
    frame = ImageFrame(280, 280, Affine(10, 0, 500000, 0, -10, 4000000), "EPSG:32648", "2024-05-01", "true_color")
    other = ImageFrame(280, 280, Affine(20, 0, 600000, 0, -20, 4000000), "EPSG:32648", "2023-05-01", "true_color")
    text = '{"bbox_2d": [28, 56, 84, 140], "label": "built_up", "image": 1}'
    (feature,) = boxes_to_features(text, [frame, other])
    props = feature["properties"]
    assert props["source"] == "model" and props["image"] == 1 and props["date"] == "2024-05-01"
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
    xs, ys = to_utm.transform(*zip(*feature["geometry"]["coordinates"][0], strict=True))
    assert min(xs) == pytest.approx(500280, abs=0.01) and max(xs) == pytest.approx(500840, abs=0.01)
    assert min(ys) == pytest.approx(4000000 - 1400, abs=0.01) and max(ys) == pytest.approx(4000000 - 560, abs=0.01)
    cx, cy = to_utm.transform(props["centroid_lon"], props["centroid_lat"])
    assert (cx, cy) == (pytest.approx(500560, abs=0.5), pytest.approx(4000000 - 980, abs=0.5))


def test_box_without_image_number_refers_to_the_last_image_and_is_clipped() -> None:
    first = ImageFrame(100, 100, Affine(1, 0, 0, 0, -1, 0), "EPSG:32648", "2023-05-01", "true_color")
    last = ImageFrame(100, 100, Affine(1, 0, 1000, 0, -1, 0), "EPSG:32648", "2024-05-01", "false_color")
    (feature,) = boxes_to_features('{"bbox_2d": [50, 50, 400, 400], "label": "bare"}', [first, last])
    assert feature["properties"]["image"] == 2
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
    xs, _ = to_utm.transform(*zip(*feature["geometry"]["coordinates"][0], strict=True))
    assert max(xs) == pytest.approx(1100, abs=0.01)  # clipped to the image's right edge
    assert boxes_to_features('{"bbox_2d": [500, 500, 600, 600]}', [first]) == []  # wholly outside


def test_qwen3_vl_boxes_are_per_mille_of_the_image() -> None:
    """Qwen3-VL gives boxes in 0-1000 of the image's width and height: [100, 200, 300, 500] of a 280-px image."""
    from engine.model.config import ModelFamily

    frame = ImageFrame(280, 280, Affine(10, 0, 500000, 0, -10, 4000000), "EPSG:32648", "2024-05-01", "true_color")
    text = '{"bbox_2d": [100, 200, 300, 500], "label": "built_up"}'
    (feature,) = boxes_to_features(text, [frame], ModelFamily.QWEN3_VL.box_scale)
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
    xs, ys = to_utm.transform(*zip(*feature["geometry"]["coordinates"][0], strict=True))
    assert (min(xs), max(xs)) == (pytest.approx(500280, abs=0.01), pytest.approx(500840, abs=0.01))
    assert (min(ys), max(ys)) == (pytest.approx(4000000 - 1400, abs=0.01), pytest.approx(4000000 - 560, abs=0.01))
    assert ModelFamily.QWEN2_5_VL.box_scale is None and ModelFamily.QWEN2_VL.box_scale is None
