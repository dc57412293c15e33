"""Several fan-out instances share the events through their consumer group, each task produced once."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from hookline import topics
from hookline_fanout.app import create_app as create_fanout
from hookline_fanout.endpoints_follower import partitions_of
from tests.integration.fanout.test_webhook_changes import publish_event
from tests.integration.ingest.pipeline import (
    Pipeline,
    add_webhook,
    new_org,
    running,
    settings_for,
    tasks_of,
    wait_for,
)

pytestmark = pytest.mark.integration


async def test_two_fan_out_instances_produce_each_task_once(pipe: Pipeline) -> None:
    orgs = [await new_org(pipe.db) for _ in range(24)]
    hooks = {org: {(await add_webhook(pipe.db, pipe.producer, org, ["*"])).id for _ in range(2)} for org in orgs}
    partitions = await partitions_of(pipe.bootstrap, topics.EVENTS)
    first = pipe.fanout.state.fanout
    second_app = create_fanout(settings_for(pipe.servers))
    async with running(second_app):
        second = second_app.state.fanout

        async def both_assigned() -> bool:
            mine, theirs = first.consumer.assignment(), second.consumer.assignment()
            return bool(mine) and bool(theirs) and len(mine | theirs) == len(partitions)

        await wait_for(both_assigned, "the group to share hookline.events between both instances")
        mark = await pipe.mark()
        produced_before = (first.produced, second.produced)
        events = await asyncio.gather(*(publish_event(pipe, org, "thing.happened") for org in orgs for _ in range(3)))
        await pipe.settle()
        produced = (first.produced - produced_before[0], second.produced - produced_before[1])
        messages = await mark.read()

    tasks = [t for org in orgs for t in tasks_of(org, messages)]
    assert len(tasks) == 24 * 3 * 2
    assert set(Counter(t.delivery_id for t in tasks).values()) == {1}
    assert {t.event.id for t in tasks} == set(events)
    for org in orgs:
        assert {t.webhook_id for t in tasks if t.organization_id == org} == hooks[org]
    assert all(n > 0 for n in produced), produced
