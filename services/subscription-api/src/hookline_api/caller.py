"""Who is calling: an API key, a person login or an OAuth client, and what each may see and do."""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from hookline_api.errors import Forbidden, NotFound

READ: Final = "webhooks.read"
MANAGE: Final = "webhooks.manage"
MANAGING_ROLES: Final = frozenset({"OWNER", "ADMIN"})
ROLES: Final = frozenset({"OWNER", "ADMIN", "MEMBER"})
DASHBOARD: Final = "dashboard"


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    organization_id: str
    kind: Literal["api_key", "person", "client"]
    # The API key id, the token's `sub`, or the OAuth client id: what idempotency keys are scoped to.
    subject: str
    scopes: frozenset[str] = frozenset()
    role: str | None = None

    @property
    def owner(self) -> str:
        """Whose webhooks this caller sees and creates: dashboard-managed ones, or its own OAuth client's."""
        return f"client:{self.subject}" if self.kind == "client" else DASHBOARD

    @property
    def can_manage(self) -> bool:
        if self.kind == "person":
            return self.role in MANAGING_ROLES
        return MANAGE in self.scopes

    @property
    def can_read(self) -> bool:
        if self.kind == "person":
            return self.role in ROLES
        return bool(self.scopes & {READ, MANAGE})


def caller_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    caller = connection.scope.get("user")
    if not isinstance(caller, Caller):  # the auth middleware always sets it; this is a wiring mistake
        raise RuntimeError("no authenticated caller on this route")
    return caller


# Guards are coroutines: Litestar runs a plain function guard in a worker thread on every request.
async def may_read(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if not caller_of(connection).can_read:
        raise Forbidden(f"this credential may not read webhooks: it needs the scope {READ} or {MANAGE}, or a role")


async def may_manage(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    caller = caller_of(connection)
    if not caller.can_manage:
        needs = "the role OWNER or ADMIN" if caller.kind == "person" else f"the scope {MANAGE}"
        raise Forbidden(f"this credential may not manage webhooks: it needs {needs}")


async def same_organization(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Routes under /v1/organizations/{organization_id}: another organization is as good as absent."""
    if connection.path_params.get("organization_id") != caller_of(connection).organization_id:
        raise NotFound("no such organization")
