"""The browser page at /ui, in a real headless Chromium (Debian's chromium and chromium-driver, through selenium).

The browser may reach 127.0.0.1 only: Selenium Manager is off (``SE_OFFLINE``), chromedriver is Debian's, and
Chromium resolves every other host to nothing and fetches no component or background data.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_service import Engine

from engine.synthetic import SyntheticSpec, write_scene

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="needs Debian's chromium and chromium-driver: scripts/setup.sh --browser "
                                       "(scripts/test.sh does)")
TOKEN = "web-token"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory):
    return write_scene(SyntheticSpec(width=256, height=256, patch_px=16), tmp_path_factory.mktemp("web-scene"))


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory):
    """Three dates of one synthetic scene (a time-lapse)."""
    return write_scene(SyntheticSpec(width=128, height=128, patch_px=16,
                                     dates=("2022-05-01", "2023-05-01", "2024-05-01")),
                       tmp_path_factory.mktemp("web-three"))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    cache = tmp_path_factory.mktemp("web-cache")
    server = Engine("--backend", "none", "--max-upload-mb", "1",
                    env={"LANDUSE_CACHE_DIR": str(cache), "GRADIO_ANALYTICS_ENABLED": "False"})
    server.cache = cache
    yield server
    server.stop()


def _chrome(profile: Path, language: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager never runs (it would download drivers)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100",
                     "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                     "--disable-background-networking", "--disable-component-update", "--no-first-run",
                     f"--lang={language}", f"--user-data-dir={profile}"):
        options.add_argument(argument)
    # headless Chromium takes its language (navigator.language, Accept-Language) from this preference only
    options.add_experimental_option("prefs", {"intl.accept_languages": f"{language},{language.split('-')[0]}"})
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # every request the page makes
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


@pytest.fixture
def browser(tmp_path: Path):
    driver = _chrome(tmp_path / "chromium", "zh-CN")
    yield driver
    driver.quit()


@pytest.fixture
def english_browser(tmp_path: Path):
    driver = _chrome(tmp_path / "chromium-en", "en-US")
    yield driver
    driver.quit()


def _wait(driver, condition, seconds: float = 120):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds, poll_frequency=0.25).until(condition)


def _text(driver, css: str) -> str:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0].text if found else ""


def _requested_hosts(driver) -> set[str]:
    """The hosts of every request the page has made so far (Chrome's performance log)."""
    import json
    from urllib.parse import urlsplit

    hosts = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            url = urlsplit(message["params"]["request"]["url"])
            if url.scheme in ("http", "https", "ws", "wss"):  # not data:, blob: or Chromium's own chrome://
                hosts.add(url.hostname)
    return hosts


def _clicked(element) -> bool:
    """Whether ``element`` took a click (False while something, e.g. a loading spinner, covers it)."""
    from selenium.common.exceptions import ElementClickInterceptedException

    try:
        element.click()
        return True
    except ElementClickInterceptedException:
        return False


def _upload(driver, paths: list[Path]) -> None:
    from selenium.webdriver.common.by import By

    field = _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#upload input[type=file]"))
    field.send_keys("\n".join(str(p) for p in paths))


def _ask(driver, question: str) -> None:
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.CSS_SELECTOR, "#question textarea, #question input")
    box.clear()
    box.send_keys(question)
    driver.find_element(By.CSS_SELECTOR, "#ask").click()


def test_upload_two_dates_ask_in_chinese_and_read_a_measured_answer(page: Engine, browser, scene) -> None:
    browser.get(page.url + "/ui/")
    _upload(browser, scene.layers)
    _wait(browser, lambda d: "2024-05-01" in _text(d, "#layers") and "2023-05-01" in _text(d, "#layers"))
    _ask(browser, "新增建设用地多少亩？")
    _wait(browser, lambda d: "亩" in _text(d, "#answer") and "数字核查" in _text(d, "#audit"))
    answer, audit = _text(browser, "#answer"), _text(browser, "#audit")
    assert answer.startswith("2023-05-01至2024-05-01，新增建设用地"), answer
    assert "回答中的数字均来自测量" in audit
    assert "建设用地" in _text(browser, "#facts") and "2024-05-01" in _text(browser, "#facts")  # dates head it
    from selenium.webdriver.common.by import By

    image = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#map img"), 60)[0]  # the patches drawn
    assert image.get_attribute("src").startswith("http://127.0.0.1") and image.size["width"] > 200
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "web_answer.png"))
    hosts = _requested_hosts(browser)
    assert hosts == {"127.0.0.1"}, hosts  # no fonts, scripts or tiles from anywhere else


