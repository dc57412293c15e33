"""Dispatcher processes for tests: the real service (`create_app` under `serve`) on a test's private topics.

`python -m tests.integration.dispatcher.dispatcher_process --port N --options JSON` runs one in the foreground;
the JSON holds `DispatcherOptions` fields, `topics` as `DeliveryTopics` fields. `hookline run dispatcher` takes
none of these from the environment, and tests must not share the real topics and groups with each other.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from dataclasses import asdict
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from hookline.serving import serve
from hookline.settings import load_settings
from hookline_dispatcher.app import create_app
from hookline_dispatcher.options import DeliveryTopics, DispatcherOptions
from tests import platform
from tests.integration.dispatcher.seeding import MASTER_KEY
from tests.servers import ROOT, Servers


def start_dispatcher_process(
    servers: Servers, port: int, *, topics: DeliveryTopics, group_token: str, timeout: float = 5.0, **options: Any
) -> subprocess.Popen[bytes]:
    """Starts a dispatcher process in the consumer groups named by `group_token`; `options` are option fields."""
    fields = {
        **options,
        "topics": asdict(topics),
        "group_id": f"dispatcher-{group_token}",
        "relay_group_id": f"relay-{group_token}",
    }
    env = servers.env(
        HOOKLINE_MASTER_KEY=MASTER_KEY,
        HOOKLINE_ALLOW_PRIVATE_TARGETS="true",
        HOOKLINE_DELIVERY_TIMEOUT_SECONDS=str(timeout),
        HOOKLINE_LOG_LEVEL="warning",
    )
    command = [sys.executable, "-m", "tests.integration.dispatcher.dispatcher_process", "--port", str(port)]
    return subprocess.Popen([*command, "--options", json.dumps(fields)], env=env, cwd=ROOT)


async def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    await asyncio.to_thread(platform.wait_ready, f"http://127.0.0.1:{port}", proc, timeout, "the dispatcher")


async def stop(proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    """SIGTERM, then waits: uvicorn shuts the lifespan down cleanly and re-raises the signal (exit -15)."""
    if proc.poll() is None:
        proc.terminate()
    return await asyncio.to_thread(proc.wait, timeout)


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(port: int) -> tuple[set[str], Samples]:
    """The metric families `GET /metrics` declares, and every sample as (name, sorted labels) -> value."""
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics")
    response.raise_for_status()
    assert response.headers["content-type"].startswith("text/plain")
    families: set[str] = set()
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        families.add(family.name)
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return families, samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dispatcher_process")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--options", required=True, help="DispatcherOptions fields as JSON")
    args = parser.parse_args(argv)
    fields = json.loads(args.options)
    topics = DeliveryTopics(**fields.pop("topics"))
    settings = load_settings()
    serve(create_app(settings, DispatcherOptions(topics=topics, **fields)), port=args.port, settings=settings)


if __name__ == "__main__":
    main()
