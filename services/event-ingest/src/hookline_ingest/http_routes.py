"""`POST /v1/events` and `POST /v1/events/batch`: thin handlers over the authenticator and the acceptor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, post
from litestar.handlers import HTTPRouteHandler

from hookline.messages import ProducerEvent
from hookline_ingest.acceptance import Accepted, EventAcceptor, Outcome
from hookline_ingest.authentication import ApiKeyAuthenticator, Caller
from hookline_ingest.errors import Forbidden, IngestError, InvalidEvent
from hookline_ingest.http_errors import envelope
from hookline_ingest.metrics import IngestMetrics
from hookline_ingest.submission import HttpEvent, parse_http_event

MAX_BATCH = 500
SOURCE = "http"


class _Batch(msgspec.Struct, forbid_unknown_fields=True):
    events: list[msgspec.Raw]


_batch_decoder = msgspec.json.Decoder(_Batch)


def _owned(event: HttpEvent, caller: Caller) -> ProducerEvent:
    if event.organization_id is not None and event.organization_id != caller.organization_id:
        raise Forbidden("organization_id is not the API key's organization")
    return event.for_organization(caller.organization_id)


def _result(outcome: Outcome | IngestError) -> dict[str, Any]:
    if isinstance(outcome, Accepted):
        return {"id": outcome.id, "duplicate": outcome.duplicate}
    return envelope(outcome.code, outcome.message, outcome.details)


def event_routes(
    acceptor: Callable[[], EventAcceptor],
    authenticator: ApiKeyAuthenticator,
    metrics: IngestMetrics,
    *,
    max_event_bytes: int,
) -> list[HTTPRouteHandler]:
    def count(outcome: Outcome | IngestError) -> None:
        if isinstance(outcome, Accepted):
            (metrics.deduplicated if outcome.duplicate else metrics.accepted).labels(SOURCE).inc()
        elif isinstance(outcome, InvalidEvent):
            metrics.rejected.labels(SOURCE, outcome.reason).inc()

    @post("/v1/events", status_code=202, media_type=MediaType.JSON)
    async def publish_event(request: Request[Any, Any, Any]) -> dict[str, Any]:
        caller = await authenticator.publisher(request.headers.get("authorization"))
        try:
            event = _owned(parse_http_event(await request.body(), max_event_bytes), caller)
            [outcome] = await acceptor().accept([event])
        except InvalidEvent as problem:
            outcome = problem
        count(outcome)
        if isinstance(outcome, InvalidEvent):
            raise outcome
        body: dict[str, Any] = {"id": outcome.id}
        if outcome.duplicate:
            body["duplicate"] = True
        return body

    @post("/v1/events/batch", status_code=202, media_type=MediaType.JSON)
    async def publish_batch(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        caller = await authenticator.publisher(request.headers.get("authorization"))
        raws = _decode_batch(await request.body())
        results: list[Outcome | IngestError | None] = [None] * len(raws)
        parsed: list[tuple[int, ProducerEvent]] = []
        for i, raw in enumerate(raws):
            try:
                parsed.append((i, _owned(parse_http_event(bytes(raw), max_event_bytes), caller)))
            except IngestError as problem:
                results[i] = problem
        outcomes = await acceptor().accept([event for _, event in parsed])
        for (i, _), outcome in zip(parsed, outcomes, strict=True):
            results[i] = outcome
        final = [r for r in results if r is not None]
        for r in final:
            count(r)
        accepted = sum(isinstance(r, Accepted) for r in final)
        body = {"results": [_result(r) for r in final], "accepted": accepted, "rejected": len(final) - accepted}
        return Response(body, status_code=202)

    return [publish_event, publish_batch]


def _decode_batch(raw: bytes) -> list[msgspec.Raw]:
    try:
        batch = _batch_decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise InvalidEvent("invalid_envelope", f'the body must be {{"events": [...]}}: {exc}') from None
    except msgspec.DecodeError:
        raise InvalidEvent("invalid_json", "the body is not valid JSON", status=400) from None
    if not 1 <= len(batch.events) <= MAX_BATCH:
        raise InvalidEvent("invalid_envelope", f"a batch holds 1 to {MAX_BATCH} events, not {len(batch.events)}")
    return batch.events
