"""What `crosswalk webhooks list` and `crosswalk webhooks retry` do, over the ledger's outbox.

Endpoints are shown by name, never by URL (a URL may carry a token) and never with a secret.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from gateway.clock import Clock, system_clock
from gateway.store.opening import NoLedger as NoLedger  # re-exported
from gateway.store.opening import open_existing
from gateway.store.records import Delivery, DeliveryState
from gateway.store.sql_ledger import SqlLedger

COLUMNS = ("EVENT", "TYPE", "ENDPOINT", "STATE", "ATTEMPTS", "NEXT ATTEMPT", "LAST")
MAX_LIMIT = 10_000  # rows `list` shows at most
_LAST_WIDTH = 60  # an error message is cut here so a row stays on one line


async def list_deliveries(
    store_path: str, *, state: DeliveryState | None, limit: int, clock: Clock = system_clock
) -> str:
    """The outbox's latest deliveries as a table, newest event first."""
    async with _existing(store_path, clock) as ledger:
        deliveries = await ledger.list_deliveries(state=state, limit=limit)
    return table(deliveries)


async def retry_event(store_path: str, event_id: str, *, clock: Clock = system_clock) -> int | None:
    """Make the event's undelivered deliveries due now (not one being sent now); how many,
    or None for no such event."""
    async with _existing(store_path, clock) as ledger:
        return await ledger.retry_event(event_id, clock())


@asynccontextmanager
async def _existing(store_path: str, clock: Clock) -> AsyncIterator[SqlLedger]:
    # opening would make (or upgrade) a ledger: a mistyped path would then look like an empty
    # outbox, and an empty file would become a ledger
    async with await open_existing(store_path, clock=clock) as ledger:
        yield ledger


def table(deliveries: Sequence[Delivery]) -> str:
    """Deliveries as aligned columns under a header line."""
    rows = [COLUMNS, *(_row(d) for d in deliveries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _row(delivery: Delivery) -> tuple[str, ...]:
    return (
        delivery.event_id,
        delivery.event_type,
        delivery.endpoint,
        delivery.state,
        str(delivery.attempts),
        _when(delivery.next_attempt_at) if delivery.state == "pending" else "-",
        _last(delivery),
    )


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _last(delivery: Delivery) -> str:
    parts = [str(delivery.last_status)] if delivery.last_status is not None else []
    if delivery.last_error:
        parts.append(" ".join(delivery.last_error.split()))
    text = " ".join(parts) or "-"
    return text if len(text) <= _LAST_WIDTH else text[: _LAST_WIDTH - 1] + "…"
