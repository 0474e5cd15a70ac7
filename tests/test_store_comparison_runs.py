"""The runs of A/B comparisons in the ledger on both stores (tests/stores.py): a comparison's
own run is linked to its side as it is recorded; any linked run ending, by whichever path ends
it, finishes its side in the same write, completing the comparison with its last side; a
comparison's own run raises no webhook event, while a client's run still does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from gateway.auth import Principal
from gateway.backends.factory import open_backends
from gateway.compare.from_ledger import answer_of
from gateway.config import Secret
from gateway.context import CallContext
from gateway.routing import Routing
from gateway.service.runs import RunService
from gateway.store import RunRecord, SqliteLedger
from mappings import canonical
from tests.harness import local_settings
from tests.stores import AnyLedger, OpenLedger
from tests.test_store import ALICE, CONFIG, T0, completed, make_record
from tests.test_store_comparison_listing import shadow_run
from tests.test_store_comparisons import comparison, side, stored

S = canonical.Status
T1, T2, T3 = (T0 + timedelta(seconds=n) for n in (1, 2, 3))
EVERY_RUN_EVENT = ("classify_run.processed", "classify_run.failed", "classify_run.cancelled")


@pytest.fixture
async def ledger(open_ledger: OpenLedger) -> AnyLedger:
    opened = await open_ledger()
    await opened.subscribe({"hook": EVERY_RUN_EVENT})
    return opened


async def test_a_comparison_s_run_is_linked_to_its_side_as_it_is_recorded(
    ledger: AnyLedger,
) -> None:
    """Inserting a run for a comparison names it as its backend's side's run; a second run
    for a side that has one, or for a comparison not recorded, links nothing. (A run for a
    side failed before it had one reopens it: test_store_comparison_sides.py.)"""
    await ledger.insert(make_record("r1"))
    await ledger.insert_comparison(
        comparison("cmp_1", side("local", "r1"), side("retab"), side("extend"))
    )

    first = await ledger.insert(shadow_run("s1", backend="retab"))
    await ledger.insert(shadow_run("s2", backend="retab"))
    await ledger.insert(shadow_run("s4", "cmp_unknown", backend="retab"))

    sides = (await stored(ledger)).sides
    assert [s.upstream_id for s in sides] == ["r1", "s1", None]
    assert sides[1].run == first.run
    assert first.comparison == "cmp_1"
    assert await ledger.find("retab", "s1") == first


EndRun = Callable[[AnyLedger, RunRecord], Awaitable[object]]


async def by_update(ledger: AnyLedger, record: RunRecord) -> object:
    return await ledger.update_run(
        record.backend, record.upstream_id, completed(record.run), now=T2
    )


async def by_worker(ledger: AnyLedger, record: RunRecord) -> object:
    claimed = await ledger.claim("w1", 30, T1, backends=(record.backend,))
    assert claimed is not None
    return await ledger.finish("local", record.upstream_id, "w1", completed(claimed.run), now=T2)


async def by_cancel(ledger: AnyLedger, record: RunRecord) -> object:
    return await ledger.request_cancel(ALICE, record.backend, record.upstream_id, T2)


async def by_recovery(ledger: AnyLedger, record: RunRecord) -> object:
    assert await ledger.claim("w1", 1, T0, backends=(record.backend,)) is not None
    return await ledger.recover(T2, max_attempts=1)  # its worker went away, out of attempts


async def by_claim(ledger: AnyLedger, record: RunRecord) -> object:
    assert await ledger.claim("w1", 1, T0, backends=(record.backend,)) is not None
    return await ledger.claim("w2", 1, T2, backends=(record.backend,), max_attempts=1)


@pytest.mark.parametrize("end", [by_update, by_worker, by_cancel, by_recovery, by_claim])
@pytest.mark.parametrize("own", [True, False], ids=["own-run", "client-run"])
async def test_a_run_ending_by_any_path_finishes_its_side(
    ledger: AnyLedger, end: EndRun, own: bool
) -> None:
    """A comparison's own run or a client's run linked as the primary: reaching a terminal
    status (a poll's update, a worker's finish, a cancel, recovery, a claim giving up)
    finishes its side at that time; the other side still waits, so the comparison is not
    complete."""
    if own:
        await ledger.insert_comparison(comparison("cmp_1", side("local"), side("retab")))
        record = await ledger.insert(shadow_run("r1"))
    else:
        record = await ledger.insert(make_record("r1"))
        await ledger.insert_comparison(comparison("cmp_1", side("local", "r1"), side("retab")))
    assert (await stored(ledger)).sides[0].finished_at is None

    await end(ledger, record)

    found = await stored(ledger)
    assert found.sides[0].finished_at == T2
    assert found.sides[0].run is not None
    assert found.sides[0].run.status.terminal
    assert not found.completed


async def test_a_run_recorded_ended_finishes_its_side_and_the_last_completes(
    ledger: AnyLedger,
) -> None:
    """A comparison's run inserted terminal (a sync run) finishes its side in the insert;
    the comparison completes only with its last side, at that side's end, once."""
    client = await ledger.insert(make_record("r1"))
    await ledger.insert_comparison(
        comparison("cmp_1", side("local", "r1"), side("retab"), side("extend"))
    )
    ended = msgspec.structs.replace(shadow_run("s1", backend="retab", status=S.completed))
    await ledger.insert(msgspec.structs.replace(ended, updated_at=T1))
    assert [s.finished_at for s in (await stored(ledger)).sides] == [None, T1, None]

    await ledger.update_run("local", "r1", completed(client.run), now=T2)
    assert not (await stored(ledger)).completed
    await ledger.insert(shadow_run("s2", backend="extend"))
    await ledger.update_run("extend", "s2", completed(client.run), now=T3)
    done = await stored(ledger)
    assert [s.finished_at for s in done.sides] == [T2, T1, T3]
    assert done.completed_at == T3
    await ledger.update_run("local", "r1", client.run, now=T3 + timedelta(seconds=9))
    await ledger.update_run("local", "r1", completed(client.run), now=T3 + timedelta(days=1))
    assert await stored(ledger) == done  # a side finishes once: it is not moved again


