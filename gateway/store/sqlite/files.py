"""The `files` table: file records as rows and back, and every file call's SQL.

Each function runs on the connection it is given, writes in the writer's own transactions
(one statement, or `immediate` for a read-modify-write), reads inside the reader's snapshot.
Listings page by keyset on (created_us, seq) as runs do (`listing.py`); a name substring is
found by walking the owner's files in order (an owner's files are far fewer than its runs).
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.files.records import FileListResult, FileRecord
from gateway.store.base import DuplicateFile
from gateway.store.sql import CONSTRAINT_ERRORS, Connection, immediate
from gateway.store.sql_dialect import Dialect, dialect_of
from gateway.store.sqlite.times import from_us, to_us
from mappings.files import FileQuery, StoredFile

_COLUMNS = (
    "seq, id, owner, name, mime_type, size, sha256, page_count, password, copies, "
    "created_us, updated_us"
)
SELECT = f"SELECT {_COLUMNS} FROM files"
_INSERT = (
    "INSERT INTO files (id, owner, name, name_folded, mime_type, size, sha256, page_count, "
    "password, copies, created_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_EMPTY = FileListResult(records=(), has_more_after=False, has_more_before=False)
_copies_decoder = msgspec.json.Decoder(dict[str, str])


def record_of(row: tuple[Any, ...]) -> FileRecord:
    """The record a row selected with `SELECT` holds."""
    seq, file_id, owner, name, mime_type, size, sha256, page_count, password, copies = row[:10]
    created_us, updated_us = row[10:]
    stored = StoredFile(
        id=file_id,
        name=name,
        mime_type=mime_type,
        size=size,
        sha256=sha256,
        page_count=page_count,
        created_at=from_us(created_us),
        updated_at=from_us(updated_us),
    )
    copied = _copies_decoder.decode(copies)
    return FileRecord(owner=owner, file=stored, password=password, copies=copied, seq=seq)


def insert(conn: Connection, record: FileRecord) -> FileRecord:
    """Store a new record; returns it with `seq` assigned. Raises DuplicateFile."""
    f = record.file
    params = (
        *(f.id, record.owner, f.name, f.name.casefold(), f.mime_type, f.size, f.sha256),
        *(f.page_count, record.password, msgspec.json.encode(record.copies).decode()),
        *(to_us(f.created_at), to_us(f.updated_at)),
    )
    try:
        (seq,) = conn.execute(_INSERT + " RETURNING seq", params).fetchone()
    except CONSTRAINT_ERRORS:
        raise DuplicateFile(f"file {f.id} is already recorded") from None
    return msgspec.structs.replace(record, seq=seq)


def get(conn: Connection, owner: str | None, file_id: str) -> FileRecord | None:
    """The file `file_id`, if `owner` (when given) owns it."""
    if owner is None:
        row = conn.execute(f"{SELECT} WHERE id = ?", (file_id,)).fetchone()
    else:
        row = conn.execute(f"{SELECT} WHERE owner = ? AND id = ?", (owner, file_id)).fetchone()
    return None if row is None else record_of(row)


def delete(conn: Connection, owner: str, file_id: str) -> FileRecord | None:
    """Forget the owner's file; the record it had, or None."""
    with immediate(conn):
        found = get(conn, owner, file_id)
        if found is not None:
            conn.execute("DELETE FROM files WHERE seq = ?", (found.seq,))
        return found


def add_copy(
    conn: Connection, file_id: str, backend: str, vendor_file_id: str
) -> FileRecord | None:
    """Record the copy unless the backend already has one; the record as stored after."""
    with immediate(conn):
        found = get(conn, None, file_id)
        if found is None or backend in found.copies:
            return found
        copies = {**found.copies, backend: vendor_file_id}
        encoded = msgspec.json.encode(copies).decode()
        conn.execute("UPDATE files SET copies = ? WHERE seq = ?", (encoded, found.seq))
        return msgspec.structs.replace(found, copies=copies)


def set_page_count(conn: Connection, file_id: str, page_count: int) -> FileRecord | None:
    """Record the file's page count; the record as stored after, or None if it is gone."""
    with immediate(conn):
        conn.execute("UPDATE files SET page_count = ? WHERE id = ?", (page_count, file_id))
        return get(conn, None, file_id)


def list_page(conn: Connection, owner: str, query: FileQuery) -> FileListResult:
    """The page `FileLedger.list_files` describes; run inside one read transaction."""
    if query.order not in ("asc", "desc") or query.direction not in ("after", "before"):
        raise ValueError(f"unknown order {query.order!r} or direction {query.direction!r}")
    if query.limit < 1:
        raise ValueError(f"limit must be at least 1, got {query.limit}")
    forward = query.cursor is None or query.direction == "after"
    ascending = (query.order == "asc") == forward  # the way the walk goes over (created, seq)
    anchor: tuple[int, int] | None = None
    dialect = dialect_of(conn)
    if query.cursor is not None:
        row = conn.execute(
            "SELECT created_us, seq FROM files WHERE owner = ? AND id = ?", (owner, query.cursor)
        ).fetchone()
        if row is None:
            return _EMPTY
        anchor = (row[0], row[1])
    walk = _walk(dialect, owner, query, ascending, anchor, query.limit + 1)
    rows = conn.execute(*walk).fetchall()
    page = [record_of(row) for row in rows[: query.limit]]
    ahead = len(rows) > query.limit
    # the cursor's other side, the cursor included: walked from it the other way
    back = _walk(dialect, owner, query, not ascending, anchor, 1, from_anchor=True)
    behind = anchor is not None and conn.execute(*back).fetchone() is not None
    if not forward:
        page.reverse()  # read backwards from the cursor, shown in the query's order
    return FileListResult(
        records=tuple(page),
        has_more_after=ahead if forward else behind,
        has_more_before=behind if forward else ahead,
    )


def _walk(
    dialect: Dialect,
    owner: str,
    query: FileQuery,
    ascending: bool,
    anchor: tuple[int, int] | None,
    want: int,
    *,
    from_anchor: bool = False,
) -> tuple[str, tuple[Any, ...]]:
    """The first `want` of the owner's files the query selects, in `ascending` order, from
    just past `anchor` (or from it, when `from_anchor`)."""
    clauses, params = ["owner = ?"], list[Any]([owner])
    if query.name is not None:
        clauses.append("name = ?")
        params.append(query.name)
    if query.name_contains:
        clauses.append(dialect.contains("name_folded"))
        params.append(dialect.needle(query.name_contains.casefold()))
    if query.created_from is not None:
        clauses.append("created_us >= ?")
        params.append(to_us(query.created_from))
    if query.created_to is not None:
        clauses.append("created_us <= ?")
        params.append(to_us(query.created_to))
    if anchor is not None:
        side = (">" if ascending else "<") + ("=" if from_anchor else "")
        clauses.append(f"(created_us, seq) {side} (?, ?)")
        params.extend(anchor)
    index = "files_owner_name_created" if query.name is not None else "files_owner_created"
    way = "ASC" if ascending else "DESC"
    sql = (
        f"{SELECT}{dialect.indexed_by(index)} WHERE {' AND '.join(clauses)} "
        f"ORDER BY created_us {way}, seq {way} LIMIT ?"
    )
    return sql, (*params, want)
