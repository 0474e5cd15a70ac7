"""The `file_chunks` table's DDL (`file_chunks.py`), for SQLite's migrations (v11) and
PostgreSQL's: SQLite's BLOB and PostgreSQL's BYTEA hold the same bytes. Chunks are found by
(file id, n) only, so the primary key is their one index."""

from __future__ import annotations

SCHEMA_V11 = (
    """CREATE TABLE file_chunks (
        file_id TEXT NOT NULL,  -- a file's id once recorded, an upload's key before
        n INTEGER NOT NULL,  -- 0, 1, 2… in the file's order
        data BLOB NOT NULL,
        PRIMARY KEY (file_id, n)
    )""",
)
POSTGRES_FILE_CHUNKS = (
    """CREATE TABLE file_chunks (
        file_id TEXT NOT NULL,
        n INTEGER NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (file_id, n)
    )""",
)
