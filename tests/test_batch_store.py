"""The ledger's batches: a batch and its inputs written together, inputs leased one at a
time to batch workers, an input marked created by the very insert of its run (and never given
a second run), refused inputs recorded as failed runs, and listings by batch walking their
own index."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
import pytest

from gateway.store import DuplicateRun
from gateway.store.base import BatchLedger
from gateway.store.batch_records import BatchRecord
from gateway.store.records import RunRecord, never_created, not_created_id
from gateway.store.sqlite.filters import Scan, ordered_sql
from mappings import canonical
from tests.stores import AnyLedger, Store
from tests.test_store import ALICE, BOB, T0, make_record

B = canonical.BatchStatus


def batch(batch_id: str = "bpr_one", runs: int = 3, owner: str = ALICE) -> BatchRecord:
    return BatchRecord(
        id=batch_id,
        owner=owner,
        backend="local",
        status=B.pending,
        run_count=runs,
        created_at=T0,
        updated_at=T0,
    )


def run_of(
    upstream_id: str,
    batch_id: str,
    index: int,
    *,
    status: canonical.Status = canonical.Status.queued,
    created_at: datetime = T0,
) -> RunRecord:
    made = make_record(upstream_id, status=status, created_at=created_at)
    return msgspec.structs.replace(made, batch_id=batch_id, batch_input=index)


async def test_inputs_are_leased_one_at_a_time_in_order(ledger: AnyLedger) -> None:
    """Each claim takes the oldest input no live lease holds; a lapsed lease is taken again,
    counting the attempt; the batch is processing from the first claim."""
    typed: BatchLedger = ledger
    await typed.insert_batch(batch(), [b"{}", b"{}", b"{}"])
    assert (await typed.get_batch(ALICE, "bpr_one") or batch()).status is B.pending
    first = await typed.claim_batch_input("w1", 30, T0)
    second = await typed.claim_batch_input("w2", 30, T0)
    assert (first and first.index, second and second.index) == (0, 1)
    assert (await typed.get_batch(ALICE, "bpr_one") or batch()).status is B.processing
    assert await typed.get_batch(BOB, "bpr_one") is None
    later = T0 + timedelta(seconds=31)
    retaken = await typed.claim_batch_input("w3", 30, later)
    assert (retaken and retaken.index, retaken and retaken.attempts) == (0, 2)
    assert not await typed.extend_batch_lease("bpr_one", 0, "w1", 30, later)  # w1 lost it


async def test_a_run_insert_marks_its_input_created_and_only_once(ledger: AnyLedger) -> None:
    """Recording the run of an input marks it created in the same statement: it is never
    claimed again, and a second run for it is refused whole (DuplicateRun), not recorded."""
    await ledger.insert_batch(batch(runs=1), [b"{}"])
    claimed = await ledger.claim_batch_input("w1", 30, T0)
    assert claimed is not None
    await ledger.insert(run_of("r1", "bpr_one", 0))
    assert await ledger.claim_batch_input("w2", 30, T0 + timedelta(minutes=5)) is None
    with pytest.raises(DuplicateRun):
        await ledger.insert(run_of("r2", "bpr_one", 0))
    assert await ledger.find("local", "r2") is None
    assert not await ledger.release_batch_input("bpr_one", 0, "w1", T0)


async def test_a_refused_input_is_a_failed_run_that_settles_the_batch(
    ledger: AnyLedger,
) -> None:
    """The failed run is recorded for the input, known as never created; with every input
    refused the batch has FAILED. A refusal of an input no longer pending records nothing."""
    await ledger.insert_batch(batch(runs=1), [b"{}"])
    await ledger.claim_batch_input("w1", 30, T0)
    error = canonical.RunError(code="FAILED_TO_PROCESS_FILE", message="unreadable")
    failed = run_of(not_created_id("bpr_one", 0), "bpr_one", 0, status=canonical.Status.failed)
    failed = msgspec.structs.replace(failed, run=msgspec.structs.replace(failed.run, error=error))

    assert await ledger.refuse_batch_input(failed, T0)
    assert not await ledger.refuse_batch_input(failed, T0)

    stored = await ledger.find("local", failed.upstream_id)
    assert stored is not None
    assert never_created(stored)
    assert (await ledger.get_batch(ALICE, "bpr_one") or batch()).status is B.failed


async def test_a_batch_listing_walks_its_own_index_and_pages(
    ledger: AnyLedger, store: Store
) -> None:
    """`batch_id` selects the batch's runs only, with the other filters and paging; the
    query walks `runs_owner_batch` (no scan of the owner's other runs)."""
    await ledger.insert_batch(batch(runs=5), [b"{}"] * 5)
    for i in range(5):
        status = canonical.Status.failed if i == 2 else canonical.Status.queued
        created = T0 + timedelta(seconds=i)
        await ledger.insert(run_of(f"b{i}", "bpr_one", i, status=status, created_at=created))
    for i in range(5):
        await ledger.insert(make_record(f"x{i}"))
    query = canonical.ListQuery(batch_id="bpr_one", limit=2, order="asc")

    first = await ledger.list(ALICE, query)
    rest = await ledger.list(ALICE, query, cursor=("local", "b1"))
    failed = await ledger.list(
        ALICE, msgspec.structs.replace(query, status=canonical.Status.failed)
    )

    assert [r.upstream_id for r in first.records] == ["b0", "b1"]
    assert first.has_more_after
    assert [r.upstream_id for r in rest.records] == ["b2", "b3"]
    assert [r.upstream_id for r in failed.records] == ["b2"]
    assert (await ledger.list(BOB, query)).records == ()
    if store.kind != "sqlite":
        return  # the plan below is SQLite's EXPLAIN QUERY PLAN
    sql, params = ordered_sql(Scan(ALICE, query, ascending=True), 3)
    plan = " ".join(row[3] for row in store.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "runs_owner_batch" in plan
    assert "TEMP B-TREE" not in plan
