"""The `file_chunks` table: uploaded files' bytes kept in the ledger itself (`[files] storage =
"database"`), so replicas on one database need no shared path. Every function is a job on a
`gateway.store.sql.Connection`, in SQL both SQLite and PostgreSQL run.

An upload writes its chunks as they come under a key of its own (`upload_key`), one short
write each, so no transaction is held open while a client sends; `commit` then records the
file and moves the chunks to its id in one transaction, so a record never names missing bytes
and bytes never outlive a failed record. An upload cut short drops its key's chunks
(`discard`); one whose process died is swept by its key's age (`sweep_uploads`).
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.files.records import FileRecord
from gateway.store.sql import Connection, immediate
from gateway.store.sqlite import files

CHUNK_BYTES = 1024 * 1024  # every chunk but a file's last holds exactly this many bytes
UPLOAD_PREFIX = ".upload-"  # never a file id (`file_xw1-…`), so never mistaken for one


class MissingChunks(Exception):
    """An upload's chunks were not all there to commit (swept as stale, or never written)."""


def upload_key(started_us: int, token: str) -> str:
    """The key an upload started at `started_us` writes its chunks under until committed."""
    return f"{UPLOAD_PREFIX}{started_us:016d}-{token}"


def put(conn: Connection, key: str, first: int, chunks: Sequence[bytes]) -> None:
    """Store `chunks` as chunks `first`, `first + 1`… of `key`."""
    rows = [(key, first + i, chunk) for i, chunk in enumerate(chunks)]
    with immediate(conn):  # one commit for them all
        conn.executemany("INSERT INTO file_chunks (file_id, n, data) VALUES (?, ?, ?)", rows)


def commit(conn: Connection, key: str, count: int, record: FileRecord) -> FileRecord:
    """Record `record` and make the `count` chunks under `key` its bytes, in one transaction;
    the record with `seq` assigned. Raises DuplicateFile, or MissingChunks (nothing changes)."""
    with immediate(conn):
        inserted = files.insert(conn, record)
        move(conn, key, record.id, count)
        return inserted


def move(conn: Connection, source: str, target: str, count: int) -> None:
    """Give the `count` chunks under `source` to `target`; MissingChunks if there are not
    that many (the caller's transaction is then rolled back)."""
    moved = conn.execute(
        "UPDATE file_chunks SET file_id = ? WHERE file_id = ?", (target, source)
    ).rowcount
    if moved != count:
        raise MissingChunks(f"{moved} of {count} chunks are left")


def discard(conn: Connection, key: str) -> int:
    """Drop an upload's chunks; how many there were."""
    return conn.execute("DELETE FROM file_chunks WHERE file_id = ?", (key,)).rowcount


def chunk(conn: Connection, file_id: str, n: int) -> bytes | None:
    """Chunk `n` of the file, or None if it has none (any more)."""
    row = conn.execute(
        "SELECT data FROM file_chunks WHERE file_id = ? AND n = ?", (file_id, n)
    ).fetchone()
    return None if row is None else bytes(row[0])


def delete_file(conn: Connection, owner: str, file_id: str) -> FileRecord | None:
    """Forget the owner's file and its bytes together; the record it had, or None."""
    with immediate(conn):
        found = files.get(conn, owner, file_id)
        if found is not None:
            conn.execute("DELETE FROM files WHERE seq = ?", (found.seq,))
            conn.execute("DELETE FROM file_chunks WHERE file_id = ?", (file_id,))
        return found


def sweep_uploads(conn: Connection, started_before_us: int) -> int:
    """Drop the chunks of uploads started before `started_before_us` (their process died, or
    they ran past any sane upload's length); returns how many uploads went."""
    rows = conn.execute(
        # substr, not a range or LIKE: the same on every store, whatever its collation
        "SELECT DISTINCT file_id FROM file_chunks WHERE substr(file_id, 1, ?) = ?",
        (len(UPLOAD_PREFIX), UPLOAD_PREFIX),
    ).fetchall()
    stale = [key for (key,) in rows if _started_us(key) < started_before_us]
    for key in stale:
        discard(conn, key)
    return len(stale)


def _started_us(key: str) -> int:
    digits = key[len(UPLOAD_PREFIX) :].partition("-")[0]
    return int(digits) if digits.isdigit() else 0  # a key not made here: swept