def test_an_example_question_fills_the_box_and_is_answered(page: Engine, browser, scene) -> None:
    from selenium.webdriver.common.by import By

    browser.get(page.url + "/ui/")
    _upload(browser, scene.layers)
    _wait(browser, lambda d: "2024-05-01" in _text(d, "#layers"))
    example = _wait(browser, lambda d: next((b for b in d.find_elements(By.CSS_SELECTOR, "button")
                                             if "疑似违规建设的分布区域？" in b.text), None))
    example.click()
    _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#question textarea, #question input")
          .get_attribute("value") == "疑似违规建设的分布区域？", 30)
    browser.find_element(By.CSS_SELECTOR, "#ask").click()
    _wait(browser, lambda d: "数字核查" in _text(d, "#audit"))
    assert "⚠" not in _text(browser, "#answer")


def test_an_oversize_upload_is_refused_on_the_page(page: Engine, browser, tmp_path: Path) -> None:
    big = tmp_path / "big_2024-05-01.tif"
    big.write_bytes(b"\0" * (2 * 2**20))  # over the 1 MB this service was started with
    browser.get(page.url + "/ui/")
    _upload(browser, [big])
    _wait(browser, lambda d: "exceed the maximum allowed size of 1.0 Mb" in _text(d, "body"), 60)
    assert "big_2024-05-01.tif" not in _text(browser, "#layers")
    uploads = Path(page.cache) / "uploads"
    assert not [p for p in uploads.rglob("*") if p.is_file() and p.stat().st_size > 2**20]  # nothing kept


def test_with_a_token_the_page_asks_for_it_once(tmp_path_factory: pytest.TempPathFactory, browser) -> None:
    import httpx
    from selenium.webdriver.common.by import By

    server = Engine("--backend", "none", "--token", TOKEN,
                    env={"LANDUSE_CACHE_DIR": str(tmp_path_factory.mktemp("web-token-cache"))})
    try:
        assert httpx.get(server.url + "/ui/", timeout=10, follow_redirects=False).status_code == 303
        assert httpx.get(server.url + "/ui/config", timeout=10).status_code == 401
        browser.get(server.url + "/ui/")
        field = _wait(browser, lambda d: d.find_element(By.ID, "token"), 30)
        field.send_keys("wrong")
        browser.find_element(By.ID, "login").click()
        _wait(browser, lambda d: "令牌不正确" in d.find_element(By.TAG_NAME, "body").text, 30)
        browser.find_element(By.ID, "token").send_keys(TOKEN)
        browser.find_element(By.ID, "login").click()
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#upload input[type=file]"), 60)
        cookie = browser.get_cookie("landuse_ui_token")
        assert cookie["path"] == "/ui" and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        browser.get(server.url + "/ui/")  # asked once: the cookie opens the page again
        _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#upload input[type=file]"), 60)
        assert httpx.get(server.url + "/v1/health", timeout=10).status_code == 401  # the API still needs the token
    finally:
        server.stop()


