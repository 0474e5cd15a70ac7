"""The edges of a comparison's side in the ledger on both stores (tests/stores.py): a linked run
deleted before it ended fails its side (and the sweep fails one a file kept waiting on a run
gone), a side keeps a copy of its run as it finished, only the comparison's owner's runs are
its sides' runs, a comparison completes when its last side finished, a run turning up for a
side failed before it had one reopens it, the listing by owner and time walks one index, and
a refusal of the file's constraints other than a known id is not a duplicate."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import cast

import msgspec
import pytest
from structlog.testing import capture_logs

from gateway.store import SqliteLedger
from gateway.store.comparison_ledger import DuplicateComparison
from gateway.store.sql import CONSTRAINT_ERRORS
from gateway.store.sqlite import SCHEMA_VERSION, comparisons
from gateway.store.sqlite.schema import MIGRATIONS
from gateway.store.sqlite.writes import INSERT, insert_params
from mappings import canonical
from tests.stores import AnyLedger, OpenLedger, Store
from tests.test_store import ALICE, BOB, T0, completed, make_record
from tests.test_store_comparison_listing import old_ledger, shadow_run
from tests.test_store_comparisons import comparison, side, stored

S = canonical.Status
T1, T2, T3 = (T0 + timedelta(seconds=n) for n in (1, 2, 3))
DELETED_AT = T0 + timedelta(minutes=5)


@pytest.fixture
async def ledger(open_ledger: OpenLedger) -> AnyLedger:
    return await open_ledger(clock=lambda: DELETED_AT)


async def test_deleting_a_run_not_ended_fails_its_side_and_completes_the_comparison(
    ledger: AnyLedger,
) -> None:
    """A client's run deleted while still queued will never end: its side is failed as
    deleted in the delete's own write, and the comparison, that side being its last, is
    completed then."""
    await ledger.insert(make_record("r1"))
    await ledger.insert_comparison(comparison("cmp_1", side("local", "r1"), side("retab")))
    await ledger.fail_side("cmp_1", "retab", "HTTP 503", T1)

    assert await ledger.delete(ALICE, "local", "r1")

    found = await stored(ledger)
    primary = found.sides[0]
    assert (primary.error, primary.finished_at, primary.run) == ("deleted", DELETED_AT, None)
    assert found.completed_at == DELETED_AT
    assert not await ledger.delete(ALICE, "local", "r1")


async def test_the_sweep_fails_a_side_whose_run_is_gone(ledger: AnyLedger, store: Store) -> None:
    """A side left waiting on a run no longer in the ledger (deleted by a process older than
    this fix) is failed by the stale sweep as deleted; a side whose run is there still
    waits."""
    await ledger.insert(make_record("r1"))
    await ledger.insert(make_record("r2"))
    await ledger.insert_comparison(comparison("cmp_1", side("local", "r1")))
    await ledger.insert_comparison(comparison("cmp_2", side("local", "r2")))
    store.execute("DELETE FROM runs WHERE upstream_id = 'r1'")

    assert await ledger.fail_stale_sides(T1, T3) == 1

    gone, kept = await stored(ledger, "cmp_1"), await stored(ledger, "cmp_2")
    assert (gone.sides[0].error, gone.sides[0].finished_at, gone.completed_at) == (
        "deleted",
        T3,
        T3,
    )
    assert kept.sides[0].finished_at is None
    assert await ledger.fail_stale_sides(T1, T3) == 0


async def test_a_side_keeps_its_run_as_it_finished(ledger: AnyLedger) -> None:
    """Deleting a run after its side finished leaves the side the run as it ended: for a
    primary ended before its comparison was recorded, and for a comparison's own run ended
    later. While the run is there, the side reads it live."""
    primary = await ledger.insert(make_record("r1", status=S.completed, created_at=T1))
    await ledger.insert_comparison(comparison("cmp_1", side("local", "r1"), side("retab")))
    own = await ledger.insert(shadow_run("s1", backend="retab"))
    ended = await ledger.update_run("retab", "s1", completed(own.run), now=T2)
    assert ended is not None
    relabelled = msgspec.structs.replace(ended.run, decision=None, status=S.failed)
    await ledger.update_run("retab", "s1", relabelled, now=T3)
    assert (await stored(ledger)).sides[1].run == relabelled  # the live run while it exists

    assert await ledger.delete(ALICE, "local", "r1")
    assert await ledger.delete(ALICE, "retab", "s1")

    found = await stored(ledger)
    assert [s.run for s in found.sides] == [primary.run, ended.run]
    assert [s.finished_at for s in found.sides] == [T1, T2]
    assert [s.error for s in found.sides] == [None, None]


# Upgrading an old SQLite file: SQLite only.
async def test_a_schema_8_ledger_gets_copies_of_its_finished_sides_runs(tmp_path: Path) -> None:
    """Opening a schema-8 file brings it to the current schema; a side finished there gets a
    copy of its run, which outlives the run."""
    path = tmp_path / "ledger.db"
    record = make_record("r1", status=S.completed)
    with old_ledger(path, 8) as conn:
        conn.execute(INSERT, insert_params(record))
        conn.execute(
            "INSERT INTO comparisons (id, owner, source, document, categories, created_us, "
            "completed_us) VALUES ('cmp_1', ?, 'shadow', 'ab', '[]', 0, 1)",
            (ALICE,),
        )
        conn.execute(
            "INSERT INTO comparison_sides (comparison_id, position, backend, upstream_id, "
            "started_us, finished_us) VALUES ('cmp_1', 0, 'local', 'r1', 0, 1)"
        )
    async with await SqliteLedger.open(str(path)) as ledger:
        assert await ledger.delete(ALICE, "local", "r1")
        found = await stored(ledger)
    assert found.sides[0].run == record.run
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


async def test_another_owner_s_run_is_never_a_side_s_run(ledger: AnyLedger) -> None:
    """Bob's run naming Alice's comparison links to nothing (logged); Bob's ended run named
    by Alice's primary side neither finishes it nor is read through it."""
    await ledger.insert(make_record("b1", owner=BOB, status=S.completed))
    await ledger.insert_comparison(comparison("cmp_1", side("local", "b1"), side("retab")))
    bobs = msgspec.structs.replace(shadow_run("b2", backend="retab"), owner=BOB)

    with capture_logs() as logs:
        await ledger.insert(bobs)

    found = await stored(ledger)
    assert [(s.upstream_id, s.finished_at, s.run) for s in found.sides] == [
        ("b1", None, None),
        (None, None, None),
    ]
    assert logs == [
        {
            "event": "comparisons.unlinked_run",
            "backend": "retab",
            "comparison": "cmp_1",
            "log_level": "warning",
        }
    ]
    await ledger.update_run("retab", "b2", completed(bobs.run), now=T2)
    assert (await stored(ledger)).sides[1].finished_at is None


