"""The engine's HTTP API through ``QgsNetworkAccessManager`` / ``QgsBlockingNetworkRequest``.

``stream_ask`` is meant for a ``QgsTask`` thread: it runs its own event loop
there, hands each server-sent event to a callback as it arrives, and aborts
the request when the task is cancelled. Errors become ``common.errors`` classes.
"""

import json

from qgis.core import QgsBlockingNetworkRequest, QgsNetworkAccessManager
from qgis.PyQt.QtCore import QByteArray, QEventLoop, QTimer, QUrl
from qgis.PyQt.QtNetwork import QNetworkReply, QNetworkRequest

from ..common.errors import EngineBusyError, EngineReturnedError, EngineUnreachableError, PluginError, UnauthorisedError
from .sse import SseParser


class EngineClient:
    def __init__(self, url, token=""):
        self.url = url.rstrip("/")
        self.token = token

    def _request(self, path, accept="application/json"):
        request = QNetworkRequest(QUrl(self.url + path))
        request.setHeader(QNetworkRequest.KnownHeaders.ContentTypeHeader, "application/json")
        request.setRawHeader(b"Accept", accept.encode())
        if self.token:
            request.setRawHeader(b"Authorization", f"Bearer {self.token}".encode())
        return request

    def health(self):
        """The engine's ``/v1/health`` record."""
        blocking = QgsBlockingNetworkRequest()
        return self._json_of(blocking, blocking.get(self._request("/v1/health"), forceRefresh=True))

    def inspect(self, layers):
        """``POST /v1/inspect``: what each layer is (date, sensor, band roles), from its metadata."""
        blocking = QgsBlockingNetworkRequest()
        body = QByteArray(json.dumps({"layers": layers}).encode())
        return self._json_of(blocking, blocking.post(self._request("/v1/inspect"), body, forceRefresh=True))["layers"]

    def _json_of(self, blocking, code):
        """The JSON body of a finished blocking request, or the matching ``PluginError``."""
        reply = blocking.reply()
        status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
        body = bytes(reply.content())
        if code != QgsBlockingNetworkRequest.ErrorCode.NoError and not status:
            raise EngineUnreachableError(f"no engine at {self.url}: {blocking.errorMessage()}")
        _raise_for_status(status, body)
        return json.loads(body)

    def delete_session(self, session_id):
        blocking = QgsBlockingNetworkRequest()
        blocking.deleteResource(self._request(f"/v1/sessions/{session_id}"))

    def stream_ask(self, body, on_event, is_cancelled):
        """POST a streamed ask; ``on_event(kind, data)`` for each event. Returns False when cancelled."""
        manager = QgsNetworkAccessManager.instance()  # this thread's manager (QGIS keeps one per thread)
        reply = manager.post(self._request("/v1/ask", "text/event-stream"),
                             QByteArray(json.dumps(body).encode("utf-8")))
        parser = SseParser()
        loop = QEventLoop()
        state = {"cancelled": False, "failure": None, "status": None}

        def on_ready():
            state["status"] = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
            if state["status"] != 200:
                return  # an error body: read whole at the end
            try:
                for kind, data in parser.feed(reply.readAll()):
                    on_event(kind, data)
            except (ValueError, PluginError) as exc:
                state["failure"] = exc
                reply.abort()

        def poll_cancel():
            if is_cancelled():
                state["cancelled"] = True
                reply.abort()

        timer = QTimer()
        timer.setInterval(50)
        timer.timeout.connect(poll_cancel)
        reply.readyRead.connect(on_ready)
        reply.finished.connect(loop.quit)
        timer.start()
        if not reply.isFinished():
            loop.exec()
        timer.stop()
        on_ready()
        status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
        rest = bytes(reply.readAll())
        error = reply.error()
        reply.deleteLater()
        if state["cancelled"]:
            return False
        if state["failure"] is not None:
            raise state["failure"]
        if not status and error != QNetworkReply.NetworkError.NoError:
            raise EngineUnreachableError(f"no engine at {self.url} ({reply.errorString()})")
        _raise_for_status(status, rest)
        return True


def _raise_for_status(status, body):
    if status in (None, 200, 204):
        return
    try:
        err = json.loads(body)["error"]
        message = f"{err['message']} ({err['code']})"
    except (ValueError, KeyError, TypeError):
        message = body[:300].decode("utf-8", "replace")
    if status == 401:
        raise UnauthorisedError(message)
    if status == 429:
        raise EngineBusyError(message)
    raise EngineReturnedError(message)
