"""One non-streamed call to an OpenAI-compatible ``/v1/chat/completions`` endpoint (stdlib HTTP only)."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from pathlib import Path


def image_part(path: Path) -> dict:
    """An image file (PNG, JPEG, RSVQA's TIFFs...) as a chat content part: a PNG data URL, as the engine sends."""
    import numpy as np
    from PIL import Image

    from engine.model.backends import png_data_url

    return {"type": "image_url", "image_url": {"url": png_data_url(np.asarray(Image.open(path).convert("RGB")))}}


def complete(base_url: str, model: str, messages: list[dict], api_key: str | None = None, max_tokens: int = 256,
             timeout_s: float = 120.0) -> str:
    """The reply's text; ``OSError``/``ValueError`` on transport or HTTP errors."""
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{base_url!r} must look like http://host:port/v1")
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(parts.hostname, parts.port, timeout=timeout_s)
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    body = {"model": model, "messages": messages, "temperature": 0, "max_tokens": max_tokens}
    try:
        conn.request("POST", parts.path.rstrip("/") + "/chat/completions", json.dumps(body), headers)
        response = conn.getresponse()
        data = response.read()
    except http.client.HTTPException as exc:
        raise OSError(f"{base_url}: {exc}") from None
    finally:
        conn.close()
    if response.status != 200:
        raise ValueError(f"HTTP {response.status}: {data[:300].decode('utf-8', 'replace')}")
    try:
        return json.loads(data)["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"{base_url}: unexpected reply ({exc})") from None
