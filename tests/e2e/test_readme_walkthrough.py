"""The README's walk-through, run as written on the test platform: a newcomer's first delivery."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from typing import Any

import httpx
import pytest

from tests.platform import Platform, free_port
from tests.servers import ROOT

pytestmark = pytest.mark.e2e

START, END = "<!-- walkthrough:start -->", "<!-- walkthrough:end -->"
MAKE_UP = "HOOKLINE_ALLOW_PRIVATE_TARGETS=true make up"


def walkthrough() -> str:
    """The shell block between the README's walk-through markers."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split(START, 1)[1].split(END, 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the README's walk-through has no ```sh block"
    return block.group(1)


def on_test_ports(script: str, platform: Platform, listen_port: int) -> str:
    """The same commands, with the platform the fixture started in place of `make up`'s default ports."""
    lines = script.splitlines()
    # The fixture runs the services as `make up` would, with private targets allowed as that line asks.
    assert lines[0] == MAKE_UP, lines[0]
    assert platform.env()["HOOKLINE_ALLOW_PRIVATE_TARGETS"] == "true"
    rest = "\n".join(lines[1:])
    for default, actual in (
        ("http://127.0.0.1:8000", platform.url("subscription-api")),
        ("http://127.0.0.1:8001", platform.url("event-ingest")),
        ("9000", str(listen_port)),
    ):
        assert default in rest, f"the walk-through no longer mentions {default}"
        rest = rest.replace(default, actual)
    return rest


def json_lines(output: str) -> list[Any]:
    parsed = []
    for line in output.splitlines():
        try:
            parsed.append(json.loads(line))
        except ValueError:
            continue
    return parsed


async def stored_attempts(platform: Platform, key: str, webhook_id: str, want: int) -> list[dict[str, Any]]:
    """The webhook's attempts once `want` events have a successful one stored (they are written in batches)."""
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=platform.url("subscription-api"), timeout=10) as api:
        while True:
            page = await api.get(f"/v1/webhooks/{webhook_id}/attempts", headers={"Authorization": f"Bearer {key}"})
            assert page.status_code == 200, page.text
            attempts: list[dict[str, Any]] = page.json()["data"]
            done = {a["event_id"] for a in attempts if a["status"] == "succeeded"}
            if len(done) >= want or time.monotonic() > deadline:
                return attempts
            await asyncio.sleep(0.2)


async def test_the_readme_walkthrough_delivers_two_verified_events(platform: Platform) -> None:
    script = on_test_ports(walkthrough(), platform, free_port())
    # One line after the block, so the test can ask the API what the walk-through's shell knew.
    script += '\necho "walkthrough-state $KEY $WEBHOOK_ID"\n'
    done = await asyncio.to_thread(
        subprocess.run,
        ["bash", "-c", script],
        cwd=ROOT,
        env=platform.env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    printed = [p for p in json_lines(done.stdout) if isinstance(p, dict)]

    assert any(p.get("name") == "member.added" for p in printed), done.stdout  # the event type
    over_http = next(p for p in printed if set(p) == {"id"})
    deliveries = [p for p in printed if "path" in p]
    assert len(deliveries) == 2, done.stdout
    assert all(d["verified"] is True and d["path"] == "/hooks" for d in deliveries)
    assert sorted(d["body"]["data"]["member_id"] for d in deliveries) == ["mem_1", "mem_2"]
    assert all(d["body"]["type"] == "member.added" for d in deliveries)
    assert over_http["id"] in {d["webhook_id"] for d in deliveries}
    # The block's last command printed an attempts page of this webhook's attempts.
    page = next(p for p in reversed(printed) if "data" in p)
    assert {a["event_id"] for a in page["data"]} <= {d["webhook_id"] for d in deliveries}

    state = re.search(r"^walkthrough-state (\S+) (wh_\S+)$", done.stdout, re.M)
    assert state is not None, done.stdout
    attempts = await stored_attempts(platform, state.group(1), state.group(2), want=2)
    succeeded = {a["event_id"] for a in attempts if a["status"] == "succeeded" and a["status_code"] == 204}
    assert succeeded == {d["webhook_id"] for d in deliveries}
