"""A/B comparisons in the ledger on both stores (tests/stores.py): recorded with their sides,
read back per owner (every owner's for the operator) in `seq` order with each side's run, a side
whose run has ended finished at insert, sides failed before they had a run, and the comparison
completed with its last side."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
import pytest

from gateway.store.base import ComparisonLedger, DuplicateComparison, LedgerError
from gateway.store.comparison_records import ComparisonRecord, SideRecord
from mappings import canonical
from tests.stores import AnyLedger, Store
from tests.test_store import ALICE, BOB, T0, make_record

S = canonical.Status
T1, T2, T3 = (T0 + timedelta(seconds=n) for n in (1, 2, 3))
CATEGORIES = (
    canonical.Category(key="inv", name="Invoice", description="a bill"),
    canonical.Category(key=None, name="Receipt"),
)


def side(backend: str, upstream_id: str | None = None, started_at: datetime = T0) -> SideRecord:
    return SideRecord(backend=backend, started_at=started_at, upstream_id=upstream_id)


def comparison(
    comparison_id: str = "cmp_1",
    *sides: SideRecord,
    owner: str = ALICE,
    created_at: datetime = T0,
) -> ComparisonRecord:
    return ComparisonRecord(
        id=comparison_id,
        owner=owner,
        source="shadow",
        document="ab" * 32,
        categories=CATEGORIES,
        created_at=created_at,
        sides=sides or (side("local", "r1"), side("retab")),
        filename="invoice.pdf",
        expected="inv",
    )


async def stored(ledger: AnyLedger, comparison_id: str = "cmp_1") -> ComparisonRecord:
    found = await ledger.get_comparison(ALICE, comparison_id)
    assert found is not None
    return found


async def test_a_comparison_comes_back_whole_to_its_owner_only(ledger: AnyLedger) -> None:
    """Every field survives the round trip, `seq` is assigned, sides keep their order with
    each side's run joined from `runs`; another owner sees nothing, and an id is recorded
    once."""
    typed: ComparisonLedger = ledger
    client = await ledger.insert(make_record("r1"))
    inserted = await typed.insert_comparison(comparison())

    assert inserted.seq > 0
    assert inserted == msgspec.structs.replace(
        comparison(),
        seq=inserted.seq,
        sides=(msgspec.structs.replace(side("local", "r1"), run=client.run), side("retab")),
    )
    assert await typed.get_comparison(ALICE, "cmp_1") == inserted
    assert await typed.get_comparison(BOB, "cmp_1") is None
    assert await typed.get_comparison(ALICE, "cmp_other") is None
    with pytest.raises(DuplicateComparison):
        await typed.insert_comparison(comparison(owner=BOB))
    assert await typed.comparisons(None) == (inserted,)  # the refused one left nothing


async def test_two_sides_of_one_backend_are_refused_whole(ledger: AnyLedger) -> None:
    """A comparison naming a backend twice is an error, and nothing of it is kept."""
    with pytest.raises(ValueError, match="twice"):
        await ledger.insert_comparison(comparison("cmp_1", side("local"), side("local")))
    assert await ledger.comparisons(None) == ()
    await ledger.insert_comparison(comparison("cmp_1", side("local"), side("retab")))


async def test_listings_page_in_seq_order_per_owner_or_for_everyone(ledger: AnyLedger) -> None:
    """`comparisons` walks `seq` past `after`, up to `limit`, only the owner's (every owner's
    for None), created at or after `since`."""
    made = [
        await ledger.insert_comparison(
            comparison(f"cmp_{i}", side("local"), owner=ALICE if i % 2 else BOB, created_at=at)
        )
        for i, at in enumerate((T2, T0, T3, T1, T2))
    ]

    def ids(found: tuple[ComparisonRecord, ...]) -> list[str]:
        return [c.id for c in found]

    assert ids(await ledger.comparisons(None)) == [f"cmp_{i}" for i in range(5)]
    assert ids(await ledger.comparisons(ALICE)) == ["cmp_1", "cmp_3"]
    assert ids(await ledger.comparisons(BOB)) == ["cmp_0", "cmp_2", "cmp_4"]
    assert ids(await ledger.comparisons(BOB, since=T2)) == ["cmp_0", "cmp_2", "cmp_4"]
    assert ids(await ledger.comparisons(None, since=T2)) == ["cmp_0", "cmp_2", "cmp_4"]
    assert ids(await ledger.comparisons(ALICE, since=T1)) == ["cmp_3"]
    assert ids(await ledger.comparisons(None, limit=2)) == ["cmp_0", "cmp_1"]
    assert ids(await ledger.comparisons(None, after=made[1].seq, limit=2)) == ["cmp_2", "cmp_3"]
    assert ids(await ledger.comparisons(BOB, after=made[2].seq)) == ["cmp_4"]
    assert await ledger.comparisons(None, after=made[4].seq) == ()
    with pytest.raises(ValueError, match="limit"):
        await ledger.comparisons(None, limit=0)


async def test_a_listing_reads_many_comparisons_with_their_sides(ledger: AnyLedger) -> None:
    """Sides are read in batches of ids, each comparison getting its own, primary first."""
    for i in range(1203):
        await ledger.insert_comparison(comparison(f"cmp_{i:04}", side("retab"), side("local")))
    found = await ledger.comparisons(ALICE, limit=2000)
    assert len(found) == 1203
    assert all([s.backend for s in c.sides] == ["retab", "local"] for c in found)


async def test_a_primary_already_ended_is_finished_when_it_ended(ledger: AnyLedger) -> None:
    """A side whose run is terminal at insert is finished at that run's `updated_at`; the
    comparison completes then only if every side has finished, at the last one's end."""
    await ledger.insert(make_record("r1", status=S.completed, created_at=T1))
    await ledger.insert(make_record("r2", backend="retab", status=S.failed, created_at=T2))
    await ledger.insert(make_record("r3", status=S.running, created_at=T3))

    waiting = await ledger.insert_comparison(comparison("cmp_1", side("local", "r1"), side("x")))
    done = await ledger.insert_comparison(
        comparison("cmp_2", side("local", "r1"), side("retab", "r2"))
    )
    running = await ledger.insert_comparison(comparison("cmp_3", side("local", "r3")))

    assert [s.finished_at for s in waiting.sides] == [T1, None]
    assert not waiting.completed
    assert [s.finished_at for s in done.sides] == [T1, T2]
    assert done.completed_at == T2
    assert running.sides[0].finished_at is None
    assert not running.completed
    assert await stored(ledger, "cmp_2") == done


