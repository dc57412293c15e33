"""One of the five receivers answers 500 for 30 s, then recovers: its deliveries are retried until they succeed."""

from __future__ import annotations

import asyncio
import time

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from hookline.mongo import Document
from tests.platform import Platform
from tests.receiver import Receiver
from tests.reliability.scenario import run_scenario
from tests.reliability.workload import Tenant

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(1800)]

FAILING_SECONDS = 30.0


async def test_receiver_failing_30s(
    scenario: str, platform: Platform, receiver: Receiver, tenant: Tenant, db: AsyncDatabase[Document]
) -> None:
    failing_path = sorted(tenant.secrets)[0]
    recovers_at = 0.0

    def status_for(path: str) -> int:
        return 500 if path == failing_path and time.monotonic() < recovers_at else 200

    async def fault() -> None:
        nonlocal recovers_at
        recovers_at = time.monotonic() + FAILING_SECONDS
        receiver.status_for = status_for
        await asyncio.sleep(FAILING_SECONDS)  # the outage itself

    outcome = await run_scenario(scenario, platform, receiver, tenant, db, fault)
    assert outcome.tally.failed_answers > 0, "the receiver never answered 500: the scenario tested nothing"