async def test_a_comparison_completes_when_its_last_side_finished(ledger: AnyLedger) -> None:
    """The last write may carry an earlier clock than a side finished at (another process's):
    the comparison is completed at its sides' latest end, never before one."""
    record = await ledger.insert(make_record("r1"))
    await ledger.insert_comparison(comparison("cmp_1", side("local", "r1"), side("retab")))
    await ledger.update_run("local", "r1", completed(record.run), now=T3)
    await ledger.fail_side("cmp_1", "retab", "HTTP 503", T2)

    found = await stored(ledger)
    assert [s.finished_at for s in found.sides] == [T3, T2]
    assert found.completed_at == T3


@pytest.mark.parametrize("ended", [True, False], ids=["sync", "background"])
async def test_a_run_turning_up_for_a_failed_side_reopens_it(
    ledger: AnyLedger, ended: bool
) -> None:
    """A side failed before it had a run (a slow vendor past the shadow's deadline) whose
    run is recorded after all is linked to it and reopened: the comparison is no longer
    complete until that run ends, then completes at its end with the run as its answer."""
    await ledger.insert(make_record("r1", status=S.completed))
    await ledger.insert_comparison(comparison("cmp_1", side("local", "r1"), side("retab")))
    await ledger.fail_side("cmp_1", "retab", "timeout", T1)
    assert (await stored(ledger)).completed_at == T1

    late = shadow_run("s1", backend="retab", status=S.completed if ended else S.queued)
    inserted = await ledger.insert(msgspec.structs.replace(late, updated_at=T2))
    if not ended:
        reopened = await stored(ledger)
        assert (reopened.sides[1].upstream_id, reopened.sides[1].error) == ("s1", None)
        assert reopened.sides[1].finished_at is None
        assert not reopened.completed
        assert await ledger.update_run("retab", "s1", completed(inserted.run), now=T2)

    found = await stored(ledger)
    assert (found.sides[1].upstream_id, found.sides[1].error, found.sides[1].finished_at) == (
        "s1",
        None,
        T2,
    )
    assert found.sides[1].run is not None
    assert found.sides[1].run.id == inserted.upstream_id
    assert found.completed_at == T2


# SQLite's own query plan and index list: SQLite only.
def test_a_listing_by_owner_and_time_walks_the_owner_s_seq_index(tmp_path: Path) -> None:
    """`comparisons(owner, since=...)` walks `comparisons_owner_seq` in order (no sort); the
    index by creation time it never used is gone."""
    with closing(sqlite3.connect(tmp_path / "ledger.db", isolation_level=None)) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for statements in MIGRATIONS:
            for statement in statements:
                conn.execute(statement)
        ran: list[str] = []
        conn.set_trace_callback(ran.append)
        comparisons.listing(conn, ALICE, T1, 0, 10)
        conn.set_trace_callback(None)
        head = next(sql for sql in ran if "FROM comparisons " in sql)
        plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {head}"))
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(comparisons)")}
    assert "USING INDEX comparisons_owner_seq" in plan
    assert "TEMP B-TREE" not in plan
    assert "comparisons_owner_created" not in indexes


async def test_a_refusal_other_than_a_known_id_is_no_duplicate(ledger: AnyLedger) -> None:
    """A comparison the file's constraints refuse for another reason (a missing document)
    raises that refusal, not DuplicateComparison, and keeps nothing."""
    broken = msgspec.structs.replace(comparison(), document=cast(str, None))
    with pytest.raises(CONSTRAINT_ERRORS, match="document"):
        await ledger.insert_comparison(broken)
    assert await ledger.comparisons(None) == ()
    await ledger.insert_comparison(comparison())
    with pytest.raises(DuplicateComparison):
        await ledger.insert_comparison(comparison())
