"""The `file_uploads` table: Retab's announced uploads when files' bytes are kept in the
ledger (`gateway/files/pending_in_database.py`), so the announce, the PUT and the complete of
one upload may reach any replica. Every function is a job on a `gateway.store.sql.Connection`.

A session is its JSON (`gateway.files.pending.Session`), opaque here, and the chunks of its
last PUT under `part_key(file_id)`. Each change is one transaction that first checks the
session is still the one its caller decided on (`expected`); a caller whose session changed
meanwhile reads it again and decides again, as the disk store's callers take turns on a lock.
"""

from __future__ import annotations

from gateway.files.records import FileRecord
from gateway.store.sql import Connection, immediate
from gateway.store.sqlite import file_chunks, files

_PART_PREFIX = ".part-"  # never a file id, nor an upload's key
_CURRENT = "SELECT session FROM file_uploads WHERE file_id = ?"


def part_key(file_id: str) -> str:
    """The key a session's bytes are kept under until it is completed."""
    return _PART_PREFIX + file_id


def announce(conn: Connection, file_id: str, owner: str, session: str, ends_us: int) -> None:
    """Record a new session."""
    conn.execute(
        "INSERT INTO file_uploads (file_id, owner, session, ends_us) VALUES (?, ?, ?, ?)",
        (file_id, owner, session, ends_us),
    )


def session(conn: Connection, file_id: str) -> str | None:
    """The session's JSON, or None if there is none (any more)."""
    row = conn.execute(_CURRENT, (file_id,)).fetchone()
    return None if row is None else str(row[0])


def keep_part(
    conn: Connection, key: str, count: int, file_id: str, session: str, ends_us: int
) -> bool:
    """Make the `count` chunks of the upload `key` the session's bytes, replacing any it had,
    and `session` its JSON; False (and nothing changes) if the session is gone."""
    with immediate(conn):
        if conn.execute(_CURRENT, (file_id,)).fetchone() is None:
            return False
        conn.execute("DELETE FROM file_chunks WHERE file_id = ?", (part_key(file_id),))
        file_chunks.move(conn, key, part_key(file_id), count)
        _set(conn, file_id, session, ends_us)
        return True


def replace(
    conn: Connection, file_id: str, expected: str, session: str, ends_us: int, *, drop_part: bool
) -> bool:
    """Set the session's JSON (dropping its bytes if `drop_part`) if it is still `expected`;
    whether it was."""
    with immediate(conn):
        if not _still(conn, file_id, expected):
            return False
        if drop_part:
            conn.execute("DELETE FROM file_chunks WHERE file_id = ?", (part_key(file_id),))
        _set(conn, file_id, session, ends_us)
        return True


def adopt(
    conn: Connection, file_id: str, expected: str, record: FileRecord, count: int
) -> FileRecord | None:
    """If the session is still `expected`: record `record`, hand it the session's `count`
    chunks and forget the session, in one transaction; the record, or None. Raises
    DuplicateFile or `file_chunks.MissingChunks` (nothing changes)."""
    with immediate(conn):
        if not _still(conn, file_id, expected):
            return None
        inserted = files.insert(conn, record)
        file_chunks.move(conn, part_key(file_id), record.id, count)
        conn.execute("DELETE FROM file_uploads WHERE file_id = ?", (file_id,))
        return inserted


def forget(conn: Connection, file_id: str) -> None:
    """Forget the session and its bytes."""
    with immediate(conn):
        conn.execute("DELETE FROM file_chunks WHERE file_id = ?", (part_key(file_id),))
        conn.execute("DELETE FROM file_uploads WHERE file_id = ?", (file_id,))


def sweep(conn: Connection, now_us: int, retain_us: int) -> int:
    """Drop the bytes of sessions that have ended, and forget those that ended `retain_us`
    ago (a complete answers 410 until then); returns how many chunks went."""
    with immediate(conn):
        ended = conn.execute(
            "SELECT file_id FROM file_uploads WHERE ends_us <= ?", (now_us,)
        ).fetchall()
        dropped = 0
        for (file_id,) in ended:
            part = part_key(file_id)
            dropped += conn.execute("DELETE FROM file_chunks WHERE file_id = ?", (part,)).rowcount
        conn.execute("DELETE FROM file_uploads WHERE ends_us <= ?", (now_us - retain_us,))
        return dropped


def _still(conn: Connection, file_id: str, expected: str) -> bool:
    row = conn.execute(_CURRENT, (file_id,)).fetchone()
    return row is not None and row[0] == expected


def _set(conn: Connection, file_id: str, session: str, ends_us: int) -> None:
    conn.execute(
        "UPDATE file_uploads SET session = ?, ends_us = ? WHERE file_id = ?",
        (session, ends_us, file_id),
    )
