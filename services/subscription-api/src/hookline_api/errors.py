"""The API's exception tree, mapped once to the error envelope `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

import re
import secrets
from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException, ValidationException
from litestar.types import ExceptionHandlersMap

log = structlog.get_logger(__name__)

Details = dict[str, Any]


class ApiError(Exception):
    """An error the caller can act on; `code` is stable, `message` says what went wrong and how to fix it."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, details: Details | None = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


class BadRequest(ApiError):
    status_code = 400
    code = "validation_error"


class ValidationFailed(ApiError):
    status_code = 422
    code = "validation_error"

    @classmethod
    def field(cls, field: str, reason: str) -> ValidationFailed:
        """One field is wrong: the message names it, and `details.fields` carries it for programs."""
        return cls(f"{field}: {reason}", {"fields": [{"field": field, "message": reason}]})


class Unauthorized(ApiError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="hookline"'})


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class IdempotencyKeyReused(ApiError):
    status_code = 422
    code = "idempotency_key_reused"


class RateLimited(ApiError):
    status_code = 429
    code = "rate_limited"


_CODES_BY_STATUS = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


_MEMBER_MESSAGES = (
    (re.compile(r"Object missing required field `(.+)`"), "is required"),
    (re.compile(r"Object contains unknown field `(.+)`"), "is not a known field"),
)


def envelope(
    status_code: int, code: str, message: str, details: Details | None = None, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    return Response(
        {"error": {"code": code, "message": message, "details": details or {}}},
        status_code=status_code,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    return envelope(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


def _validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    """Litestar's own request validation (bodies, query and path parameters), re-worded to name each field."""
    fields: list[dict[str, str]] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        key = str(item.get("key") or "")
        field = "" if key in ("", "data") else key.removeprefix("data.")
        message = str(item.get("message", "invalid value"))
        # msgspec names a missing or unknown member in the message, at the level of its parent: name the member.
        for pattern, reason in _MEMBER_MESSAGES:
            found = pattern.fullmatch(message)
            if found:
                field = f"{field}.{found.group(1)}" if field else found.group(1)
                message = reason
        field = field or "(body)"
        fields.append(
            {
                "field": field,
                "message": message,
                "source": str(item.get("source", "body")),
            }
        )
    if not fields:
        # Litestar raises a bare ValidationException for a body that is not JSON at all.
        return envelope(400, "validation_error", "the request body is not valid JSON", {})
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return envelope(422, "validation_error", message, {"fields": fields})


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if status >= 500:
        return _internal(_, exc)
    code = _CODES_BY_STATUS.get(status, "bad_request")
    message = exc.detail or code.replace("_", " ")
    if isinstance(exc, NotFoundException):
        message = "no such route"
    headers = dict(exc.headers or {})
    if isinstance(exc, MethodNotAllowedException):
        message = "this route does not accept that method"
    return envelope(status, code, message, {}, headers)


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    request_id = request.headers.get("x-request-id") or secrets.token_hex(8)
    # The type and place only: exception messages and tracebacks can carry request data or secrets.
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb else "?"
    log.error("request failed", request_id=request_id, error_type=type(exc).__name__, at=where, path=request.url.path)
    return envelope(
        500,
        "internal_error",
        "the server could not complete the request; it has been logged",
        {"request_id": request_id},
        {"X-Request-Id": request_id},
    )


def exception_handlers() -> ExceptionHandlersMap:
    return {
        ApiError: _api_error,
        ValidationException: _validation,
        HTTPException: _http,
        Exception: _internal,
    }
