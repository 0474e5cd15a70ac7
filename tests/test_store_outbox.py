"""The webhook outbox on both stores (tests/stores.py): a run's event is raised in the very
write that ends the run, by every path that can end one, once; deliveries are leased, retried,
killed and revived as the dispatcher and the operator say."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import msgspec
import pytest

from gateway.store.records import INTERRUPTED, NewEvent, RunSnapshot
from mappings import canonical
from tests.stores import AnyLedger, OpenLedger, Store
from tests.test_store import ALICE, T0, completed, make_record

S = canonical.Status
EVERY_RUN_EVENT = ("classify_run.processed", "classify_run.failed", "classify_run.cancelled")
HOOKS = {"a": EVERY_RUN_EVENT, "b": ("classify_run.processed",)}
snapshot_decoder = msgspec.json.Decoder(RunSnapshot)


@pytest.fixture
async def ledger(open_ledger: OpenLedger) -> AnyLedger:
    opened = await open_ledger()
    await opened.subscribe(HOOKS)
    return opened


async def owed(ledger: AnyLedger) -> list[tuple[str, str, str]]:
    """(event type, subject, endpoint) of every delivery, oldest event first."""
    found = await ledger.list_deliveries(limit=1000)
    return sorted(((d.event_type, d.subject, d.endpoint) for d in found), key=str)


async def test_a_finished_run_owes_its_event_to_each_subscribed_endpoint(
    ledger: AnyLedger,
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
    ledger: AnyLedger, store: Store
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
    assert store.execute("SELECT count(*) FROM webhook_events") == [(1,)]


async def test_a_run_raises_its_event_once_however_often_it_is_saved_terminal(
    ledger: AnyLedger,
) -> None:
    """A second terminal update (the refresher reading a finished run again, a relayed
    Extend event after a poll saw it) raises nothing more."""
    record = await ledger.insert(make_record("r1"))
    done = completed(record.run)
    await ledger.update_run("local", "r1", done)
    await ledger.update_run("local", "r1", msgspec.structs.replace(done, metadata={"x": 1}))
    assert len(await ledger.list_deliveries()) == 2


async def test_every_path_that_ends_a_run_raises_its_event(ledger: AnyLedger) -> None:
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


async def test_a_failed_write_raises_no_event(ledger: AnyLedger) -> None:
    """A compare-and-set that loses (the run was cancelled first) raises only the cancel."""
    record = await ledger.insert(make_record("r1"))
    await ledger.request_cancel(ALICE, "local", "r1", T0)
    lost = await ledger.update_run(
        "local", "r1", completed(record.run), only_if_status_in=frozenset({S.running})
    )
    assert lost is None
    assert {t for t, _, _ in await owed(ledger)} == {"classify_run.cancelled"}


async def test_deliveries_are_leased_delivered_retried_and_killed(ledger: AnyLedger) -> None:
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


async def test_retry_revives_a_dead_delivery_with_a_fresh_window(ledger: AnyLedger) -> None:
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


async def test_retry_leaves_a_delivery_being_sent_to_its_dispatcher(
    ledger: AnyLedger,
) -> None:
    """`webhooks retry` during an attempt: the leased delivery is not reset, so no second
    dispatcher takes it and the first one's 200 is recorded; once the lease has run out,
    retry takes it again."""
    record = await ledger.insert(make_record("r1"))
    await ledger.update_run("local", "r1", completed(record.run), now=T0)
    [sending] = await ledger.claim_deliveries("w1", T0, 30, 10, limits={"a": 1})
    assert await ledger.retry_event(sending.event_id, T0) == 1  # only b's, not claimed
    [b] = await ledger.claim_deliveries("w2", T0, 30, 10)
    assert await ledger.delivered(sending, "w1", T0, 200)
    assert await ledger.retry_event(b.event_id, T0) == 0  # b is being sent by w2
    lapsed = T0 + timedelta(seconds=31)  # w2 died: its lease ran out
    assert await ledger.retry_event(b.event_id, lapsed) == 1
    [again] = await ledger.claim_deliveries("w3", lapsed, 30, 10)
    assert (again.endpoint, again.attempts) == ("b", 2)


async def test_what_is_owed_to_an_endpoint_no_longer_configured_is_dead_until_retried(
    ledger: AnyLedger,
) -> None:
    """Subscribing without b (b removed from the config) makes b's pending delivery dead,
    saying why; a's is left owed. With b configured again, retry makes it due now."""
    record = await ledger.insert(make_record("r1"))
    await ledger.update_run("local", "r1", completed(record.run), now=T0)
    await ledger.subscribe({"a": EVERY_RUN_EVENT})
    [dead] = await ledger.list_deliveries(state="dead")
    assert (dead.endpoint, dead.last_error) == ("b", "the endpoint is no longer configured")
    assert [d.endpoint for d in await ledger.list_deliveries(state="pending")] == ["a"]
    await ledger.subscribe(HOOKS)
    assert await ledger.retry_event(dead.event_id, T0) == 2
    assert {d.endpoint for d in await ledger.claim_deliveries("w1", T0, 30, 10)} == {"a", "b"}
    await ledger.subscribe({})
    assert len(await ledger.list_deliveries(state="dead")) == 2


