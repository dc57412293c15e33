"""Who may do what: scopes for API keys and OAuth clients, roles for person logins, and whose webhooks they see."""

from __future__ import annotations

from typing import Any

import pytest

from hookline_api.caller import Caller


def caller(kind: str, *scopes: str, role: str | None = None) -> Caller:
    fields: dict[str, Any] = {"organization_id": "org_1", "subject": "app", "scopes": frozenset(scopes), "role": role}
    return Caller(kind=kind, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("who", "reads", "manages", "owner"),
    [
        (caller("api_key", "webhooks.manage"), True, True, "dashboard"),
        (caller("api_key", "webhooks.read"), True, False, "dashboard"),
        (caller("api_key", "events.publish"), False, False, "dashboard"),
        (caller("person", role="OWNER"), True, True, "dashboard"),
        (caller("person", role="ADMIN"), True, True, "dashboard"),
        (caller("person", "webhooks.manage", role="MEMBER"), True, False, "dashboard"),
        (caller("client", "webhooks.manage"), True, True, "client:app"),
        (caller("client"), False, False, "client:app"),
    ],
)
def test_permissions_and_ownership_follow_the_kind_of_caller(
    who: Caller, reads: bool, manages: bool, owner: str
) -> None:
    assert (who.can_read, who.can_manage, who.owner) == (reads, manages, owner)
