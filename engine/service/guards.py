"""The service's boundaries, as ASGI middleware and a route class: body size, Host header, JSON off the loop.

- ``BodyLimit``: a declared ``Content-Length`` over the limit is refused at once
  (413), and a body sent without one is counted while it is read and refused
  the moment it passes the limit, before anything is parsed (the body, at most
  the limit, is then handed on whole).
- ``HostCheck``: the ``Host`` header must name a loopback address unless the
  operator allowed other names, so a web page cannot reach the tokenless
  loopback service by DNS rebinding (421).
- ``OffLoopRoute``: request JSON is parsed in a worker thread, so a large body
  never holds the event loop (and ``/v1/health`` answers meanwhile).
"""

from __future__ import annotations

import orjson
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from engine.service.settings import is_loopback


async def _send_error(send, status: int, code: str, message: str) -> None:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuse (413) a request body over ``max_bytes``, read whole before anything parses it; paths under
    ``exempt`` (the browser page, whose uploads Gradio streams to disk under its own limit) pass through."""

    def __init__(self, app, max_bytes: int, exempt: str | None = None):
        self.app, self.max_bytes, self.exempt = app, max_bytes, exempt

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or (self.exempt and scope.get("path", "").startswith(self.exempt)):
            return await self.app(scope, receive, send)
        message = f"the request body exceeds {self.max_bytes // 2**20} MB (--max-body-mb)"
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await _send_error(send, 413, "body_too_large", message)
        chunks, received = [], 0
        while True:  # read the whole body (at most the limit) before anything parses it
            event = await receive()
            if event["type"] != "http.request":
                return  # the client went away
            chunks.append(event.get("body", b""))
            received += len(chunks[-1])
            if received > self.max_bytes:
                return await _send_error(send, 413, "body_too_large", message)
            if not event.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # later: the disconnect

        await self.app(scope, replay, send)


class HostCheck:
    def __init__(self, app, allowed: tuple[str, ...] = ()):
        self.app, self.allowed = app, {h.lower() for h in allowed}

    def allows(self, host: str) -> bool:
        name = host.strip().lower()
        if name.startswith("["):  # [::1]:8765
            name = name[1:name.find("]")] if "]" in name else name
        elif name.count(":") == 1:
            name = name.split(":", 1)[0]
        return bool(name) and (is_loopback(name) or name in self.allowed or "*" in self.allowed)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            if not self.allows(host):
                return await _send_error(send, 421, "host_not_allowed",
                                         f"this service answers to loopback names only, not {host!r} "
                                         "(serve --allowed-host NAME to add one)")
        return await self.app(scope, receive, send)


class _ThreadJsonRequest(Request):
    async def json(self):
        if not hasattr(self, "_json"):
            body = await self.body()
            self._json = await run_in_threadpool(orjson.loads, body)
        return self._json


class OffLoopRoute(APIRoute):
    """An APIRoute whose request JSON is parsed in a worker thread."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def parse_off_the_loop(request: Request):
            return await handler(_ThreadJsonRequest(request.scope, request.receive))

        return parse_off_the_loop