async def test_a_damaged_delivery_is_dead_and_the_others_are_still_claimed(
    ledger: AnyLedger, store: Store
) -> None:
    """A row that cannot be read (an unknown kind written by hand or by a newer version) is
    made dead with its reason inside the claim; the claim hands out the others."""
    for i in range(2):
        record = await ledger.insert(make_record(f"r{i}"))
        await ledger.update_run("local", f"r{i}", completed(record.run), now=T0)
    store.execute("UPDATE webhook_events SET kind = 'mystery' WHERE subject = 'local:r0'")
    claimed = await ledger.claim_deliveries("w1", T0, 30, 10)
    assert {(d.subject, d.endpoint) for d in claimed} == {("local:r1", "a"), ("local:r1", "b")}
    dead = store.execute(
        "SELECT e.event_id, d.endpoint, d.last_error, d.claimed_by FROM webhook_deliveries d"
        " JOIN webhook_events e ON e.seq = d.event_seq WHERE d.state = 'dead'"
    )
    reason = f"the stored delivery cannot be read: webhook event {dead[0][0]} has an unknown kind"
    assert sorted(dead) == [(dead[0][0], name, f"{reason} or state", None) for name in "ab"]
    later = await ledger.claim_deliveries("w2", T0 + timedelta(hours=1), 30, 10)
    assert {d.subject for d in later} == {"local:r1"}  # the dead ones are not claimed again


async def test_claims_take_no_more_of_each_endpoint_than_its_limit(ledger: AnyLedger) -> None:
    """A dispatcher says how many more each endpoint may take: the claim keeps to each cap
    (oldest first per endpoint) and to the overall limit, and takes nothing of endpoints it
    does not name, so one slow endpoint's backlog never fills the claims others need."""
    for i in range(3):
        record = await ledger.insert(make_record(f"r{i}"))
        await ledger.update_run("local", f"r{i}", completed(record.run), now=T0)
    claimed = await ledger.claim_deliveries("w1", T0, 30, 10, limits={"a": 1, "b": 2})
    assert sorted((d.endpoint, d.subject) for d in claimed) == [
        ("a", "local:r0"),
        ("b", "local:r0"),
        ("b", "local:r1"),
    ]
    [only_b] = await ledger.claim_deliveries("w1", T0, 30, 10, limits={"b": 5, "a": 0})
    assert (only_b.endpoint, only_b.subject) == ("b", "local:r2")
    assert await ledger.claim_deliveries("w1", T0, 30, 10, limits={}) == ()
    assert len(await ledger.claim_deliveries("w1", T0, 30, 1, limits={"a": 5})) == 1


async def test_a_relayed_event_keeps_its_id_and_is_raised_once(ledger: AnyLedger) -> None:
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


async def test_two_dispatchers_never_take_the_same_delivery(open_ledger: OpenLedger) -> None:
    """Concurrent claims through two handles on one store hand each due delivery out once."""
    one, two = await open_ledger(), await open_ledger()
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
    open_ledger: OpenLedger,
) -> None:
    """`on_event` rings after writes that end a run (and not after others)."""
    rung: list[int] = []
    async with await open_ledger(on_event=lambda: rung.append(1)) as ledger:
        record = await ledger.insert(make_record("r1"))
        assert rung == []
        await ledger.update_run("local", "r1", completed(record.run))
        assert rung == [1]
