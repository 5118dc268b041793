"""The service's refusals (an HTTP status, a code and a message) and the engine errors' HTTP statuses: the one
place where that mapping lives (``STATUS``)."""

from __future__ import annotations

import logging
import uuid

from engine import errors

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A refusal with an HTTP status (bad path, busy, unauthorised...)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.headers = status, code, headers or {}


#: engine error -> HTTP status (the one place where this mapping lives)
STATUS: dict[type[errors.EngineError], int] = {
    errors.LayerNotFoundError: 404,
    errors.PathNotAllowedError: 403,
    **{cls: 422 for cls in (errors.NotARasterError, errors.CorruptRasterError, errors.MissingCRSError,
                            errors.ExtentOutsideError, errors.NoValidPixelsError, errors.BandRolesUnknownError,
                            errors.MissingBandError, errors.MetadataError, errors.InvalidExtentError,
                            errors.NoOverlapError, errors.ZonesError, errors.ReferenceLayerError, errors.AoiError,
                            errors.SweepError, errors.ReportError, errors.PhotoError,
                            errors.InvalidResolutionError, errors.ExtentTooLargeError,
                            errors.FactsError)},
}


def status_of(exc: errors.EngineError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 422


def incident(what: str) -> str:
    """Log the exception being handled with a new id; the id is all a client is told."""
    incident = uuid.uuid4().hex[:12]
    log.exception("internal error %s in %s", incident, what)
    return incident