def test_corrected_dates_findings_and_the_report_come_from_the_page(page: Engine, browser, scene, tmp_path) -> None:
    """A layer whose date the engine cannot read gets one typed into the table; the findings and the report are
    offered for download, and the report's facts are the answer's."""
    import io
    import json
    import zipfile

    import httpx
    import rasterio
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    undated = [tmp_path / "before.tif", tmp_path / "after.tif"]  # no date in the names, nor in the tags
    for source, target in zip(scene.layers, undated, strict=True):
        with rasterio.open(source) as src, rasterio.open(target, "w", **src.profile) as dst:
            dst.write(src.read())
            dst.descriptions = src.descriptions
            dst.update_tags(**{k: v for k, v in src.tags().items() if k != "ACQUISITION_DATE"})
    browser.get(page.url + "/ui/")
    _upload(browser, undated)
    _wait(browser, lambda d: _text(d, "#layers").count("（未知）") == 2)
    for row, date in ((0, "2023-05-01"), (1, "2024-05-01")):  # the date column of each row, as a person edits it
        cell = browser.find_element(By.CSS_SELECTOR, f'#layers [data-testid="cell-{row}-1"]')
        ActionChains(browser).double_click(cell).perform()
        editor = _wait(browser, lambda d: d.switch_to.active_element if d.switch_to.active_element.tag_name ==
                       "textarea" else None, 10)
        editor.send_keys(Keys.CONTROL, "a")
        editor.send_keys(date, Keys.ENTER)
    _wait(browser, lambda d: "2024-05-01" in _text(d, "#layers"), 30)
    _ask(browser, "新增建设用地多少亩？")
    try:
        _wait(browser, lambda d: "数字核查" in _text(d, "#audit"))
    finally:
        browser.save_screenshot(str(ARTIFACTS / "web_dates.png"))
    assert _text(browser, "#answer").startswith("2023-05-01至2024-05-01"), _text(browser, "#answer")
    link = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#findings a"), 30)[0].get_attribute("href")
    findings = httpx.get(link, timeout=30).json()
    assert findings["type"] == "FeatureCollection" and findings["features"]
    browser.find_element(By.CSS_SELECTOR, "#report").click()
    _wait(browser, lambda d: "报告已生成" in _text(d, "#report-status"), 180)
    link = browser.find_elements(By.CSS_SELECTOR, "#report-file a")[0].get_attribute("href")
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(link, timeout=60).content))
    assert {"report.docx", "patches.xlsx", "patches.gpkg", "facts.json"} <= set(archive.namelist())
    assert json.loads(archive.read("facts.json"))["dates"] == ["2023-05-01", "2024-05-01"]


