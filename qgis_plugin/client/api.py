"""The engine's HTTP API, asynchronous, through QGIS's own network stack (proxy settings apply).

Every call is made on the main thread with ``QgsNetworkAccessManager`` and
returns at once; the reply's signals come back to the main thread, where
``JsonCall.done`` or ``StreamCall.event``/``StreamCall.ended`` hand over the
result. Nothing blocks and no thread waits for another, so a refused or silent
engine can never freeze QGIS (the deadlock a blocking request in a task could
cause). Errors become ``common.errors`` classes.
"""

import json

from qgis.core import QgsNetworkAccessManager
from qgis.PyQt.QtCore import QByteArray, QObject, QTimer, QUrl, pyqtSignal
from qgis.PyQt.QtNetwork import QNetworkReply, QNetworkRequest

from ..common.errors import (
    EngineBusyError,
    EngineReturnedError,
    EngineUnreachableError,
    PluginError,
    UnauthorisedError,
    tr,
)
from .sse import SseParser

# a stream has none: an analysis may take minutes
TIMEOUT_MS = {"health": 3000, "inspect": 30000, "audit": 30000, "download": 300000}


class _Call(QObject):
    """One request in flight; ``abort()`` ends it (its signal then reports nothing)."""

    def __init__(self, reply, url, timeout_ms=0):
        super().__init__()
        self.reply = reply
        self.url = url
        self.aborted = False
        self.timed_out = False
        self._timer = None
        if timeout_ms:
            self._timer = QTimer(self)
            self._timer.setSingleShot(True)
            self._timer.timeout.connect(self._time_out)
            self._timer.start(timeout_ms)
        reply.finished.connect(self._finished)

    def abort(self):
        if not self.aborted and self.reply is not None:
            self.aborted = True
            self.reply.abort()

    def _time_out(self):
        self.timed_out = True
        self.reply.abort()

    def _error(self, body):
        """The failure of a finished reply (``body``: what is left of it) as a ``PluginError``, or None."""
        reply = self.reply
        status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
        if self.timed_out:
            return EngineUnreachableError(tr("The engine at {} did not answer in time").format(self.url))
        if not status and reply.error() != QNetworkReply.NetworkError.NoError:
            return EngineUnreachableError(tr("No engine is running at {}").format(self.url),
                                          details=reply.errorString())
        if status == 200 and reply.error() != QNetworkReply.NetworkError.NoError:  # cut off mid-answer
            return EngineUnreachableError(tr("The engine stopped answering at {}").format(self.url),
                                          details=reply.errorString())
        return error_for_status(status, body)

    def _finished(self):
        if self._timer is not None:
            self._timer.stop()
        self.reply.deleteLater()


class JsonCall(_Call):
    """A request with a JSON reply: ``done(data, error)`` with one of them None."""

    done = pyqtSignal(object, object)

    def _finished(self):
        if not self.aborted or self.timed_out:
            body = bytes(self.reply.readAll())
            error = self._error(body)
            data = None
            if error is None:
                try:
                    data = json.loads(body or b"null")
                except ValueError as exc:
                    error = EngineReturnedError(tr("The engine's reply is not JSON"), details=str(exc))
            self.done.emit(data, error)
        super()._finished()


class BytesCall(_Call):
    """A request with a file for a reply (a report's zip): ``done(data, error)`` with one of them None."""

    done = pyqtSignal(object, object)

    def _finished(self):
        if not self.aborted or self.timed_out:
            body = bytes(self.reply.readAll())
            error = self._error(body)
            self.done.emit(None if error is not None else body, error)
        super()._finished()


class StreamCall(_Call):
    """A streamed ask or analysis: ``event(kind, data)`` as server-sent events arrive, then ``ended(error)``."""

    event = pyqtSignal(str, object)
    ended = pyqtSignal(object)  # None, or the PluginError; not emitted after abort()

    def __init__(self, reply, url):
        super().__init__(reply, url)
        self.parser = SseParser()
        self.failure = None
        reply.readyRead.connect(self._ready)

    def _ready(self):
        if self.aborted or self.failure is not None:
            return
        if self.reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute) not in (None, 200):
            return  # an error body: read whole when it ends
        try:
            for kind, data in self.parser.feed(self.reply.readAll()):
                self.event.emit(kind, data)
        except ValueError as exc:
            self.failure = EngineReturnedError(tr("The engine's stream is malformed"), details=str(exc))
            self.reply.abort()

    def _finished(self):
        if not self.aborted:
            self._ready()
            self.ended.emit(self.failure or self._error(bytes(self.reply.readAll())))
        super()._finished()


class EngineApi:
    """Makes the calls; one per dock or algorithm, cheap to create."""

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

    def get(self, path, timeout_ms=TIMEOUT_MS["health"]):
        reply = QgsNetworkAccessManager.instance().get(self._request(path))
        return JsonCall(reply, self.url, timeout_ms)

    def post(self, path, body, timeout_ms=TIMEOUT_MS["inspect"]):
        data = QByteArray(json.dumps(body).encode("utf-8"))
        reply = QgsNetworkAccessManager.instance().post(self._request(path), data)
        return JsonCall(reply, self.url, timeout_ms)

    def stream(self, path, body):
        data = QByteArray(json.dumps({**body, "stream": True}).encode("utf-8"))
        reply = QgsNetworkAccessManager.instance().post(self._request(path, "text/event-stream"), data)
        return StreamCall(reply, self.url)

    def download(self, path, accept="application/zip"):
        reply = QgsNetworkAccessManager.instance().get(self._request(path, accept))
        return BytesCall(reply, self.url, TIMEOUT_MS["download"])

    def delete(self, path):
        reply = QgsNetworkAccessManager.instance().deleteResource(self._request(path))
        return JsonCall(reply, self.url, TIMEOUT_MS["health"])

    # the engine's endpoints
    def health(self):
        return self.get("/v1/health")

    def inspect(self, layers):
        return self.post("/v1/inspect", {"layers": layers})

    def ask(self, body):
        return self.stream("/v1/ask", body)

    def analyse(self, body):
        return self.stream("/v1/analyse", body)

    def report(self, body):
        return self.stream("/v1/report", body)


def error_for_status(status, body):
    """The ``PluginError`` of an HTTP error reply, or None for a success."""
    if status in (None, 200, 204):
        return None
    try:
        err = json.loads(body)["error"]
        message, code = err["message"], err["code"]
    except (ValueError, KeyError, TypeError):
        message, code = body[:300].decode("utf-8", "replace"), str(status)
    if status == 401:
        return UnauthorisedError(tr("The engine refused the token"), details=message)
    if status == 429:
        return EngineBusyError(tr("The engine is busy"), details=message)
    return EngineReturnedError(message, details=f"HTTP {status} {code}")


__all__ = ["BytesCall", "EngineApi", "JsonCall", "PluginError", "StreamCall", "error_for_status"]
