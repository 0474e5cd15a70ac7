"""The webhook outbox over a real SQLite file: a run's event is raised in the very write that
ends the run, by every path that can end one, once; deliveries are leased, retried, killed
and revived as the dispatcher and the operator say."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from gateway.store import SqliteLedger
from gateway.store.records import INTERRUPTED, NewEvent, RunSnapshot
from mappings import canonical
from tests.test_store import ALICE, T0, completed, make_record

S = canonical.Status
EVERY_RUN_EVENT = ("classify_run.processed", "classify_run.failed", "classify_run.cancelled")
HOOKS = {"a": EVERY_RUN_EVENT, "b": ("classify_run.processed",)}
snapshot_decoder = msgspec.json.Decoder(RunSnapshot)


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[SqliteLedger]:
    async with await SqliteLedger.open(str(tmp_path / "ledger.db")) as opened:
        await opened.subscribe(HOOKS)
        yield opened


async def owed(ledger: SqliteLedger) -> list[tuple[str, str, str]]:
    """(event type, subject, endpoint) of every delivery, oldest event first."""
    found = await ledger.list_deliveries(limit=1000)
    return sorted(((d.event_type, d.subject, d.endpoint) for d in found), key=str)


async def test_a_finished_run_owes_its_event_to_each_subscribed_endpoint(
    ledger: SqliteLedger,
) -> None:
    """update_run to completed raises classify_run.processed for both endpoints; the event
    holds the run as it finished, with its owner and surface."""
    record = await ledger.insert(make_record("r1"))
    assert await owed(ledger) == []  # a queued run raises nothing
    await ledger.update_run("local", "r1", completed(record.run))
    assert await owed(ledger) == [
        ("classify_run.processed", "local:r1", "a"),
        ("classify_run.processed", "local:r1", "b"),
    ]
    [delivery, *_] = await ledger.list_deliveries()
    snapshot = snapshot_decoder.decode(delivery.data)
    assert snapshot.run.status is S.completed
    assert (snapshot.owner, snapshot.surface, snapshot.upstream_id) == (ALICE, "retab", "r1")
    assert delivery.event_id.startswith("evt_")
    assert len(delivery.event_id) == 26


async def test_only_subscribed_endpoints_are_owed_and_unsubscribed_types_write_nothing(
    ledger: SqliteLedger, tmp_path: Path
) -> None:
    """A failed run is owed only to the endpoint taking failures; with no subscriber at all,
    no event row is written."""
    record = await ledger.insert(make_record("r1"))
    failed = msgspec.structs.replace(record.run, status=S.failed)
    await ledger.update_run("local", "r1", failed)
    assert await owed(ledger) == [("classify_run.failed", "local:r1", "a")]
    await ledger.subscribe({})
    second = await ledger.insert(make_record("r2"))
    await ledger.update_run("local", "r2", completed(second.run))
    with closing(sqlite3.connect(tmp_path / "ledger.db")) as conn:
        assert conn.execute("SELECT count(*) FROM webhook_events").fetchone() == (1,)


async def test_a_run_raises_its_event_once_however_often_it_is_saved_terminal(
    ledger: SqliteLedger,
) -> None:
    """A second terminal update (the refresher reading a finished run again, a relayed
    Extend event after a poll saw it) raises nothing more."""
    record = await ledger.insert(make_record("r1"))
    done = completed(record.run)
    await ledger.update_run("local", "r1", done)
    await ledger.update_run("local", "r1", msgspec.structs.replace(done, metadata={"x": 1}))
    assert len(await ledger.list_deliveries()) == 2


async def test_every_path_that_ends_a_run_raises_its_event(ledger: SqliteLedger) -> None:
    """Inserted already terminal (a sync run), finished by a worker, cancelled, and failed
    by recovery once out of attempts: each raises the event of its status."""
    await ledger.insert(make_record("sync", status=S.completed))
    await ledger.insert(make_record("worked"))
    claimed = await ledger.claim("w1", 30, T0, backends=("local",))
    assert claimed is not None
    await ledger.finish("local", "worked", "w1", completed(claimed.run))
    await ledger.insert(make_record("cancelled"))
    await ledger.request_cancel(ALICE, "local", "cancelled", T0)
    await ledger.insert(make_record("lost"))
    assert await ledger.claim("w2", 30, T0, backends=("local",)) is not None
    report = await ledger.recover(T0 + timedelta(minutes=5), max_attempts=1)
    assert report.failed == 1
    events = {(t, s) for t, s, endpoint in await owed(ledger) if endpoint == "a"}
    assert events == {
        ("classify_run.processed", "local:sync"),
        ("classify_run.processed", "local:worked"),
        ("classify_run.cancelled", "local:cancelled"),
        ("classify_run.failed", "local:lost"),
    }
    lost = [d for d in await ledger.list_deliveries() if d.subject == "local:lost"]
    error = snapshot_decoder.decode(lost[0].data).run.error
    assert error is not None
    assert error.code == INTERRUPTED


async def test_a_failed_write_raises_no_event(ledger: SqliteLedger) -> None:
    """A compare-and-set that loses (the run was cancelled first) raises only the cancel."""
    record = await ledger.insert(make_record("r1"))
    await ledger.request_cancel(ALICE, "local", "r1", T0)
    lost = await ledger.update_run(
        "local", "r1", completed(record.run), only_if_status_in=frozenset({S.running})
    )
    assert lost is None
    assert {t for t, _, _ in await owed(ledger)} == {"classify_run.cancelled"}


async def test_deliveries_are_leased_delivered_retried_and_killed(ledger: SqliteLedger) -> None:
    """A claim leases due deliveries and counts the attempt; a failure makes one due again
    later or dead; a success ends it; a lease that runs out lets another worker take it."""
    record = await ledger.insert(make_record("r1"))
    await ledger.update_run("local", "r1", completed(record.run), now=T0)
    a, b = await ledger.claim_deliveries("w1", T0, 30, 10)
    assert (a.attempts, b.attempts) == (1, 1)
    assert await ledger.claim_deliveries("w2", T0, 30, 10) == ()  # leased
    assert await ledger.delivered(a, "w1", T0, 204)
    later = T0 + timedelta(seconds=5)
    assert await ledger.delivery_failed(b, "w1", retry_at=later, status=500, error="HTTP 500")
    assert await ledger.claim_deliveries("w2", T0, 30, 10) == ()  # not due yet
    [again] = await ledger.claim_deliveries("w2", later, 30, 10)
    assert (again.endpoint, again.attempts, again.last_status) == (b.endpoint, 2, 500)
    # w2 dies; its lease runs out and w3 takes the delivery over
    [taken] = await ledger.claim_deliveries("w3", later + timedelta(seconds=31), 30, 10)
    assert not await ledger.delivered(again, "w2", later, 200)  # w2 lost it
    assert await ledger.delivery_failed(taken, "w3", retry_at=None, status=None, error="gone")
    states = {d.endpoint: (d.state, d.last_error) for d in await ledger.list_deliveries()}
    assert states == {a.endpoint: ("delivered", None), b.endpoint: ("dead", "gone")}
    assert [d.endpoint for d in await ledger.list_deliveries(state="dead")] == [b.endpoint]
    assert await ledger.outbox_depth() == 0


async def test_retry_revives_a_dead_delivery_with_a_fresh_window(ledger: SqliteLedger) -> None:
    """`crosswalk webhooks retry`: the dead delivery is due now, its window starts now; a
    delivered one is left alone; an unknown event id is None."""
    record = await ledger.insert(make_record("r1"))
    await ledger.update_run("local", "r1", completed(record.run), now=T0)
    a, b = await ledger.claim_deliveries("w1", T0, 30, 10)
    await ledger.delivered(a, "w1", T0, 200)
    await ledger.delivery_failed(b, "w1", retry_at=None, status=410, error="HTTP 410")
    now = T0 + timedelta(days=2)
    assert await ledger.retry_event(b.event_id, now) == 1
    [revived] = await ledger.claim_deliveries("w2", now, 30, 10)
    assert (revived.endpoint, revived.since, revived.attempts) == (b.endpoint, now, 2)
    assert await ledger.retry_event("evt_unknown", now) is None


async def test_claims_can_skip_endpoints_at_capacity(ledger: SqliteLedger) -> None:
    """A dispatcher claims only for endpoints with room, so one slow endpoint's backlog
    never fills the claims other endpoints need."""
    for i in range(3):
        record = await ledger.insert(make_record(f"r{i}"))
        await ledger.update_run("local", f"r{i}", completed(record.run), now=T0)
    only_b = await ledger.claim_deliveries("w1", T0, 30, 10, endpoints=("b",))
    assert {d.endpoint for d in only_b} == {"b"}
    assert len(only_b) == 3
    assert await ledger.claim_deliveries("w1", T0, 30, 10, endpoints=()) == ()


async def test_a_relayed_event_keeps_its_id_and_is_raised_once(ledger: SqliteLedger) -> None:
    """add_event with a given id (an Extend event relayed) writes it once however often it
    comes; its data is kept as it came."""
    await ledger.subscribe({"a": ("batch_processor_run.processed",)})
    event = NewEvent(
        event_type="batch_processor_run.processed",
        kind="raw",
        owner="",
        subject="bpr_1",
        data=b'{"object":"batch_run"}',
        event_id="evt_fromextend",
    )
    assert await ledger.add_event(event) == "evt_fromextend"
    assert await ledger.add_event(event) is None
    [delivery] = await ledger.list_deliveries()
    assert (delivery.event_id, delivery.kind, delivery.data) == (
        "evt_fromextend",
        "raw",
        b'{"object":"batch_run"}',
    )


async def test_two_dispatchers_never_take_the_same_delivery(tmp_path: Path) -> None:
    """Concurrent claims through two connections hand each due delivery out once."""
    path = str(tmp_path / "ledger.db")
    async with await SqliteLedger.open(path) as one, await SqliteLedger.open(path) as two:
        await one.subscribe({"a": EVERY_RUN_EVENT})
        for i in range(20):
            await one.insert(make_record(f"r{i}", status=S.completed))
        claims = [
            ledger.claim_deliveries(f"w{n}-{i}", T0 + timedelta(hours=1), 30, 3)
            for n, ledger in enumerate((one, two))
            for i in range(10)
        ]
        taken = [d.subject for batch in await asyncio.gather(*claims) for d in batch]
        assert sorted(taken) == sorted(f"local:r{i}" for i in range(20))


async def test_the_dispatcher_is_told_when_a_write_may_have_raised_an_event(
    tmp_path: Path,
) -> None:
    """`on_event` rings after writes that end a run (and not after others)."""
    rung: list[int] = []
    path = str(tmp_path / "ledger.db")
    async with await SqliteLedger.open(path, on_event=lambda: rung.append(1)) as ledger:
        record = await ledger.insert(make_record("r1"))
        assert rung == []
        await ledger.update_run("local", "r1", completed(record.run))
        assert rung == [1]