@pytest.fixture(scope="module")
def tiny_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The page on an engine serving the tiny Qwen2.5-VL in 4-bit (its answers are random tokens)."""
    import subprocess
    import sys

    model = tmp_path_factory.mktemp("web-tiny-qwen")
    subprocess.run([sys.executable, "-m", "engine", "make-tiny-model", str(model)], check=True, capture_output=True)
    server = Engine("--backend", "local", "--model", str(model), "--precision", "nf4", "--device", "cpu",
                    "--max-new-tokens", "24",
                    env={"LANDUSE_CACHE_DIR": str(tmp_path_factory.mktemp("web-tiny-cache")),
                         "GRADIO_ANALYTICS_ENABLED": "False", "LANDUSE_LOG_LEVEL": "INFO"},
                    log=tmp_path_factory.mktemp("web-tiny-log") / "serve.log")
    yield server
    server.stop()


def test_the_tiny_model_answers_on_the_page_and_its_figures_are_audited(tiny_page: Engine, browser, scene) -> None:
    import httpx

    assert httpx.get(tiny_page.url + "/v1/health", timeout=10).json()["precision"] == "nf4"
    browser.get(tiny_page.url + "/ui/")
    _upload(browser, scene.layers)
    _wait(browser, lambda d: "2024-05-01" in _text(d, "#layers"))
    _ask(browser, "新增建设用地多少亩？")
    _wait(browser, lambda d: "数字核查" in _text(d, "#audit"), 240)
    answer, audit = _text(browser, "#answer"), _text(browser, "#audit")
    # the model answered (the tiny one writes blank lines: the page says so), not the measurements' own answer
    assert answer == "⚠ 模型没有给出回答；测量结果见下表。" or not answer.startswith(("⚠", "正在", "已测量")), answer
    assert "新增建设用地" not in answer and ("没有可核对的数字" in audit or "✘" in audit), audit
    assert "建设用地" in _text(browser, "#facts")  # measured, in 亩, whatever the model wrote
    browser.save_screenshot(str(ARTIFACTS / "web_tiny_model.png"))


def _gif_frames(url: str) -> int:
    import io

    import httpx
    from PIL import Image

    content = httpx.get(url, timeout=30).content
    assert content[:6] == b"GIF89a", content[:16]
    return Image.open(io.BytesIO(content)).n_frames


def _time_lapse(driver) -> str:
    from selenium.webdriver.common.by import By

    image = _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#timelapse img"), 60)[0]
    return image.get_attribute("src")


def test_three_dates_play_as_a_time_lapse_and_the_tiny_model_sees_them_as_one_video(tiny_page: Engine, browser,
                                                                                    three) -> None:
    browser.get(tiny_page.url + "/ui/")
    _upload(browser, three.layers)
    _wait(browser, lambda d: all(day in _text(d, "#layers") for day in ("2022-05-01", "2023-05-01", "2024-05-01")))
    assert _gif_frames(_time_lapse(browser)) == 3  # the page plays the three dates
    _ask(browser, "近三年土地利用结构趋势？")
    _wait(browser, lambda d: "数字核查" in _text(d, "#audit") and _text(d, "#seen"), 240)
    seen = _text(browser, "#seen")
    assert "3 个日期组成的一段视频（2022-05-01、2023-05-01、2024-05-01）" in seen, seen
    assert "3 幅影像" in seen  # the false-colour stills beside it
    browser.save_screenshot(str(ARTIFACTS / "web_time_lapse.png"))
    log = tiny_page.log.read_text()
    assert "model input: 1 video of 3 frames (2022-05-01, 2023-05-01, 2024-05-01; grid [2," in log, log[-3000:]
    assert _requested_hosts(browser) == {"127.0.0.1"}  # the time-lapse, too, comes from the service


def test_three_dates_without_a_model_are_answered_with_each_intervals_trend(page: Engine, browser, three) -> None:
    browser.get(page.url + "/ui/")
    _upload(browser, three.layers)
    _wait(browser, lambda d: "2022-05-01" in _text(d, "#layers"))
    assert _gif_frames(_time_lapse(browser)) == 3
    _ask(browser, "本季度耕地面积变化情况？")
    _wait(browser, lambda d: "数字核查" in _text(d, "#audit"))
    answer = _text(browser, "#answer")
    assert "分期变化：2022-05-01至2023-05-01" in answer and "2023-05-01至2024-05-01：" in answer, answer
    assert "回答中的数字均来自测量" in _text(browser, "#audit")
    assert "没有模型回答" in _text(browser, "#seen")


def test_two_dates_have_no_time_lapse(page: Engine, browser, scene) -> None:
    from selenium.webdriver.common.by import By

    browser.get(page.url + "/ui/")
    _upload(browser, scene.layers)
    _wait(browser, lambda d: "2024-05-01" in _text(d, "#layers"))
    assert not browser.find_elements(By.CSS_SELECTOR, "#timelapse img")


def _photo(path: Path) -> Path:
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(1).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def test_a_photo_is_a_free_visual_question_to_the_model(tiny_page: Engine, browser, tmp_path: Path) -> None:
    browser.get(tiny_page.url + "/ui/")
    _upload(browser, [_photo(tmp_path / "field.jpg")])
    _wait(browser, lambda d: "field.jpg" in _text(d, "#layers") and "无地理参考" in _text(d, "#layers"))
    _ask(browser, "照片里有什么？")
    _wait(browser, lambda d: "数字核查" in _text(d, "#audit"), 240)
    assert "自由视觉问答" in _text(browser, "#seen") and "没有做任何测量" in _text(browser, "#seen")
    assert not _text(browser, "#answer").startswith("⚠ 照片"), _text(browser, "#answer")
    assert "建设用地" not in _text(browser, "#facts")  # nothing measured
    assert "model input: 1 images" in tiny_page.log.read_text()
    browser.save_screenshot(str(ARTIFACTS / "web_photo.png"))


def test_a_photo_without_a_model_says_a_model_is_needed(page: Engine, browser, tmp_path: Path) -> None:
    browser.get(page.url + "/ui/")
    _upload(browser, [_photo(tmp_path / "field.png")])
    _wait(browser, lambda d: "field.png" in _text(d, "#layers"))
    _ask(browser, "照片里有什么？")
    _wait(browser, lambda d: "视觉语言模型" in _text(d, "#answer"), 60)
    assert _text(browser, "#answer").startswith("⚠")


def test_off_loopback_the_page_needs_the_token_and_offers_the_roots_layers(tmp_path_factory, browser, scene) -> None:
    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    cache = str(tmp_path_factory.mktemp("web-lan-cache"))
    with pytest.raises(RuntimeError, match="needs --token"):  # off loopback, a page without a token is refused
        Engine("--backend", "none", "--host", "0.0.0.0", "--root", str(scene.layers[0].parent),
               env={"LANDUSE_CACHE_DIR": cache})
    server = Engine("--backend", "none", "--host", "0.0.0.0", "--token", TOKEN, "--root",
                    str(scene.layers[0].parent), env={"LANDUSE_CACHE_DIR": cache})
    try:
        assert httpx.get(server.url + "/ui/", timeout=10, follow_redirects=False).headers["location"] == "/ui/login"
        browser.get(server.url + "/ui/")
        _wait(browser, lambda d: d.find_element(By.ID, "token"), 30).send_keys(TOKEN)
        browser.find_element(By.ID, "login").click()
        box = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#roots input"), 60)
        for layer in scene.layers:  # picked from the service's root, nothing uploaded
            _wait(browser, lambda d: _clicked(box), 60)  # once the list is refreshed (a spinner covers it)
            box.send_keys(layer.name)
            option = _wait(browser, lambda d, name=layer.name: next(
                (o for o in d.find_elements(By.CSS_SELECTOR, "#roots li[data-testid=dropdown-option]")
                 if name in o.text), None), 30)
            option.click()
            box.send_keys(Keys.ESCAPE)
        _wait(browser, lambda d: "2023-05-01" in _text(d, "#layers") and "2024-05-01" in _text(d, "#layers"), 60)
        _ask(browser, "新增建设用地多少亩？")
        _wait(browser, lambda d: "数字核查" in _text(d, "#audit"))
        assert _text(browser, "#answer").startswith("2023-05-01至2024-05-01，新增建设用地"), _text(browser, "#answer")
        assert not (Path(cache) / "uploads").exists() or not any((Path(cache) / "uploads").rglob("*.tif"))
    finally:
        server.stop()


def test_an_english_browser_gets_the_page_in_english(page: Engine, english_browser, scene) -> None:
    from selenium.webdriver.common.by import By

    english_browser.get(page.url + "/ui/")
    _wait(english_browser, lambda d: d.find_element(By.CSS_SELECTOR, "#ask").text == "Ask", 60)
    assert "County land-use monitoring" in _text(english_browser, "body")
    _upload(english_browser, scene.layers)
    _wait(english_browser, lambda d: "2024-05-01" in _text(d, "#layers"))
    _ask(english_browser, "How many hectares of new built-up land?")
    try:
        _wait(english_browser, lambda d: "Figures checked" in _text(d, "#audit"))
    finally:
        english_browser.save_screenshot(str(ARTIFACTS / "web_english.png"))
    import re

    answer = _text(english_browser, "#answer")
    assert "new built-up" in answer and re.search(r"\d[\d,.]* ha\b", answer), answer
    assert "every figure in the answer is measured" in _text(english_browser, "#audit")
    assert "Class" in _text(english_browser, "#facts") and "cropland and grassland" in _text(english_browser, "#facts")
    english_browser.save_screenshot(str(ARTIFACTS / "web_english.png"))


def test_a_chinese_browser_gets_the_page_in_chinese(page: Engine, browser) -> None:
    from selenium.webdriver.common.by import By

    browser.get(page.url + "/ui/")
    _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#ask").text == "提问", 60)
    assert "县域土地利用监测" in _text(browser, "body") and "Upload" not in _text(browser, "#upload")


def _zones_lonlat(path: Path, spec) -> Path:
    """The whole synthetic scene as one 基本农田 zone, in EPSG:4326 (the scene is in UTM 48N)."""
    import json

    from pyproj import Transformer

    x0, y0 = spec.origin
    x1, y1 = x0 + spec.width * spec.pixel_size_m, y0 - spec.height * spec.pixel_size_m
    to_lonlat = Transformer.from_crs(spec.crs, "EPSG:4326", always_xy=True)
    ring = [list(to_lonlat.transform(x, y)) for x, y in ((x0 + 5, y0 - 5), (x1 - 5, y0 - 5), (x1 - 5, y1 + 5),
                                                          (x0 + 5, y1 + 5), (x0 + 5, y0 - 5))]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "城关镇基本农田"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}, ensure_ascii=False), encoding="utf-8")
    return path


def test_zones_in_another_crs_are_uploaded_measured_and_drawn(page: Engine, browser, scene, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(page.url + "/ui/")
    _upload(browser, scene.layers)
    _wait(browser, lambda d: "2024-05-01" in _text(d, "#layers"))
    field = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#zones input[type=file]"))
    field.send_keys(str(_zones_lonlat(tmp_path / "zones.geojson", scene.spec)))
    _wait(browser, lambda d: ".geojson" in _text(d, "#zones"), 30)  # the name is shown split at the suffix
    _ask(browser, "保护区边界是否被占用？")
    _wait(browser, lambda d: "数字核查" in _text(d, "#audit"))
    answer = _text(browser, "#answer")
    assert "城关镇基本农田" in answer and "亩" in answer, answer
    assert "回答中的数字均来自测量" in _text(browser, "#audit")
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#map img"), 60)
    browser.save_screenshot(str(ARTIFACTS / "web_zones.png"))
    assert _requested_hosts(browser) == {"127.0.0.1"}


@pytest.fixture
def slow_model():
    """An OpenAI-compatible server that streams one word every 0.3 s for a minute, and records when the engine
    stops reading (the connection closed under it)."""
    import json
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    record: dict[str, float] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            record["started"] = time.monotonic()
            try:
                for _ in range(200):
                    chunk = json.dumps({"choices": [{"delta": {"content": "词"}}]}, ensure_ascii=False)
                    self.wfile.write(f"data: {chunk}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(0.3)
                self.wfile.write(b"data: [DONE]\n\n")
                record["finished"] = time.monotonic()
            except OSError:
                record["dropped"] = time.monotonic()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1", record
    server.shutdown()


def test_an_answer_stops_when_its_browser_goes_away(tmp_path_factory, slow_model, scene, tmp_path: Path) -> None:
    import time

    url, record = slow_model
    server = Engine("--backend", "openai", "--openai-url", url, "--openai-model", "stub",
                    env={"LANDUSE_CACHE_DIR": str(tmp_path_factory.mktemp("web-slow-cache"))})
    driver = _chrome(tmp_path / "chromium-slow", "zh-CN")
    try:
        driver.get(server.url + "/ui/")
        _upload(driver, scene.layers)
        _wait(driver, lambda d: "2024-05-01" in _text(d, "#layers"))
        _ask(driver, "新增建设用地多少亩？")
        _wait(driver, lambda d: "词词" in _text(d, "#answer"), 120)  # the model is answering
    finally:
        driver.quit()  # the browser goes away mid-answer
        closed = time.monotonic()
    try:
        deadline = closed + 30
        while time.monotonic() < deadline and "dropped" not in record and "finished" not in record:
            time.sleep(0.5)
        assert "dropped" in record, record  # the engine stopped reading the model, not after the whole minute
        assert record["dropped"] - closed < 30
    finally:
        server.stop()
