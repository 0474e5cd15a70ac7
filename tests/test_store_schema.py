"""The ledger file's schema over time: a schema-1 file upgrades in place to the indexed and
searchable schema, and the trigram search index stays in step with every write.

SQLite only: these are SQLite's own files, migrations and FTS5 table (PostgreSQL's schema and
its migrations are tested in tests/test_postgres_ledger.py)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import msgspec

from gateway.store import SqliteLedger
from gateway.store.sqlite import SCHEMA_VERSION
from gateway.store.sqlite.schema import MIGRATIONS, SEARCH_TABLE
from gateway.store.sqlite.writes import insert_params
from mappings import canonical
from tests.test_store import ALICE, completed, ids, make_record

LEGACY = 100  # more than a walk's first batch, so a rare name is found by the index
# a row as schema 1 held it: no batch columns (schema 6)
INSERT_V1 = (
    "INSERT INTO runs (key, owner, backend, upstream_id, surface, status, filename, "
    "filename_folded, created_us, updated_us, run, request, claimed_by, lease_until_us, "
    "attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def write_schema_1(path: str) -> None:
    """A ledger file as crosswalk wrote it at schema 1, holding LEGACY runs."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (1)")
        names = ["Legacy-Invoice.pdf", *(f"old-{i:03}.txt" for i in range(1, LEGACY))]
        records = [make_record(f"r{i:03}", filename=name) for i, name in enumerate(names)]
        conn.executemany(INSERT_V1, [insert_params(record)[:15] for record in records])
        conn.execute("COMMIT")


def searched(path: str, needle: str) -> list[int]:
    """The rows the trigram index names for `needle`, after checking it against `runs`."""
    with closing(sqlite3.connect(path)) as conn:
        # rank 1: also compare the index with the content of `runs` (external content)
        conn.execute(
            f"INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}, rank) VALUES ('integrity-check', 1)"
        )
        sql = f"SELECT rowid FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH ? ORDER BY rowid"
        return [row[0] for row in conn.execute(sql, (f'"{needle}"',))]


def indexes(path: str) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        return {row[1] for row in conn.execute("PRAGMA index_list(runs)")}


async def test_a_schema_1_ledger_is_upgraded_in_place_and_its_runs_are_searchable(
    tmp_path: Path,
) -> None:
    """Opening a schema-1 file moves it to the current version: the filename index that
    serves the order replaces the old one, and the runs already kept are in the trigram
    index, so listings find them by index; new runs are indexed as they come."""
    path = str(tmp_path / "ledger.db")
    write_schema_1(path)
    assert "runs_owner_filename" in indexes(path)
    async with await SqliteLedger.open(path) as ledger:
        by_substring = canonical.ListQuery(filename_contains="legacy-INV")
        assert ids((await ledger.list(ALICE, by_substring)).records) == ["r000"]
        by_name = canonical.ListQuery(filename="old-042.txt")
        assert ids((await ledger.list(ALICE, by_name)).records) == ["r042"]
        await ledger.insert(make_record("new", filename="New-Invoice.pdf"))
        invoices = canonical.ListQuery(filename_contains="invoice")
        assert ids((await ledger.list(ALICE, invoices)).records) == ["new", "r000"]
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert "runs_owner_filename" not in indexes(path)
    assert "runs_owner_filename_created" in indexes(path)
    assert len(searched(path, "old-")) == LEGACY - 1
    assert len(searched(path, "invoice")) == 2


async def test_the_search_index_follows_every_insert_rename_and_delete(tmp_path: Path) -> None:
    """Inserts, a run whose file turns out to have another name, saves that keep the name,
    and deletes all reach the trigram index in the same transaction as the row."""
    path = str(tmp_path / "ledger.db")
    async with await SqliteLedger.open(path) as ledger:
        first = await ledger.insert(make_record("r1", filename="Draft-Memo.txt"))
        second = await ledger.insert(make_record("r2", filename="Quarterly-Report.pdf"))
        await ledger.insert(make_record("r3", filename="Draft-Plan.txt"))
        assert searched(path, "draft-") == [first.seq, first.seq + 2]
        file = canonical.FileInfo(id="f1", filename="Final-Memo.txt", mime_type="text/plain")
        renamed = msgspec.structs.replace(completed(first.run), file=file)
        assert await ledger.update_run("local", "r1", renamed) is not None
        claimed = await ledger.claim("w1", 30, second.created_at, backends=("local",))
        assert claimed is not None  # a save that keeps the name
        assert await ledger.delete(ALICE, "local", "r3")
    assert searched(path, "draft-") == []
    assert searched(path, "final-memo") == [first.seq]
    assert searched(path, "quarterly") == [second.seq]
