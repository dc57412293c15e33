"""The dependencies route handlers ask for by name: `ctx` (shared services) and `caller` (who is asking)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.di import Provide
from litestar.params import HeaderParameter

from hookline_api.caller import Caller, caller_of
from hookline_api.context import ApiContext
from hookline_api.idempotency import MAX_KEY_LENGTH

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        max_length=MAX_KEY_LENGTH,
        description="Repeat a POST safely: the same key and body within 24 h replay the first response.",
    ),
]


def dependencies(ctx: ApiContext) -> dict[str, Provide]:
    def provide_ctx() -> ApiContext:
        return ctx

    def provide_caller(request: Request[Any, Any, Any]) -> Caller:
        return caller_of(request)

    return {
        "ctx": Provide(provide_ctx, sync_to_thread=False),
        "caller": Provide(provide_caller, sync_to_thread=False),
    }
