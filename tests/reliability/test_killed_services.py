"""kill -9 of one service process while 5,000 events fan out to 5 webhooks; the test restarts it, as a supervisor
would. The dispatcher is killed while a second one runs beside it."""

from __future__ import annotations

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from hookline.mongo import Document
from tests.platform import Platform
from tests.receiver import Receiver
from tests.reliability.conftest import SECOND_DISPATCHER
from tests.reliability.faults import kill_and_restart
from tests.reliability.scenario import run_scenario
from tests.reliability.workload import Tenant

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(1800)]


@pytest.mark.parametrize(
    ("label", "service"),
    [
        pytest.param(SECOND_DISPATCHER, "dispatcher", id="dispatcher_killed"),
        pytest.param("fan-out", "fan-out", id="fanout_killed"),
        pytest.param("event-ingest", "event-ingest", id="ingest_killed"),
    ],
)
async def test_killed_service(
    label: str,
    service: str,
    scenario: str,
    platform: Platform,
    receiver: Receiver,
    tenant: Tenant,
    db: AsyncDatabase[Document],
) -> None:
    async def fault() -> None:
        await kill_and_restart(platform, label, service)

    await run_scenario(scenario, platform, receiver, tenant, db, fault, restarted=frozenset({label}))
