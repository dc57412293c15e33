"""Producer ids seen within 24 h are accepted once, even with two ingest instances racing on them."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from bson import ObjectId

from hookline import documents, ids, mongo, topics
from hookline_fanout.endpoints_follower import partitions_of
from hookline_ingest.app import create_app as create_ingest
from hookline_ingest.producer_ids import ProducerIdLedger
from tests.integration.ingest.pipeline import (
    Pipeline,
    add_webhook,
    events_of,
    new_api_key,
    new_org,
    running,
    settings_for,
    wait_for,
)

pytestmark = pytest.mark.integration


async def test_two_ingest_instances_accept_a_producer_id_once(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    hook = await add_webhook(pipe.db, pipe.producer, org, ["*"])
    partitions = await partitions_of(pipe.bootstrap, topics.INGEST)
    first = pipe.ingest.state.consumer.consumer
    second_app = create_ingest(settings_for(pipe.servers, ingest_extra_topics=pipe.extra_topic))
    async with running(second_app):
        second = second_app.state.consumer.consumer

        async def both_assigned() -> bool:
            mine, theirs = first.assignment(), second.assignment()
            return bool(mine) and bool(theirs) and len(mine | theirs) == len(partitions) + 3

        await wait_for(both_assigned, "the group to share the partitions between both instances")
        events_mark = await pipe.mark(topics.EVENTS)
        mark = await pipe.mark()
        # Each producer id arrives on every partition, so both instances see it at about the same time.
        for n in range(5):
            value = msgspec.json.encode(
                {"id": f"p-{n}", "type": "webhook.test", "organization_id": org, "data": {"n": n}}
            )
            await asyncio.gather(*(pipe.producer.send(topics.INGEST, value, partition=p) for p in partitions))
        await pipe.producer.flush()
        tasks = await pipe.deliveries_since(mark, org)
        events = events_of(org, await events_mark.read())

    assert sorted(e.data["n"] for e in events) == [0, 1, 2, 3, 4]
    assert len({e.id for e in events}) == 5
    assert Counter(t.event.id for t in tasks) == Counter({e.id: 1 for e in events})
    assert {t.webhook_id for t in tasks} == {hook.id}
    assert await pipe.db[documents.EVENTS].count_documents({"organization_id": org}) == 5


async def test_racing_claims_from_two_clients_agree_on_one_winner(pipe: Pipeline) -> None:
    org = ids.new_id("org")
    other_client = mongo.connect(pipe.servers.mongo_url)
    try:
        ledgers = [ProducerIdLedger(pipe.db), ProducerIdLedger(mongo.database(other_client))]
        claims = await asyncio.gather(*(ledger.claim(org, f"race-{n}") for n in range(20) for ledger in ledgers))
        # The losers wait for the winner's publication; mark every winner published as the acceptor would.
        await ledgers[0].mark_published(c.record_id for c in claims if c.publish)
    finally:
        await other_client.close()

    for n in range(20):
        pair = claims[2 * n : 2 * n + 2]
        assert pair[0].event_id == pair[1].event_id
        assert sorted(c.publish for c in pair) == [False, True]
        assert sorted(c.duplicate for c in pair) == [False, True]


async def test_a_duplicate_of_an_event_never_published_publishes_it_under_the_first_id(pipe: Pipeline) -> None:
    """The first writer crashed between recording the id and publishing; its lease has run out."""
    org = await new_org(pipe.db)
    key = await new_api_key(pipe.db, org)
    hook = await add_webhook(pipe.db, pipe.producer, org, ["*"])
    now = datetime.now(UTC).replace(microsecond=0)
    orphan = ids.new_id("evt")
    await pipe.db[documents.EVENT_IDS].insert_one(
        {
            "_id": ObjectId(),
            "organization_id": org,
            "producer_id": "p-crashed",
            "event_id": orphan,
            "published": False,
            "claimed_until": now - timedelta(seconds=1),
            "created_at": now - timedelta(seconds=30),
            "expires_at": now + timedelta(hours=23),
        }
    )
    mark = await pipe.mark()

    response = await pipe.http.post(
        "/v1/events",
        json={"id": "p-crashed", "type": "webhook.test", "data": {}},
        headers={"Authorization": f"Bearer {key}"},
    )

    assert response.json() == {"id": orphan, "duplicate": True}
    tasks = await pipe.deliveries_since(mark, org)
    assert [(t.event.id, t.webhook_id) for t in tasks] == [(orphan, hook.id)]
    assert tasks[0].event.created_at == now - timedelta(seconds=30)
    record = await pipe.db[documents.EVENT_IDS].find_one({"organization_id": org, "producer_id": "p-crashed"})
    assert record is not None and record["published"] is True


async def test_a_producer_id_older_than_24_hours_is_a_new_event(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    key = await new_api_key(pipe.db, org)
    old = datetime.now(UTC) - timedelta(hours=25)
    await pipe.db[documents.EVENT_IDS].insert_one(
        {
            "_id": ObjectId(),
            "organization_id": org,
            "producer_id": "p-old",
            "event_id": ids.new_id("evt"),
            "published": True,
            "claimed_until": old,
            "created_at": old,
            "expires_at": old + timedelta(hours=24),
        }
    )

    response = await pipe.http.post(
        "/v1/events",
        json={"id": "p-old", "type": "webhook.test", "data": {}},
        headers={"Authorization": f"Bearer {key}"},
    )

    assert response.status_code == 202
    assert "duplicate" not in response.json()
