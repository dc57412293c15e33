"""The OpenAPI document's shared parts: the error envelope, the documented error answers, the security scheme."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, Example, SecurityScheme

from hookline_api.errors import Details


class ErrorDetail(msgspec.Struct, kw_only=True):
    code: str
    message: str
    details: Details


class ErrorBody(msgspec.Struct, kw_only=True):
    error: ErrorDetail


_EXAMPLES: dict[int, tuple[str, str, str]] = {
    400: ("validation_error", "the request body is not valid JSON", "The body is not JSON."),
    401: ("unauthorized", "invalid API key", "No valid API key or token."),
    403: ("forbidden", "this credential may not manage webhooks: it needs the scope webhooks.manage", "Not allowed."),
    404: ("not_found", "no such webhook", "Absent, or not visible to this caller."),
    409: ("conflict", "a request with this Idempotency-Key is still in progress", "Conflicts with the current state."),
    422: (
        "validation_error",
        "url: the URL must use https://",
        "A field is invalid, or an Idempotency-Key was reused.",
    ),
    429: ("rate_limited", "too many requests", "Slow down."),
}


def error_responses(*codes: int) -> dict[int, ResponseSpec]:
    specs: dict[int, ResponseSpec] = {}
    for code in codes:
        error_code, message, description = _EXAMPLES[code]
        example: dict[str, Any] = {"error": {"code": error_code, "message": message, "details": {}}}
        specs[code] = ResponseSpec(
            data_container=ErrorBody,
            description=description,
            examples=[Example(summary=error_code, value=example)],
            generate_examples=False,
        )
    return specs


READ_ERRORS = (400, 401, 403, 404, 422)
WRITE_ERRORS = (400, 401, 403, 404, 409, 422)


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Hookline subscription API",
        version="1.0.0",
        description="Subscribe HTTPS endpoints to event types, and inspect and replay their deliveries.",
        path="/schema",
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="`Authorization: Bearer hl_live_…` (or `AccessKey hl_live_…`), or a JWT.",
                )
            }
        ),
        security=[{"apiKey": []}],
        create_examples=False,
        use_handler_docstrings=True,
        render_plugins=[SwaggerRenderPlugin()],
    )
