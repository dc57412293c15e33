"""The ingest service's exception tree: each refusal carries a reason, mapped once to HTTP or a dead letter."""

from __future__ import annotations

from typing import Any


class IngestError(Exception):
    """A refusal the caller can act on; `code` and `status` shape the HTTP error envelope."""

    code = "validation_error"
    status = 422

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidEvent(IngestError):
    """An event that is refused; `reason` is what `hookline.ingest.invalid` records."""

    def __init__(self, reason: str, message: str, *, errors: list[str] | None = None, status: int = 422) -> None:
        details: dict[str, Any] = {"reason": reason}
        if errors:
            details["errors"] = errors
        super().__init__(message, details=details)
        self.reason = reason
        self.status = status


class Unauthorized(IngestError):
    code = "unauthorized"
    status = 401


class Forbidden(IngestError):
    code = "forbidden"
    status = 403


# Reasons recorded on `hookline.ingest.invalid` (and in `details.reason` over HTTP).
TOO_LARGE = "too_large"
INVALID_JSON = "invalid_json"
INVALID_ENVELOPE = "invalid_envelope"
UNKNOWN_ORGANIZATION = "unknown_organization"
UNKNOWN_TYPE = "unknown_type"
SCHEMA_MISMATCH = "schema_mismatch"
UNPROCESSABLE = "unprocessable"
