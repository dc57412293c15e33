"""The one mapping of failures to the HTTP error envelope `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.types import ExceptionHandlersMap

from hookline_ingest import errors
from hookline_ingest.errors import IngestError

log = structlog.get_logger(__name__)

_CODES = {400: "validation_error", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _respond(status: int, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(body, status_code=status, media_type=MediaType.JSON)


def _ingest_error(_: Request[Any, Any, Any], exc: IngestError) -> Response[dict[str, Any]]:
    return _respond(exc.status, envelope(exc.code, exc.message, exc.details))


def _http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if exc.status_code == 413:
        # Every over-size body is a validation error (422), as DESIGN §5 says for events over 256 KiB.
        return _respond(422, envelope("validation_error", "the body is too large", {"reason": errors.TOO_LARGE}))
    if exc.status_code >= 500:
        return _unexpected(_, exc)
    code = _CODES.get(exc.status_code, "error")
    return _respond(exc.status_code, envelope(code, str(exc.detail)))


def _unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("request failed", error_type=type(exc).__name__, error=str(exc)[:200])
    return _respond(503, envelope("unavailable", "the event could not be accepted now; retry later"))


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    IngestError: _ingest_error,
    HTTPException: _http_exception,
    Exception: _unexpected,
}
