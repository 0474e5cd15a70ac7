"""`restart_side` on both stores (tests/stores.py): a side with no run starts again (a resumed
replay sends its document once more), its failure forgotten and its comparison reopened; a side
that has a run, or no such side, is left alone; and an expected label set again."""

from __future__ import annotations

from mappings import canonical
from tests.stores import AnyLedger
from tests.test_store import make_record
from tests.test_store_comparisons import T1, T2, T3, comparison, stored


async def test_a_failed_side_starts_again_and_its_comparison_reopens(
    ledger: AnyLedger,
) -> None:
    await ledger.insert(make_record("r1", status=canonical.Status.completed))
    await ledger.insert_comparison(comparison())
    assert await ledger.fail_side("cmp_1", "retab", "upstream 500", T1)
    assert (await stored(ledger)).completed

    assert await ledger.restart_side("cmp_1", "retab", T2)
    again = await stored(ledger)
    assert again.completed_at is None
    assert again.sides[1].started_at == T2
    assert again.sides[1].finished_at is None
    assert again.sides[1].error is None
    assert again.sides[0].finished  # the other side untouched


async def test_a_side_with_a_run_or_no_such_side_is_not_restarted(ledger: AnyLedger) -> None:
    await ledger.insert(make_record("r1", status=canonical.Status.completed))
    await ledger.insert_comparison(comparison())
    before = await stored(ledger)
    assert not await ledger.restart_side("cmp_1", "local", T3)
    assert not await ledger.restart_side("cmp_1", "extend", T3)
    assert not await ledger.restart_side("cmp_nope", "retab", T3)
    assert await stored(ledger) == before


async def test_a_comparisons_expected_label_is_set_again(ledger: AnyLedger) -> None:
    """A replay rerun with another labels file: the label changes, or is cleared."""
    await ledger.insert(make_record("r1", status=canonical.Status.completed))
    await ledger.insert_comparison(comparison())
    assert await ledger.set_expected("cmp_1", "receipt")
    assert (await stored(ledger)).expected == "receipt"
    assert await ledger.set_expected("cmp_1", None)
    assert (await stored(ledger)).expected is None
    assert not await ledger.set_expected("cmp_nope", "receipt")
