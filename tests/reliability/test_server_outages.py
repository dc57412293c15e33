"""Kafka or the MongoDB-wire server restarted, or stopped for 60 s, while 5,000 events fan out to 5 webhooks.

No service process is restarted: the same ones must recover on their own.
"""

from __future__ import annotations

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from hookline.mongo import Document
from hookline_cli.infra.stack import Stack
from tests.platform import Platform
from tests.receiver import Receiver
from tests.reliability.faults import OUTAGE_SECONDS, restart_server
from tests.reliability.scenario import run_scenario
from tests.reliability.workload import Tenant

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(1800)]


@pytest.mark.parametrize(
    ("server", "down_for"),
    [
        pytest.param("kafka", 0.0, id="kafka_restarted"),
        pytest.param("kafka", OUTAGE_SECONDS, id="kafka_down_60s"),
        pytest.param("mongo", 0.0, id="mongo_restarted"),
        pytest.param("mongo", OUTAGE_SECONDS, id="mongo_down_60s"),
    ],
)
async def test_server_outage(
    server: str,
    down_for: float,
    scenario: str,
    platform: Platform,
    receiver: Receiver,
    tenant: Tenant,
    db: AsyncDatabase[Document],
    stack: Stack,
) -> None:
    async def fault() -> None:
        await restart_server(stack, server, down_for)

    await run_scenario(scenario, platform, receiver, tenant, db, fault)
