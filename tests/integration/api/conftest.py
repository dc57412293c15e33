"""Fixtures of the subscription-API tests: the app on the session's real servers, callers, and a JWKS server."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pymongo.asynchronous.database import AsyncDatabase

from hookline.api_keys import parse_scopes
from hookline.mongo import Document
from hookline.settings import Settings
from hookline_api.app import create_app
from hookline_cli.admin import create_api_key, create_organization
from tests.servers import TEST_MASTER_KEY, Servers

ISSUER = "https://login.hookline.test/"
AUDIENCE = "hookline-api"
CATALOGUE = {
    "event_types": [
        {"name": "member.added", "description": "A member joined."},
        {"name": "member.removed", "description": "A member left."},
        {"name": "invoice.paid", "description": "An invoice was paid."},
    ]
}


class JwksServer:
    """A real loopback HTTP server publishing an RSA and an EC key, and a signer of tokens with them."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        keys = [
            {**json.loads(RSAAlgorithm.to_jwk(self.rsa.public_key())), "kid": "rsa-1", "alg": "RS256", "use": "sig"},
            {**json.loads(ECAlgorithm.to_jwk(self.ec.public_key())), "kid": "ec-1", "alg": "ES256", "use": "sig"},
        ]
        body = json.dumps({"keys": keys}).encode()
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def token(self, *, alg: str = "RS256", key: Any = None, kid: str | None = None, **claims: Any) -> str:
        now = datetime.now(UTC)
        payload: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + timedelta(minutes=5)}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        if key is None:
            key = self.rsa if alg == "RS256" else self.ec
        headers = {"kid": kid or ("rsa-1" if alg == "RS256" else "ec-1")}
        return jwt.encode(payload, key, algorithm=alg, headers=headers)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def api_settings(servers: Servers, jwks_server: JwksServer, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    catalogue = tmp_path_factory.mktemp("catalogue") / "event-types.json"
    catalogue.write_text(json.dumps(CATALOGUE))
    return Settings(
        kafka_bootstrap=servers.kafka_bootstrap,
        mongo_url=servers.mongo_url,
        master_key=TEST_MASTER_KEY,
        jwks_url=jwks_server.url,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        allow_private_targets=False,
        event_types_file=str(catalogue),
        log_json=True,
    )


@pytest.fixture(scope="session")
async def client(api_settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(api_settings)) as test_client:
        yield test_client


@dataclass(frozen=True)
class Tenant:
    """An organization with API keys of several scopes."""

    org_id: str
    manage_key: str
    read_key: str
    publish_key: str

    @property
    def manage(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.manage_key}"}

    @property
    def read(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.read_key}"}


async def new_tenant(db: AsyncDatabase[Document], name: str = "acme") -> Tenant:
    org = await create_organization(db, name)
    keys = []
    for scopes in ("webhooks.manage", "webhooks.read", "events.publish"):
        _, key = await create_api_key(db, org.id, parse_scopes(scopes), scopes)
        keys.append(key)
    return Tenant(org.id, *keys)


@pytest.fixture
async def tenant(db: AsyncDatabase[Document]) -> Tenant:
    return await new_tenant(db)


@pytest.fixture
async def other_tenant(db: AsyncDatabase[Document]) -> Tenant:
    return await new_tenant(db, "globex")


WEBHOOK = {"url": "https://hooks.example.invalid/hookline", "events": ["member.added"]}


async def read_topic(bootstrap: str, topic: str, key: str, count: int, timeout: float = 30.0) -> list[bytes | None]:
    """The values on `topic` with that key, from the start of the topic, once `count` are there."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        found: list[bytes | None] = []
        async with asyncio.timeout(timeout):
            while len(found) < count:
                batch = await consumer.getmany(timeout_ms=500)
                found += [m.value for msgs in batch.values() for m in msgs if m.key == key.encode()]
        return found
    finally:
        await consumer.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def served_api(api_settings: Settings) -> Iterator[str]:
    """The app under uvicorn on a loopback port, in a thread with its own event loop: real HTTP, real concurrency."""
    port = free_port()
    config = uvicorn.Config(create_app(api_settings), host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def catalogue_path(settings: Settings) -> Path:
    assert settings.event_types_file is not None
    return Path(settings.event_types_file)
