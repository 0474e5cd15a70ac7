"""Runs made for A/B comparisons in the ledger on both stores (tests/stores.py): never listed to
their owner, whatever the filters, through listing indexes that hold client runs only (schema
8); reads by id and the refresher's walk still find them. A schema-7 file upgrades in place."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from gateway.store import RunRecord, SqliteLedger
from gateway.store.batch_records import BatchRecord
from gateway.store.sqlite import SCHEMA_VERSION
from gateway.store.sqlite.filters import Scan, ordered_sql
from gateway.store.sqlite.schema import MIGRATIONS
from gateway.store.sqlite.writes import INSERT, insert_params
from mappings import canonical
from tests.stores import AnyLedger
from tests.test_store import ALICE, T0, ids, make_record

S = canonical.Status
T1, T2 = T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)


def shadow_run(
    upstream_id: str,
    comparison_id: str = "cmp_1",
    *,
    backend: str = "local",
    status: S = S.queued,
    filename: str = "a.pdf",
    created_at: datetime = T0,
) -> RunRecord:
    made = make_record(
        upstream_id, backend=backend, status=status, filename=filename, created_at=created_at
    )
    return msgspec.structs.replace(made, comparison=comparison_id)


async def test_listings_never_show_a_comparison_s_run(ledger: AnyLedger) -> None:
    """Every filter, both directions from a cursor, and both ways a substring is searched
    (the walk and the trigram index, a NUL name too) list the client's runs only; a cursor
    naming a comparison's run is unknown. Reads by id and the refresher's walk find it."""
    for i in range(70):  # more than a walk's first batch: a rare needle is found by the index
        await ledger.insert(make_record(f"c{i:02}", filename=f"other-{i:02}.pdf", created_at=T2))
    await ledger.insert(make_record("needle", filename="Needle.pdf", created_at=T0))
    await ledger.insert(shadow_run("s1", filename="needle-shadow.pdf", created_at=T1))
    await ledger.insert(shadow_run("s2", filename="a.pdf", status=S.failed, created_at=T1))
    await ledger.insert(shadow_run("s3", filename="needle\x00.pdf", created_at=T1))

    async def listed(cursor: tuple[str, str] | None = None, **query: Any) -> list[str]:
        page = await ledger.list(ALICE, canonical.ListQuery(**query), cursor=cursor)
        return ids(page.records)

    assert len(await listed(limit=100)) == 71
    assert await listed(filename_contains="needle", limit=5) == ["needle"]
    assert await listed(filename_contains="ne", limit=5) == ["needle"]  # walked only
    assert await listed(filename="needle-shadow.pdf") == []
    assert await listed(filename="a.pdf") == []
    assert await listed(status=S.failed) == []
    assert await listed(created_from=T1, created_to=T1) == []
    assert await listed(order="asc", limit=2) == ["needle", "c00"]
    assert await listed(("local", "c00"), order="asc", direction="before") == ["needle"]
    assert await listed(("local", "s1"), order="asc") == []
    assert await ledger.get(ALICE, "local", "s1") is not None
    unfinished = await ledger.unfinished("local", limit=100)
    assert {"s1", "s3"} <= set(ids(unfinished))


async def test_a_batch_listing_never_shows_a_comparison_s_run(ledger: AnyLedger) -> None:
    """`batch_id` selects the batch's client runs only."""
    batch = BatchRecord(
        id="bpr_one",
        owner=ALICE,
        backend="local",
        status=canonical.BatchStatus.pending,
        run_count=2,
        created_at=T0,
        updated_at=T0,
    )
    await ledger.insert_batch(batch, [b"{}", b"{}"])
    client = msgspec.structs.replace(make_record("b0"), batch_id="bpr_one", batch_input=0)
    shadowed = msgspec.structs.replace(shadow_run("b1"), batch_id="bpr_one", batch_input=1)
    await ledger.insert(client)
    await ledger.insert(shadowed)
    page = await ledger.list(ALICE, canonical.ListQuery(batch_id="bpr_one"))
    assert ids(page.records) == ["b0"]


def plan(path: Path, scan: Scan) -> str:
    sql, params = ordered_sql(scan, 11)
    with closing(sqlite3.connect(path)) as conn:
        return " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (canonical.ListQuery(), "runs_owner_created"),
        (canonical.ListQuery(status=S.completed), "runs_owner_status"),
        (canonical.ListQuery(filename="a.pdf"), "runs_owner_filename_created"),
        (canonical.ListQuery(batch_id="bpr_one"), "runs_owner_batch"),
    ],
)
async def test_listings_walk_indexes_that_hold_client_runs_only(
    tmp_path: Path, query: canonical.ListQuery, index: str
) -> None:
    """Each listing walks its (partial) index in order, reading no comparison run: no sort,
    and no read of the table beside the index. (SQLite's query plan: SQLite only.)"""
    async with await SqliteLedger.open(str(tmp_path / "ledger.db")):
        pass
    shown = plan(tmp_path / "ledger.db", Scan(ALICE, query, False))
    assert f"COVERING INDEX {index}" in shown
    assert "TEMP B-TREE" not in shown


# Upgrading an old SQLite file: SQLite only.
@contextmanager
def old_ledger(path: Path, version: int) -> Iterator[sqlite3.Connection]:
    """A ledger file as crosswalk wrote it at schema `version`, in a write transaction for
    the caller to fill, committed as the block ends."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for statements in MIGRATIONS[:version]:
            for statement in statements:
                conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        yield conn
        conn.execute("COMMIT")


def write_schema_7(path: Path, record: RunRecord) -> None:
    """A ledger file as crosswalk wrote it at schema 7, holding `record`."""
    with old_ledger(path, 7) as conn:
        columns = INSERT.replace(", comparison_id)", ")").replace(", ?)", ")", 1)
        conn.execute(columns, insert_params(record)[:-1])


async def test_a_schema_7_ledger_is_upgraded_and_its_runs_stay_listed(tmp_path: Path) -> None:
    """Opening a schema-7 file brings it to schema 8: its runs are client runs, still listed
    through the rebuilt (partial) indexes, and the comparisons' tables are there."""
    path = tmp_path / "ledger.db"
    old = make_record("r1", created_at=datetime(2025, 6, 1, tzinfo=UTC))
    write_schema_7(path, old)
    async with await SqliteLedger.open(str(path)) as ledger:
        assert ids((await ledger.list(ALICE, canonical.ListQuery())).records) == ["r1"]
        kept = await ledger.get(ALICE, "local", "r1")
    assert kept is not None
    assert kept.comparison is None
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        partial = {row[1]: row[4] for row in conn.execute("PRAGMA index_list(runs)")}
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"comparisons", "comparison_sides"} <= tables
    assert partial["runs_owner_created"] == partial["runs_owner_filename_created"] == 1
