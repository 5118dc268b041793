"""The service's refusals: an HTTP status, a code and a message (mapped to the reply in ``app``)."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal with an HTTP status (bad path, busy, unauthorised...)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.headers = status, code, headers or {}
