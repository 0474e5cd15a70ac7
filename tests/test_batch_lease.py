"""A batch worker whose lease on an input was lost (it stalled; another worker took the input
over) leaves the input to its new holder: a failure of its own create is neither recorded
nor retried, and its run refused by the input's trigger (the other worker recorded one
first) is logged `batch.input_taken`, not reported as the vendor's failure. Two workers are
driven by hand over one ledger, each with its own clock, against a mocked Retab whose
answers the test releases one at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import respx
import structlog.testing

from gateway.backends.factory import Opened, open_backends
from gateway.batch import BatchWorker
from gateway.batch.inputs import encoded
from gateway.routing import Routing
from gateway.service.runs import RunService
from gateway.store.batch_records import BatchRecord
from mappings import canonical
from tests.harness import URLS, mocked, mocked_vendors_settings, wire_json

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
OWNER = "owner-of-the-batch"
LEASE = 0.3  # seconds: the stalled worker's heartbeat runs every 0.1 s


@dataclass
class Vendor:
    """Retab's create, each call held until the test releases it with its answer."""

    router: respx.MockRouter
    held: list[asyncio.Future[httpx.Response]]


@pytest.fixture
def vendor() -> Vendor:
    router = respx.MockRouter(base_url=URLS["retab"], assert_all_called=False)
    held: list[asyncio.Future[httpx.Response]] = []

    async def create(request: httpx.Request) -> httpx.Response:
        answer: asyncio.Future[httpx.Response] = asyncio.get_running_loop().create_future()
        held.append(answer)
        return await answer

    router.post("/v1/classifications").mock(side_effect=create)
    return Vendor(router=router, held=held)


@pytest.fixture
async def opened(tmp_path: Path, vendor: Vendor) -> AsyncIterator[Opened]:
    settings = mocked_vendors_settings(tmp_path, ["retab"], default="retab")
    retab = msgspec.structs.replace(settings.backends["retab"], refresh_interval=0)
    settings = msgspec.structs.replace(settings, backends={"retab": retab})
    async with open_backends(settings, mocked({"retab": vendor.router})) as backends:
        yield backends


def _worker(opened: Opened, clock: Callable[[], datetime]) -> BatchWorker:
    routing = Routing(opened.backends, default="retab")
    runs = RunService(ledger=opened.ledger, routing=routing, clock=clock)
    return BatchWorker(
        ledger=opened.batches, runs=runs, routing=routing, clock=clock, lease_seconds=LEASE
    )


async def _one_input_batch(opened: Opened) -> str:
    request = canonical.ClassifyRequest(
        document=canonical.TextDocument(text="FREIGHT INVOICE No. 88213", filename="a.txt"),
        config=canonical.RunConfig(categories=(canonical.Category(key=None, name="invoice"),)),
        background=True,
    )
    batch = BatchRecord(
        id="bpr_LeaseLostBatch00000000",
        owner=OWNER,
        backend="retab",
        status=canonical.BatchStatus.pending,
        run_count=1,
        created_at=T0,
        updated_at=T0,
    )
    await opened.batches.insert_batch(batch, [encoded(request)])
    return batch.id


async def _until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not predicate():
            await asyncio.sleep(0.01)


def _created(name: str) -> httpx.Response:
    run: dict[str, Any] = wire_json("retab_create_response_background_queued.json")
    return httpx.Response(200, json=run | {"id": name, "n_consensus": 1})


async def _taken_over(opened: Opened, vendor: Vendor, logs: list[Any]) -> tuple[Any, Any]:
    """Worker A claims the input and sends its create; its clock stands still, so its lease
    lapses for worker B, whose clock is ten seconds on: B takes the input over and sends its
    own create, and A's next heartbeat finds its lease gone."""
    stalled, other = (
        _worker(opened, lambda: T0),
        _worker(opened, lambda: T0 + timedelta(seconds=10)),
    )
    a = asyncio.create_task(stalled.step())
    await _until(lambda: len(vendor.held) == 1)
    b = asyncio.create_task(other.step())
    await _until(lambda: len(vendor.held) == 2)
    await _until(lambda: any(e["event"] == "batch.lease_lost" for e in logs))
    return a, b


async def _batch_runs(opened: Opened, batch_id: str) -> list[canonical.ClassificationRun]:
    query = canonical.ListQuery(batch_id=batch_id, limit=10)
    return [r.run for r in (await opened.ledger.list(OWNER, query, cursor=None)).records]


async def test_a_worker_that_lost_its_lease_does_not_refuse_the_input(
    opened: Opened, vendor: Vendor
) -> None:
    """A's create is refused (422) after B took the input over: A records no FAILED run,
    and B's run, answered next, is the input's."""
    batch_id = await _one_input_batch(opened)
    with structlog.testing.capture_logs() as logs:
        a, b = await _taken_over(opened, vendor, logs)
        vendor.held[0].set_result(httpx.Response(422, json={"detail": "unreadable"}))
        await a
        vendor.held[1].set_result(_created("cls_00000000000000000000000b01"))
        await b

    runs = await _batch_runs(opened, batch_id)
    assert [(r.id, r.status) for r in runs] == [
        ("cls_00000000000000000000000b01", canonical.Status.queued)
    ]
    assert any(e["event"] == "batch.input_left" for e in logs)


async def test_a_run_the_input_s_trigger_refuses_is_not_a_vendor_failure(
    opened: Opened, vendor: Vendor
) -> None:
    """B records the input's run first; A's create is answered after: its run is refused by
    the input's trigger, logged as taken, neither retried nor reported as the vendor's
    failure, and B's run stays the input's only one."""
    batch_id = await _one_input_batch(opened)
    with structlog.testing.capture_logs() as logs:
        a, b = await _taken_over(opened, vendor, logs)
        vendor.held[1].set_result(_created("cls_00000000000000000000000b02"))
        await b
        vendor.held[0].set_result(_created("cls_00000000000000000000000a02"))
        await a

    runs = await _batch_runs(opened, batch_id)
    assert [r.id for r in runs] == ["cls_00000000000000000000000b02"]
    events = [e["event"] for e in logs]
    assert "batch.input_taken" in events
    assert "batch.input_refused" not in events
    assert "batch.input_left" not in events