async def test_a_comparison_s_run_raises_no_event_but_a_client_s_still_does(
    ledger: AnyLedger,
) -> None:
    """With an endpoint subscribed to every run event, the client's primary run ending owes
    its event; the comparison's own run ending (inserted ended, or updated) owes none."""
    client = await ledger.insert(make_record("r1"))
    await ledger.insert_comparison(
        comparison("cmp_1", side("local", "r1"), side("retab"), side("extend"))
    )
    await ledger.insert(shadow_run("s1", backend="retab", status=S.failed))
    queued = await ledger.insert(shadow_run("s2", backend="extend"))
    await ledger.update_run("extend", "s2", completed(queued.run), now=T1)
    await ledger.update_run("local", "r1", completed(client.run), now=T2)

    owed = [(d.subject, d.event_type) for d in await ledger.list_deliveries(limit=100)]
    assert owed == [("local:r1", "classify_run.processed")]
    assert (await stored(ledger)).completed_at == T2


async def test_run_service_records_a_run_made_for_a_comparison(tmp_path: Path) -> None:
    """`RunService.create(..., comparison=...)` records the run for the comparison: linked to
    its side and finished with it (a sync local run), unlisted, and owing no event."""
    settings = local_settings(tmp_path)
    async with open_backends(settings, {}) as opened:
        ledger = opened.ledger
        assert isinstance(ledger, SqliteLedger)
        await opened.outbox.subscribe({"hook": EVERY_RUN_EVENT})
        await ledger.insert_comparison(comparison("cmp_1", side("local"), owner="o1"))
        runs = RunService(ledger=ledger, routing=Routing(opened.backends, default="local"))
        call = CallContext(
            request_id="req_1", principal=Principal(owner="o1", key=Secret("")), surface="retab"
        )
        request = canonical.ClassifyRequest(
            document=canonical.TextDocument(text="INVOICE No. 1", filename="a.txt"),
            config=canonical.RunConfig(categories=(canonical.Category(key=None, name="x"),)),
        )
        served = await runs.create(request, opened.backends["local"], call=call, comparison="cmp_1")
        record = await ledger.find("local", served.run.id)
        found = await ledger.get_comparison("o1", "cmp_1")
        listed = await ledger.list("o1", canonical.ListQuery())
        assert await opened.outbox.list_deliveries() == ()
    assert record is not None
    assert record.comparison == "cmp_1"
    assert found is not None
    assert found.completed
    assert found.sides[0].upstream_id == served.run.id
    assert listed.records == ()


async def test_a_deleted_run_leaves_its_side_the_run_as_it_ended(ledger: AnyLedger) -> None:
    """A client's run deleted after it ended keeps its side's answer: the copy the side kept
    as it finished, with its finishing time; the report reads it as the answer it was."""
    record = await ledger.insert(make_record("r1"))
    await ledger.insert_comparison(comparison("cmp_1", side("local", "r1")))
    ended = await ledger.update_run("local", "r1", completed(record.run), now=T2)
    assert ended is not None
    assert await ledger.delete(ALICE, "local", "r1")
    [only] = (await stored(ledger)).sides
    assert (only.upstream_id, only.run, only.finished_at, only.error) == ("r1", ended.run, T2, None)
    assert not answer_of(only, CONFIG.categories).failed
