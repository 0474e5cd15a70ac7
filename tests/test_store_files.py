"""The file ledger on both stores (tests/stores.py): a schema-2 ledger upgraded in place, owner
scoping as for runs, keyset pages both ways, name filters, and copies at vendors (first one
wins)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.files.records import FileRecord
from gateway.store import SqliteLedger, owner_of
from gateway.store.base import DuplicateFile, FileLedger
from gateway.store.sqlite import SCHEMA_VERSION
from gateway.store.sqlite.schema import MIGRATIONS
from gateway.store.sqlite.writes import insert_params
from mappings.files import FileQuery, StoredFile, new_file_id
from tests.stores import AnyLedger
from tests.test_store import make_record
from tests.test_store_schema import INSERT_V1

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ALICE, BOB = owner_of("sk-alice"), owner_of("sk-bob")


def file_id(n: int) -> str:
    return new_file_id(n.to_bytes(16, "big"))


def make_file(
    n: int,
    *,
    owner: str = ALICE,
    name: str = "a.pdf",
    created_at: datetime = T0,
    password: str | None = None,
) -> FileRecord:
    stored = StoredFile(
        id=file_id(n),
        name=name,
        mime_type="application/pdf",
        size=n,
        sha256="0" * 64,
        created_at=created_at,
        updated_at=created_at,
    )
    return FileRecord(owner=owner, file=stored, password=password)


def names(records: tuple[FileRecord, ...]) -> list[str]:
    return [r.file.name for r in records]


# Upgrading an old SQLite file: SQLite only.
async def test_a_schema_3_ledger_gains_the_files_table_and_keeps_its_runs(tmp_path: Path) -> None:
    """Opening a ledger written at schema 3 moves it to the current version in place: its
    runs are still there, and files can be recorded beside them."""
    path = str(tmp_path / "ledger.db")
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for statements in MIGRATIONS[:3]:
            for statement in statements:
                conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (3)")
        conn.execute(INSERT_V1, insert_params(make_record("r1", owner=ALICE))[:15])
    assert SCHEMA_VERSION >= 4
    async with await SqliteLedger.open(path) as ledger:
        assert await ledger.get(ALICE, "local", "r1") is not None
        stored = await ledger.insert_file(make_file(1))
        assert await ledger.get_file(ALICE, stored.id) == stored
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(files)")}
    assert {"files_owner_created", "files_owner_name_created"} <= indexes


async def test_files_are_scoped_per_owner(ledger: AnyLedger) -> None:
    """Another owner can neither get, list nor delete a file; `find_file` sees it (for the
    holder of a signed link), and the owner's delete returns what it removed."""
    typed: FileLedger = ledger
    stored = await typed.insert_file(make_file(1, password="pw"))
    assert stored.seq > 0
    assert await typed.get_file(BOB, stored.id) is None
    assert (await typed.list_files(BOB, FileQuery())).records == ()
    assert await typed.delete_file(BOB, stored.id) is None
    assert await typed.find_file(stored.id) == stored
    assert (await typed.get_file(ALICE, stored.id) or stored).password == "pw"
    assert await typed.delete_file(ALICE, stored.id) == stored
    assert await typed.find_file(stored.id) is None


async def test_a_file_id_is_recorded_once(ledger: AnyLedger) -> None:
    """Inserting a second file under an id already recorded raises DuplicateFile."""
    await ledger.insert_file(make_file(1))
    with pytest.raises(DuplicateFile):
        await ledger.insert_file(make_file(1, owner=BOB))


