"""The webhook index answers like `hookline.matching` over every webhook, and follows versions and tombstones."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from hookline.matching import matching_webhooks
from hookline.messages import EventEnvelope, WebhookConfig
from hookline_fanout.delivery_tasks import delivery_id, tasks_for
from hookline_fanout.webhook_index import WebhookIndex

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def config(webhook_id: str, events: list[str], org: str = "org_1", **fields: object) -> WebhookConfig:
    return WebhookConfig(id=webhook_id, organization_id=org, url="https://x.example", events=events, **fields)  # type: ignore[arg-type]


def event(event_type: str, org: str = "org_1", session_id: str | None = None) -> EventEnvelope:
    return EventEnvelope(id="evt_1", type=event_type, created_at=NOW, organization_id=org, session_id=session_id)


def ids_of(webhooks: list[WebhookConfig]) -> list[str]:
    return [w.id for w in webhooks]


def test_exact_prefix_and_wildcard_patterns_match_each_webhook_once() -> None:
    index = WebhookIndex()
    index.apply("wh_a", config("wh_a", ["member.added"]))
    index.apply("wh_b", config("wh_b", ["member.*", "member.added"]))
    index.apply("wh_c", config("wh_c", ["*"]))
    index.apply("wh_d", config("wh_d", ["member.role.*"]))
    index.apply("wh_e", config("wh_e", ["member"]))
    index.apply("wh_f", config("wh_f", ["*"], org="org_2"))

    assert ids_of(index.matching(event("member.added"))) == ["wh_a", "wh_b", "wh_c"]
    assert ids_of(index.matching(event("member.role.changed"))) == ["wh_b", "wh_c", "wh_d"]
    assert ids_of(index.matching(event("member"))) == ["wh_c", "wh_e"]
    assert ids_of(index.matching(event("other", org="org_3"))) == []


def test_session_scoped_webhooks_get_only_their_session() -> None:
    index = WebhookIndex()
    index.apply("wh_s", config("wh_s", ["*"], session_id="s-1"))
    index.apply("wh_all", config("wh_all", ["*"]))

    assert ids_of(index.matching(event("x", session_id="s-1"))) == ["wh_all", "wh_s"]
    assert ids_of(index.matching(event("x", session_id="s-2"))) == ["wh_all"]
    assert ids_of(index.matching(event("x"))) == ["wh_all"]


def test_an_older_version_never_replaces_a_newer_one_and_a_tombstone_removes() -> None:
    index = WebhookIndex()
    index.apply("wh_a", config("wh_a", ["b.c"], version=2))

    assert index.apply("wh_a", config("wh_a", ["a.b"], version=1)) is False
    assert ids_of(index.matching(event("b.c"))) == ["wh_a"]
    assert ids_of(index.matching(event("a.b"))) == []
    index.apply("wh_a", None)
    assert index.matching(event("b.c")) == []
    assert index.get("wh_a") is None


def test_disabled_or_inactive_webhooks_are_left_out_until_enabled_again() -> None:
    index = WebhookIndex()
    index.apply("wh_a", config("wh_a", ["*"], status="disabled", version=2))
    index.apply("wh_b", config("wh_b", ["*"], active=False))
    assert index.matching(event("x")) == []

    index.apply("wh_a", config("wh_a", ["*"], version=3))
    assert ids_of(index.matching(event("x"))) == ["wh_a"]
    assert len(index) == 1


def test_ten_thousand_webhooks_of_one_org_are_indexed_by_type() -> None:
    index = WebhookIndex()
    for n in range(10_000):
        index.apply(f"wh_{n:05}", config(f"wh_{n:05}", [f"type.n{n % 100}"]))

    assert len(index.matching(event("type.n7"))) == 100


patterns = st.sampled_from(["*", "a", "a.b", "a.*", "a.b.*", "b.*", "a.b.c", "b"])
webhook_specs = st.lists(
    st.tuples(
        st.lists(patterns, min_size=1, max_size=3),
        st.sampled_from(["org_1", "org_2"]),
        st.sampled_from([None, "s-1"]),
        st.booleans(),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(
    specs=webhook_specs,
    event_type=st.sampled_from(["a", "a.b", "a.b.c", "a.bc", "b", "b.c", "c"]),
    session=st.sampled_from([None, "s-1", "s-2"]),
    removed=st.sets(st.integers(0, 11)),
)
def test_the_index_agrees_with_plain_matching(
    specs: list[tuple[list[str], str, str | None, bool]], event_type: str, session: str | None, removed: set[int]
) -> None:
    index = WebhookIndex()
    kept = []
    for n, (events, org, session_id, active) in enumerate(specs):
        webhook = config(f"wh_{n:02}", events, org=org, session_id=session_id, active=active)
        index.apply(webhook.id, webhook)
        if n in removed:
            index.apply(webhook.id, None)
        else:
            kept.append(webhook)
    the_event = event(event_type, session_id=session)

    assert ids_of(index.matching(the_event)) == sorted(ids_of(matching_webhooks(kept, the_event)))


def test_every_task_of_an_event_carries_the_contract_delivery_id() -> None:
    the_event = event("a.b")
    pairs = tasks_for(the_event, [config("wh_a", ["*"]), config("wh_b", ["*"])])

    assert [key for key, _ in pairs] == [b"wh_a", b"wh_b"]
    assert delivery_id(the_event, "wh_a") == delivery_id(the_event, "wh_a") != delivery_id(the_event, "wh_b")
    assert delivery_id(the_event, "wh_a").encode() in pairs[0][1]
