"""Fan-out follows webhook changes: an event published after a change is matched against the changed webhook."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import msgspec
import pytest

from hookline import ids, topics, webhooks
from hookline.messages import EventEnvelope
from hookline_fanout.endpoints_follower import EndpointsFollower
from hookline_fanout.webhook_index import WebhookIndex
from tests.integration.ingest.pipeline import Pipeline, add_webhook, delete_webhook, new_org, targets

pytestmark = pytest.mark.integration


async def publish_event(pipe: Pipeline, org: str, event_type: str, session_id: str | None = None) -> str:
    event = EventEnvelope(
        id=ids.new_id("evt"), type=event_type, created_at=datetime.now(UTC), organization_id=org, session_id=session_id
    )
    await pipe.producer.send_and_wait(topics.EVENTS, msgspec.json.encode(event), key=org.encode())
    return event.id


async def test_webhooks_created_updated_disabled_and_deleted_mid_stream_are_respected(pipe: Pipeline) -> None:
    """Each event is published right after a change, with no wait between; fan-out must already apply the change.
    (Before the next change the event is let through, since a change may reach events published before it.)"""
    org = await new_org(pipe.db)
    mark = await pipe.mark()

    async def event_then_settle(event_type: str) -> str:
        event_id = await publish_event(pipe, org, event_type)
        await pipe.settle()
        return event_id

    before_any = await event_then_settle("a.b")
    first = await add_webhook(pipe.db, pipe.producer, org, ["a.b"])
    after_create = await event_then_settle("a.b")
    second = await add_webhook(pipe.db, pipe.producer, org, ["*"])
    both = await event_then_settle("a.b")
    await webhooks.update(pipe.db, pipe.producer, first.id, {"events": ["x.y"]})
    after_update = await event_then_settle("a.b")
    await webhooks.set_status(pipe.db, pipe.producer, second.id, "disabled", "paused by test")
    after_disable = await event_then_settle("a.b")
    await delete_webhook(pipe.db, pipe.producer, first.id)
    await webhooks.set_status(pipe.db, pipe.producer, second.id, "enabled", None)
    after_delete = await event_then_settle("x.y")
    await webhooks.update(pipe.db, pipe.producer, second.id, {"active": False})
    after_deactivate = await event_then_settle("x.y")

    tasks = await pipe.deliveries_since(mark, org)

    assert targets(tasks, before_any) == set()
    assert targets(tasks, after_create) == {first.id}
    assert targets(tasks, both) == {first.id, second.id}
    assert targets(tasks, after_update) == {second.id}
    assert targets(tasks, after_disable) == set()
    assert targets(tasks, after_delete) == {second.id}
    assert targets(tasks, after_deactivate) == set()
    assert len(tasks) == 5


async def test_prefix_wildcard_and_session_matching(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    top = await add_webhook(pipe.db, pipe.producer, org, ["billing.*"])
    nested = await add_webhook(pipe.db, pipe.producer, org, ["billing.invoice.*", "billing.invoice.paid"])
    exact = await add_webhook(pipe.db, pipe.producer, org, ["billing"])
    everything_in_session = await add_webhook(pipe.db, pipe.producer, org, ["*"], session_id="s-1")
    mark = await pipe.mark()

    paid = await publish_event(pipe, org, "billing.invoice.paid")
    bare = await publish_event(pipe, org, "billing")
    in_session = await publish_event(pipe, org, "other.thing", session_id="s-1")
    other_session = await publish_event(pipe, org, "billing.refund", session_id="s-2")

    tasks = await pipe.deliveries_since(mark, org)
    assert targets(tasks, paid) == {top.id, nested.id}
    assert targets(tasks, bare) == {exact.id}
    assert targets(tasks, in_session) == {everything_in_session.id}
    assert targets(tasks, other_session) == {top.id}
    assert len(tasks) == 5


async def test_a_fresh_index_replays_the_latest_config_of_every_webhook(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    kept = await add_webhook(pipe.db, pipe.producer, org, ["a.b"])
    await webhooks.update(pipe.db, pipe.producer, kept.id, {"events": ["c.d"]})
    gone = await add_webhook(pipe.db, pipe.producer, org, ["*"])
    await delete_webhook(pipe.db, pipe.producer, gone.id)
    # An older copy arriving late (a retried publish, say) must not overwrite the newer version.
    await webhooks.publish_config(pipe.producer, kept)

    follower = EndpointsFollower(pipe.bootstrap, WebhookIndex())
    await follower.start()
    try:
        config = follower.index.get(kept.id)
        event = EventEnvelope(id=ids.new_id("evt"), type="c.d", created_at=datetime.now(UTC), organization_id=org)
        matched = [w.id for w in follower.index.matching(event)]
    finally:
        await follower.stop()

    assert config is not None and config.events == ["c.d"] and config.version == 2
    assert follower.index.get(gone.id) is None
    assert matched == [kept.id]


async def test_catching_up_applies_every_config_published_before_it(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    follower = EndpointsFollower(pipe.bootstrap, WebhookIndex())
    await follower.start()
    try:
        created = [
            webhooks.Webhook(
                id=ids.new_id("wh"),
                organization_id=org,
                url="https://receiver.example/hook",
                events=[f"type.n{n}"],
                created_at=datetime.now(UTC),
                updated_at=datetime.now(UTC),
            )
            for n in range(300)
        ]
        # Held back, as a follower busy with a burst of changes would be, while the configs are published.
        partitions = list(follower._consumer.assignment())
        follower._consumer.pause(*partitions)
        await asyncio.gather(*(webhooks.publish_config(pipe.producer, w) for w in created))
        follower._consumer.resume(*partitions)

        await follower.catch_up()

        assert all(follower.index.get(w.id) is not None for w in created)
    finally:
        await follower.stop()