async def test_a_side_fails_only_before_it_has_a_run(ledger: AnyLedger) -> None:
    """`fail_side` finishes a side with no run, with its error, completing the comparison if
    it was the last; an unknown side, one with a run, or one finished already is left as it
    is (False)."""
    await ledger.insert(make_record("r1", status=S.completed, created_at=T1))
    await ledger.insert_comparison(
        comparison("cmp_1", side("local", "r1"), side("retab"), side("extend"))
    )

    assert not await ledger.fail_side("cmp_nope", "retab", "boom", T2)
    assert not await ledger.fail_side("cmp_1", "nope", "boom", T2)
    assert not await ledger.fail_side("cmp_1", "local", "boom", T2)  # it has a run
    assert await ledger.fail_side("cmp_1", "retab", "HTTP 503", T2)
    assert not await ledger.fail_side("cmp_1", "retab", "again", T3)  # finished already
    half = await stored(ledger)
    assert (half.sides[1].error, half.sides[1].finished_at, half.sides[1].run) == (
        "HTTP 503",
        T2,
        None,
    )
    assert not half.completed
    assert await ledger.fail_side("cmp_1", "extend", "timeout", T3)
    assert (await stored(ledger)).completed_at == T3


async def test_stale_sides_with_no_run_are_failed_as_interrupted(ledger: AnyLedger) -> None:
    """Only unfinished sides with no run that started before the cutoff are failed; each
    comparison left with every side finished is completed."""
    await ledger.insert(make_record("r1", backend="retab"))
    await ledger.insert_comparison(comparison("cmp_1", side("local", started_at=T0)))
    await ledger.insert_comparison(
        comparison("cmp_2", side("local", started_at=T0), side("retab", "r1", started_at=T0))
    )
    await ledger.insert_comparison(comparison("cmp_3", side("local", started_at=T2)))
    await ledger.insert_comparison(comparison("cmp_4", side("local", started_at=T0)))
    await ledger.fail_side("cmp_4", "local", "HTTP 400", T0)

    assert await ledger.fail_stale_sides(T1, T3) == 2
    one, two, three, four = [await stored(ledger, f"cmp_{i}") for i in range(1, 5)]
    assert (one.sides[0].error, one.sides[0].finished_at, one.completed_at) == (
        "interrupted",
        T3,
        T3,
    )
    assert two.sides[0].error == "interrupted"
    assert two.sides[1].finished_at is None  # its run goes on: the refresher finishes it
    assert not two.completed
    assert three.sides[0].finished_at is None
    assert four.sides[0].error == "HTTP 400"
    assert await ledger.fail_stale_sides(T1, T3) == 0


async def test_a_stored_comparison_naming_no_known_source_is_refused(
    ledger: AnyLedger, store: Store
) -> None:
    """A row whose source is neither shadow nor replay is an error when read."""
    await ledger.insert_comparison(comparison())
    store.execute("UPDATE comparisons SET source = 'mirror'")
    with pytest.raises(LedgerError, match="mirror"):
        await ledger.get_comparison(ALICE, "cmp_1")
