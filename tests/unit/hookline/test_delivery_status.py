"""A delivery's status from its status document and its succeeded attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hookline import delivery_status
from hookline.documents import Attempt, Delivery

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def attempt(delivery_id: str, number: int, status: str = "succeeded") -> Attempt:
    return Attempt(
        id=f"att_{delivery_id}_{number}",
        organization_id="org_1",
        webhook_id="wh_1",
        event_id="evt_1",
        delivery_id=delivery_id,
        attempt=number,
        status=status,  # type: ignore[arg-type]
        status_code=200 if status == "succeeded" else 500,
        latency_ms=1.0,
        created_at=NOW + timedelta(seconds=number),
        expires_at=NOW + timedelta(days=30),
    )


def stored(delivery_id: str, status: str, attempts: int) -> Delivery:
    return Delivery(
        id=delivery_id,
        organization_id="org_1",
        webhook_id="wh_1",
        event_id="evt_1",
        status=status,  # type: ignore[arg-type]
        attempts=attempts,
        last_status_code=500,
        last_error="http_status",
        created_at=NOW,
        updated_at=NOW,
        expires_at=NOW + timedelta(days=30),
    )


def test_only_a_first_attempt_success_goes_without_a_status_document() -> None:
    assert not delivery_status.stores_status(succeeded=True, attempt_number=1)
    assert delivery_status.stores_status(succeeded=True, attempt_number=2)
    assert delivery_status.stores_status(succeeded=False, attempt_number=1)


def test_a_first_attempt_success_stands_for_its_delivery() -> None:
    [delivery] = delivery_status.merge([], [attempt("dlv_a", 1)])
    assert (delivery.id, delivery.status, delivery.attempts, delivery.last_status_code) == (
        "dlv_a",
        "succeeded",
        1,
        200,
    )


def test_a_success_wins_over_a_status_document_that_says_otherwise() -> None:
    merged = delivery_status.merge([stored("dlv_a", "pending", 2), stored("dlv_b", "failed", 3)], [attempt("dlv_a", 1)])
    by_id = {d.id: (d.status, d.attempts, d.last_error) for d in merged}
    assert by_id == {"dlv_a": ("succeeded", 2, None), "dlv_b": ("failed", 3, "http_status")}
