"""The `hookline` command: local infrastructure, bootstrap records, running services, publishing events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import msgspec
import typer
from pymongo.asynchronous.database import AsyncDatabase

from hookline import api_keys, kafka, mongo, reseal, signing, topics
from hookline.messages import ProducerEvent
from hookline.mongo import Document
from hookline.secret_box import SecretBox
from hookline.settings import load_settings, master_key_text
from hookline.state_dir import state_dir
from hookline_cli import admin, platform
from hookline_cli.infra.stack import Stack
from hookline_cli.listener import Listener, serve
from hookline_cli.services import SERVICES
from hookline_cli.supervisor import supervise

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Hookline: webhook delivery platform.")
infra_app = typer.Typer(no_args_is_help=True, help="The local Kafka and MongoDB-wire server.")
org_app = typer.Typer(no_args_is_help=True, help="Organizations.")
key_app = typer.Typer(no_args_is_help=True, help="API keys.")
events_app = typer.Typer(no_args_is_help=True, help="Events.")
secrets_app = typer.Typer(no_args_is_help=True, help="Secrets sealed at rest.")
app.add_typer(infra_app, name="infra")
app.add_typer(org_app, name="org")
app.add_typer(key_app, name="api-key")
app.add_typer(events_app, name="events")
app.add_typer(secrets_app, name="secrets")


def fail(message: str) -> typer.Exit:
    typer.echo(f"hookline: {message}", err=True)
    return typer.Exit(code=1)


def with_db(work: Callable[..., Awaitable[T]], *args: object) -> T:
    async def run() -> T:
        client = mongo.connect(load_settings().mongo_url)
        try:
            return await work(mongo.database(client), *args)
        finally:
            await client.close()

    return asyncio.run(run())


def local_stack() -> Stack:
    return Stack.at(state_dir())


@infra_app.command("up")
def infra_up() -> None:
    """Start Kafka and the MongoDB-wire server (idempotent), create topics and indexes."""
    bootstrap, url = local_stack().up()
    typer.echo(f"kafka {bootstrap}\nmongo {url}")


@infra_app.command("down")
def infra_down() -> None:
    """Stop the local Kafka and MongoDB-wire server."""
    local_stack().down()


@infra_app.command("status")
def infra_status() -> None:
    """Say whether each local server runs; exits 1 when one does not."""
    status = local_stack().status()
    for name, running in status.items():
        typer.echo(f"{name}: {'running' if running else 'stopped'}")
    if not all(status.values()):
        raise typer.Exit(code=1)


@app.command("up")
def up() -> None:
    """Start the servers and the four services in the background; return once all answer /readyz."""
    stack = local_stack()
    stack.up()
    platform.start_services(stack.layout)
    typer.echo(
        "Hookline is up.\n"
        "  subscription API  http://127.0.0.1:8000   (OpenAPI: /schema/openapi.json)\n"
        "  event ingest      http://127.0.0.1:8001\n"
        f"  logs and pids     {stack.layout.root}/logs, {stack.layout.root}/run\n"
        "First API key:\n"
        "  ORG=$(.venv/bin/hookline org create acme)\n"
        "  .venv/bin/hookline api-key create --org $ORG --scopes webhooks.manage,webhooks.read,events.publish\n"
        "Then follow the README's walk-through for a first delivery."
    )


@app.command("down")
def down() -> None:
    """Stop the four services and the local servers."""
    stack = local_stack()
    platform.stop_services(stack.layout)
    stack.down()


@org_app.command("create")
def org_create(name: str) -> None:
    """Create an organization and print its id."""
    org = with_db(admin.create_organization, name)
    typer.echo(org.id)


@key_app.command("create")
def api_key_create(
    org: Annotated[str, typer.Option("--org", help="organization id (org_…)")],
    scopes: Annotated[str, typer.Option("--scopes", help="comma separated")] = "webhooks.manage",
    name: Annotated[str | None, typer.Option("--name")] = None,
) -> None:
    """Create an API key and print it once; only its hash is stored."""
    try:
        parsed = api_keys.parse_scopes(scopes)
    except ValueError as exc:
        raise fail(str(exc)) from None
    try:
        _, key = with_db(admin.create_api_key, org, parsed, name)
    except admin.UnknownOrganizationError:
        raise fail(f"no organization {org}") from None
    typer.echo(key)


@app.command("run")
def run(
    service: Annotated[str, typer.Argument(help="subscription-api, event-ingest, fan-out, dispatcher or all")],
    port: Annotated[int | None, typer.Option("--port")] = None,
) -> None:
    """Run one service in the foreground (or `all` under one supervisor that restarts crashed children)."""
    if service == "all":
        # With `all`, --port is the first of four consecutive ports (8000 by default).
        raise typer.Exit(code=supervise(SERVICES.values(), base_port=port))
    spec = SERVICES.get(service)
    if spec is None:
        raise fail(f"unknown service {service!r}; choose from {', '.join(SERVICES)} or all")
    argv = spec.argv(port)
    os.execv(argv[0], argv)  # noqa: S606 - the service replaces this process, keeping its pid


@events_app.command("publish")
def events_publish(
    org: Annotated[str, typer.Option("--org")],
    type_: Annotated[str, typer.Option("--type")],
    data: Annotated[str, typer.Option("--data", help="a JSON object")] = "{}",
    event_id: Annotated[str | None, typer.Option("--id", help="producer id, the dedup key")] = None,
    session_id: Annotated[str | None, typer.Option("--session")] = None,
) -> None:
    """Publish one event to hookline.ingest."""
    try:
        payload = json.loads(data)
    except json.JSONDecodeError as exc:
        raise fail(f"--data is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise fail("--data must be a JSON object")
    event = ProducerEvent(id=event_id, type=type_, organization_id=org, session_id=session_id, data=payload)

    async def send() -> None:
        producer = await kafka.start_producer(load_settings().kafka_bootstrap)
        try:
            await producer.send_and_wait(topics.INGEST, msgspec.json.encode(event), key=org.encode())
        finally:
            await producer.stop()

    asyncio.run(send())
    typer.echo("published" + (f" {event_id}" if event_id else ""))


@secrets_app.command("reseal")
def secrets_reseal() -> None:
    """After a master-key rotation: seal again, with the current key, every secret a retired key sealed."""
    settings = load_settings()
    box = SecretBox(master_key_text(settings), settings.retired_keys())

    async def work(db: AsyncDatabase[Document]) -> reseal.ResealReport:
        producer = await kafka.start_producer(settings.kafka_bootstrap)
        try:
            return await reseal.reseal_all(db, producer, box)
        finally:
            await producer.stop()

    report = with_db(work)
    typer.echo(
        f"webhooks checked {report.webhooks_checked}, re-sealed {report.webhooks_resealed}; "
        f"assertion key re-sealed: {'yes' if report.assertion_key_resealed else 'no'}"
    )


@app.command("listen")
def listen(
    port: Annotated[int, typer.Option("--port")] = 9000,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    secret: Annotated[
        str | None, typer.Option("--secret", help="the webhook's signing secret (whpk_… for ed25519)")
    ] = None,
    scheme: Annotated[str, typer.Option("--scheme")] = "standard",
    count: Annotated[int, typer.Option("--count", help="exit after this many verified deliveries; 0 = never")] = 0,
) -> None:
    """Receive deliveries on this machine: verify each with --secret and print it as a JSON line."""
    if scheme not in signing.SCHEMES:
        raise fail(f"unknown --scheme {scheme!r}; choose from {', '.join(signing.SCHEMES)}")
    with contextlib.suppress(KeyboardInterrupt):
        serve(Listener(secret=secret, scheme=scheme, count=count), host, port)


def main() -> None:
    app(prog_name="hookline")


if __name__ == "__main__":
    main()
