"""The four services as separate processes, started once per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.platform import Platform
from tests.servers import TEST_STATE, Servers


@pytest.fixture(scope="module")
def platform(servers: Servers, request: pytest.FixtureRequest) -> Iterator[Platform]:
    module = request.module.__name__.rsplit(".", 1)[-1]
    running = Platform(servers, log_dir=Path(TEST_STATE) / "logs" / module)
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()