async def test_pages_walk_both_ways_in_either_order(ledger: AnyLedger) -> None:
    """Keyset pages on (created, seq): ties at one instant keep insertion order, `after`
    reads on and `before` reads back from a cursor, and the flags say what lies beyond."""
    for n in range(1, 6):  # f1, f2 share an instant; f3 … f5 follow a second apart
        at = T0 + timedelta(seconds=max(0, n - 2))
        await ledger.insert_file(make_file(n, name=f"f{n}", created_at=at))
    await ledger.insert_file(make_file(99, owner=BOB, name="bob"))
    first = await ledger.list_files(ALICE, FileQuery(limit=2))
    assert names(first.records) == ["f5", "f4"]
    assert (first.has_more_after, first.has_more_before) == (True, False)
    second = await ledger.list_files(ALICE, FileQuery(limit=2, cursor=first.records[-1].id))
    assert names(second.records) == ["f3", "f2"]
    assert (second.has_more_after, second.has_more_before) == (True, True)
    last = await ledger.list_files(ALICE, FileQuery(limit=2, cursor=second.records[-1].id))
    assert names(last.records) == ["f1"]
    assert (last.has_more_after, last.has_more_before) == (False, True)
    back = FileQuery(limit=2, cursor=last.records[0].id, direction="before")
    previous = await ledger.list_files(ALICE, back)
    assert names(previous.records) == ["f3", "f2"]
    assert (previous.has_more_after, previous.has_more_before) == (True, True)
    ascending = await ledger.list_files(ALICE, FileQuery(limit=3, order="asc"))
    assert names(ascending.records) == ["f1", "f2", "f3"]
    on = FileQuery(limit=3, order="asc", cursor=ascending.records[-1].id)
    assert names((await ledger.list_files(ALICE, on)).records) == ["f4", "f5"]


async def test_a_cursor_the_owner_does_not_have_gives_an_empty_page(ledger: AnyLedger) -> None:
    """Another owner's file, or one deleted, is no position in the owner's listing."""
    await ledger.insert_file(make_file(1))
    bobs = await ledger.insert_file(make_file(2, owner=BOB))
    page = await ledger.list_files(ALICE, FileQuery(cursor=bobs.id))
    assert (page.records, page.has_more_after, page.has_more_before) == ((), False, False)


async def test_names_filter_exactly_or_by_casefolded_substring(ledger: AnyLedger) -> None:
    """`name` matches exactly; `name_contains` matches case-insensitively (casefolded, so
    `STRASSE` finds `Straße`); the creation bounds are inclusive."""
    await ledger.insert_file(make_file(1, name="Invoice-March.pdf"))
    await ledger.insert_file(make_file(2, name="invoice-april.PDF", created_at=T0 + _DAY))
    await ledger.insert_file(make_file(3, name="Hauptstraße.txt", created_at=T0 + 2 * _DAY))
    contains = await ledger.list_files(ALICE, FileQuery(name_contains="INVOICE"))
    assert names(contains.records) == ["invoice-april.PDF", "Invoice-March.pdf"]
    street = await ledger.list_files(ALICE, FileQuery(name_contains="STRASSE"))
    assert names(street.records) == ["Hauptstraße.txt"]
    exact = await ledger.list_files(ALICE, FileQuery(name="Invoice-March.pdf"))
    assert names(exact.records) == ["Invoice-March.pdf"]
    assert (await ledger.list_files(ALICE, FileQuery(name="invoice-march.pdf"))).records == ()
    dated = FileQuery(created_from=T0 + _DAY, created_to=T0 + 2 * _DAY)
    assert len((await ledger.list_files(ALICE, dated)).records) == 2


async def test_the_first_copy_at_a_backend_wins(ledger: AnyLedger) -> None:
    """A copy is remembered per backend; a second one for the same backend does not replace
    it, and the record returned names the copy to use."""
    stored = await ledger.insert_file(make_file(1))
    first = await ledger.add_file_copy(stored.id, "extend", "file_upstream1")
    again = await ledger.add_file_copy(stored.id, "extend", "file_upstream2")
    other = await ledger.add_file_copy(stored.id, "ext2", "file_upstream3")
    assert [r.copies if r else None for r in (first, again)] == [{"extend": "file_upstream1"}] * 2
    both = {"extend": "file_upstream1", "ext2": "file_upstream3"}
    assert other is not None
    assert other.copies == both
    assert await ledger.add_file_copy(file_id(2), "extend", "x") is None
    counted = await ledger.set_file_page_count(stored.id, 3)
    assert counted is not None
    assert counted.file.page_count == 3
    found = await ledger.find_file(stored.id)
    assert found is not None
    assert found.copies == both


_DAY = timedelta(days=1)
