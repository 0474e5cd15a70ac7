"""The DDL of files' bytes kept in the ledger (`[files] storage = "database"`), for SQLite's
migrations (v11) and PostgreSQL's: `file_chunks` (`file_chunks.py`), the bytes, found by
(file id, n) only, so the primary key is their one index; and `file_uploads`
(`file_uploads.py`), Retab's announced uploads between their announcement and their complete.
SQLite's BLOB and PostgreSQL's BYTEA hold the same bytes."""

from __future__ import annotations

_UPLOADS = """CREATE TABLE file_uploads (
        file_id TEXT PRIMARY KEY,  -- the id the file gets once completed
        owner TEXT NOT NULL,
        session TEXT NOT NULL,  -- gateway.files.pending.Session, as JSON
        ends_us {time} NOT NULL  -- when the session ends (its bytes are swept after)
    )"""
_UPLOADS_ENDS = "CREATE INDEX file_uploads_ends ON file_uploads (ends_us)"
SCHEMA_V11 = (
    """CREATE TABLE file_chunks (
        file_id TEXT NOT NULL,  -- a file's id once recorded, an upload's key before
        n INTEGER NOT NULL,  -- 0, 1, 2… in the file's order
        data BLOB NOT NULL,
        PRIMARY KEY (file_id, n)
    )""",
    _UPLOADS.format(time="INTEGER"),
    _UPLOADS_ENDS,
)
POSTGRES_FILE_BYTES = (
    """CREATE TABLE file_chunks (
        file_id TEXT NOT NULL,
        n INTEGER NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (file_id, n)
    )""",
    _UPLOADS.format(time="BIGINT"),  # microseconds pass 2^31
    _UPLOADS_ENDS,
)
