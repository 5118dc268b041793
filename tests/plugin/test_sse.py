"""The plugin's server-sent-events parser: events split anywhere across chunks."""

import json

import pytest
from conftest import REPO


def _parser():
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("sse", REPO / "qgis_plugin" / "client" / "sse.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["sse"] = module
    spec.loader.exec_module(module)
    return module.SseParser()


@pytest.mark.parametrize("cut", [1, 3, 7, 20, 1000])
def test_events_survive_any_chunking(cut):
    stream = "".join(f"event: token\ndata: {json.dumps({'text': t}, ensure_ascii=False)}\n\n"
                     for t in ["新增耕地", "12.5 公顷", "。"]).encode() + b"event: done\ndata: {\"answer\": \"x\"}\n\n"
    parser = _parser()
    events = []
    for i in range(0, len(stream), cut):
        events += parser.feed(stream[i:i + cut])
    assert [k for k, _ in events] == ["token", "token", "token", "done"]
    assert "".join(d["text"] for k, d in events if k == "token") == "新增耕地12.5 公顷。"


def test_a_stream_without_its_done_event_is_a_failure(plugins_dir):
    from county_landuse_monitor.common.errors import EngineReturnedError
    from county_landuse_monitor.tasks.ask_run import ended_early

    assert ended_early({"facts": {}, "done": {}}) is None
    sent = ended_early({"facts": {}, "error": {"code": "no_overlap", "message": "the layers do not overlap"}})
    assert isinstance(sent, EngineReturnedError) and str(sent) == "the layers do not overlap"
    assert isinstance(ended_early({"facts": {}}), EngineReturnedError)  # cut off without a word
