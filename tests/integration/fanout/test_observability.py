"""Both services answer /healthz, /readyz and /metrics, with counts of what they did."""

from __future__ import annotations

import re

import pytest

from tests.integration.ingest.pipeline import Pipeline, add_webhook, http_client, new_api_key, new_org

pytestmark = pytest.mark.integration


def value(metrics: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_metrics_count_accepted_deduplicated_rejected_events_and_produced_tasks(pipe: Pipeline) -> None:
    org = await new_org(pipe.db)
    key = await new_api_key(pipe.db, org)
    await add_webhook(pipe.db, pipe.producer, org, ["*"])
    await add_webhook(pipe.db, pipe.producer, org, ["*"])
    auth = {"Authorization": f"Bearer {key}"}
    async with http_client(pipe.fanout) as fanout:
        before = (await pipe.http.get("/metrics")).text
        fanout_before = (await fanout.get("/metrics")).text

        for _ in range(2):
            await pipe.http.post("/v1/events", json={"id": "m-1", "type": "webhook.test", "data": {}}, headers=auth)
        await pipe.http.post("/v1/events", json={"type": "no.such", "data": {}}, headers=auth)
        await pipe.settle()

        ingest_metrics = (await pipe.http.get("/metrics")).text
        fanout_metrics = (await fanout.get("/metrics")).text
        ready = await fanout.get("/readyz")
        healthy = await fanout.get("/healthz")

    def grew(after: str, earlier: str, name: str) -> float:
        return value(after, name) - value(earlier, name)

    assert grew(ingest_metrics, before, 'hookline_ingest_events_accepted_total{source="http"}') == 1
    assert grew(ingest_metrics, before, 'hookline_ingest_events_deduplicated_total{source="http"}') == 1
    rejected = 'hookline_ingest_events_rejected_total{reason="unknown_type",source="http"}'
    assert grew(ingest_metrics, before, rejected) == 1
    assert grew(fanout_metrics, fanout_before, "hookline_fanout_tasks_produced_total") >= 2
    assert grew(fanout_metrics, fanout_before, 'hookline_fanout_width_bucket{le="2.0"}') >= 1
    assert "hookline_fanout_consumer_lag" in fanout_metrics
    assert "hookline_ingest_consumer_lag" in ingest_metrics
    assert ready.json() == {"status": "ready", "checks": {"mongo": True, "kafka": True}}
    assert healthy.json() == {"status": "ok"}
