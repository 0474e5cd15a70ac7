"""The ledger file's schema (runs; since version 4 files; since version 5 the webhook
outbox; since 6 batches, since 8 comparisons, since 9 their sides' copies of runs, since 10
Idempotency-Key slots, since 11 files' bytes when kept in the ledger), and how connections
to it are opened and brought up to date.

Also `immediate`, the write transaction every read-modify-write in this package runs in, and
`snapshot`, the read transaction every read runs in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager

from gateway.store.base import LedgerError
from gateway.store.migrating import bring_up_to_date
from gateway.store.sqlite.batch_schema import SCHEMA_V6, SCHEMA_V7
from gateway.store.sqlite.claim_schema import SCHEMA_CLAIMS
from gateway.store.sqlite.comparison_schema import SCHEMA_V8, SCHEMA_V9
from gateway.store.sqlite.file_bytes_schema import SCHEMA_V11
from gateway.store.sqlite.idempotency_schema import SCHEMA_V10

SEARCH_TABLE = "runs_filename_search"  # trigram index over runs.filename_folded
_SCHEMA_V1 = (
    """CREATE TABLE runs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: never reused, only grows
        key TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        backend TEXT NOT NULL,
        upstream_id TEXT NOT NULL,
        surface TEXT NOT NULL,
        status TEXT NOT NULL,
        filename TEXT NOT NULL,
        filename_folded TEXT NOT NULL,  -- casefolded in Python: SQLite's lower() is ASCII-only
        created_us INTEGER NOT NULL,
        updated_us INTEGER NOT NULL,
        run BLOB NOT NULL,
        request BLOB,
        claimed_by TEXT,
        lease_until_us INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        UNIQUE (backend, upstream_id)
    )""",
    "CREATE INDEX runs_owner_created ON runs (owner, created_us, seq)",
    "CREATE INDEX runs_owner_status ON runs (owner, status, created_us, seq)",
    "CREATE INDEX runs_owner_filename ON runs (owner, filename)",
    "CREATE INDEX runs_queue ON runs (status, seq)",
)
# v2: listings by filename are index-driven. The exact-match index also serves the listing
# order; substrings are found through an FTS5 trigram index of the casefolded name (matched
# case-sensitively: the folding is Python's, the same as the needle's), kept in step with
# `runs` by triggers in the writer's own transactions.
_SEARCH_DELETE = (
    f"INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}, rowid, filename_folded) "
    "VALUES ('delete', old.seq, old.filename_folded);"
)
_SEARCH_INSERT = (
    f"INSERT INTO {SEARCH_TABLE} (rowid, filename_folded) VALUES (new.seq, new.filename_folded);"
)
_SCHEMA_V2 = (
    "DROP INDEX runs_owner_filename",
    "CREATE INDEX runs_owner_filename_created ON runs (owner, filename, created_us, seq)",
    f"""CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5 (
        filename_folded, content='runs', content_rowid='seq',
        tokenize='trigram case_sensitive 1'
    )""",
    f"INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}) VALUES ('rebuild')",  # the runs already kept
    f"CREATE TRIGGER runs_search_insert AFTER INSERT ON runs BEGIN {_SEARCH_INSERT} END",
    f"CREATE TRIGGER runs_search_delete AFTER DELETE ON runs BEGIN {_SEARCH_DELETE} END",
    f"""CREATE TRIGGER runs_search_update AFTER UPDATE OF filename_folded ON runs
        WHEN old.filename_folded IS NOT new.filename_folded
        BEGIN {_SEARCH_DELETE} {_SEARCH_INSERT} END""",
)
# v3: FTS5 (and SQLite's replace()) read a value only up to its first NUL, so the trigram
# index holds a name with a NUL only in part. Such names (rare) get a partial index of
# their own, which the trigram path reads beside the FTS index (filters.py).
NUL_NAMES_INDEX = "runs_owner_nul_names"
HOLDS_NUL = "instr(CAST(filename_folded AS BLOB), x'00') > 0"  # a blob is read whole
_SCHEMA_V3 = (f"CREATE INDEX {NUL_NAMES_INDEX} ON runs (owner) WHERE {HOLDS_NUL}",)
# v4: the metadata of uploaded files (their bytes are on disk, gateway/files/). `copies` is
# the JSON object of the file's copies at vendors (backend -> vendor file id).
_SCHEMA_V4 = (
    """CREATE TABLE files (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, only grows, as for runs
        id TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        name TEXT NOT NULL,
        name_folded TEXT NOT NULL,  -- casefolded in Python, as runs.filename_folded
        mime_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        page_count INTEGER,
        password TEXT,
        copies TEXT NOT NULL DEFAULT '{}',
        created_us INTEGER NOT NULL,
        updated_us INTEGER NOT NULL
    )""",
    "CREATE INDEX files_owner_created ON files (owner, created_us, seq)",
    "CREATE INDEX files_owner_name_created ON files (owner, name, created_us, seq)",
)
# v5: the webhook outbox. An event is written in the transaction that makes it happen (a run
# reaching a terminal status), with one delivery per endpoint subscribed to its type, so no
# event is lost between a status change and its delivery; deliveries are claimed under a
# lease like local work. `webhook_subscriptions` mirrors the `[[webhooks]]` config.
_SCHEMA_V5 = (
    """CREATE TABLE webhook_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        event_type TEXT NOT NULL,
        kind TEXT NOT NULL,  -- what data holds: 'run' | 'batch' | 'raw'
        owner TEXT NOT NULL,
        subject TEXT NOT NULL,  -- a run's key or a batch's id
        data BLOB NOT NULL,
        created_us INTEGER NOT NULL
    )""",
    """CREATE TABLE webhook_deliveries (
        event_seq INTEGER NOT NULL REFERENCES webhook_events (seq) ON DELETE CASCADE,
        endpoint TEXT NOT NULL,
        state TEXT NOT NULL,  -- 'pending' | 'delivered' | 'dead'
        attempts INTEGER NOT NULL DEFAULT 0,
        since_us INTEGER NOT NULL,  -- the start of its retry window
        next_attempt_us INTEGER NOT NULL,
        claimed_by TEXT,
        lease_until_us INTEGER,
        last_status INTEGER,
        last_error TEXT,
        delivered_us INTEGER,
        PRIMARY KEY (event_seq, endpoint)
    )""",
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_us)",
    """CREATE TABLE webhook_subscriptions (
        endpoint TEXT NOT NULL,
        event_type TEXT NOT NULL,
        PRIMARY KEY (event_type, endpoint)
    )""",
)
# Migration N+1 is MIGRATIONS[N]; append, never edit, so old files upgrade in place.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    _SCHEMA_V1,
    _SCHEMA_V2,
    _SCHEMA_V3,
    _SCHEMA_V4,
    _SCHEMA_V5,
    SCHEMA_V6,  # batches (batch_schema.py)
    SCHEMA_V7,  # a split batch's inputs name their backends (batch_schema.py)
    SCHEMA_V8,  # comparisons, and the runs made for them (comparison_schema.py)
    SCHEMA_V9,  # a side keeps its run's copy (comparison_schema.py)
    SCHEMA_V10,  # Idempotency-Key slots (idempotency_schema.py)
    SCHEMA_V11,  # files' bytes kept in the ledger (file_bytes_schema.py)
    SCHEMA_CLAIMS,  # claims read only live rows (claim_schema.py)
)
SCHEMA_VERSION = len(MIGRATIONS)


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction holding the file's write lock from its first statement, so a read
    inside it cannot go stale before the write (no lost updates between processes)."""
    with _transaction(conn, "BEGIN IMMEDIATE"):
        yield conn


@contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction: every statement in it sees the file as its first read found it,
    while writers carry on beside it (WAL)."""
    with _transaction(conn, "BEGIN DEFERRED"):
        yield conn


@contextmanager
def _transaction(conn: sqlite3.Connection, begin: str) -> Iterator[None]:
    conn.execute(begin)
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # also after a failed COMMIT, or the next BEGIN would fail
            conn.execute("ROLLBACK")
        raise


def connect(path: str) -> sqlite3.Connection:
    """The writing connection to the ledger at `path`, its file created or upgraded to
    SCHEMA_VERSION."""
    require_trigram_search()
    conn = _open(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe with WAL
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def connect_reader(path: str) -> sqlite3.Connection:
    """A read-only connection to the ledger at `path`, already opened by `connect`."""
    conn = _open(path)
    try:
        conn.execute("PRAGMA query_only = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _open(path: str) -> sqlite3.Connection:
    if path in ("", ":memory:"):
        # each connection would get a database of its own; the ledger reads on several
        raise LedgerError(f"the ledger needs a file, not {path!r}")
    # isolation_level=None: no implicit transactions; every one here is explicit
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
    except BaseException:
        conn.close()
        raise
    return conn


def require_trigram_search() -> None:
    """Fail clearly unless this Python's SQLite has FTS5 and its trigram tokenizer (3.34+):
    the ledger's filename search needs them, and so does every write once a file has it."""
    with closing(sqlite3.connect(":memory:")) as probe:
        try:
            probe.execute("CREATE VIRTUAL TABLE t USING fts5 (x, tokenize='trigram')")
        except sqlite3.OperationalError as exc:
            raise LedgerError(
                f"the ledger needs SQLite 3.34 or later built with FTS5; this Python has "
                f"SQLite {sqlite3.sqlite_version} ({exc})"
            ) from None


def _migrate(conn: sqlite3.Connection) -> None:
    with immediate(conn):
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
        version: int = current.fetchone()[0]
        bring_up_to_date(conn, version, MIGRATIONS, placeholder="?")
