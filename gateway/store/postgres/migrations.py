"""The PostgreSQL ledger's schema, as versioned migrations: migration N+1 is MIGRATIONS[N].
Append, never edit, so a database already migrated upgrades in place (`schema.migrate`).

Version 1 is the whole schema SQLite's ledger reached at its version 10
(gateway/store/sqlite/schema.py, batch_schema.py, comparison_schema.py,
idempotency_schema.py): the same tables, columns, keys, constraints and indexes, so the one
set of job SQL runs on both. What differs, and why:
- `seq BIGINT GENERATED ALWAYS AS IDENTITY` for SQLite's `INTEGER PRIMARY KEY AUTOINCREMENT`:
  never reused, only grows (listing cursors rely on it); BIGINT times (µs), BYTEA blobs;
- substring search of names is a GIN trigram index (pg_trgm) on the casefolded name, which
  PostgreSQL uses for `LIKE '%needle%'` itself, in place of SQLite's FTS5 table and its
  triggers; PostgreSQL's TEXT cannot hold a NUL, so there is no index of such names (v3);
- the listing indexes are partial over client runs as in SQLite's v8, without the trailing
  `comparison_id` column SQLite needs to answer from the index alone (PostgreSQL checks a
  partial index's predicate without reading the table);
- the trigger that marks a batch input created in the statement recording its run
  (batch_schema.py) is a PL/pgSQL function, raising a constraint error (SQLSTATE 23000, an
  `IntegrityError`) as SQLite's RAISE(ABORT) does.
Version 2 is SQLite's version 11: files' bytes kept in the ledger (file_bytes_schema.py).
"""

from __future__ import annotations

from gateway.store.sqlite.claim_schema import SCHEMA_CLAIMS
from gateway.store.sqlite.file_bytes_schema import POSTGRES_FILE_BYTES

CLIENT_RUN = "comparison_id IS NULL"
UNSETTLED = "status IN ('pending', 'processing')"

_RUNS = (
    """CREATE TABLE runs (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        backend TEXT NOT NULL,
        upstream_id TEXT NOT NULL,
        surface TEXT NOT NULL,
        status TEXT NOT NULL,
        filename TEXT NOT NULL,
        filename_folded TEXT NOT NULL,  -- casefolded in Python, as the needles searched for
        created_us BIGINT NOT NULL,
        updated_us BIGINT NOT NULL,
        run BYTEA NOT NULL,
        request BYTEA,
        claimed_by TEXT,
        lease_until_us BIGINT,
        attempts INTEGER NOT NULL DEFAULT 0,
        batch_id TEXT,
        batch_input INTEGER,
        comparison_id TEXT,
        UNIQUE (backend, upstream_id)
    )""",
    f"CREATE INDEX runs_owner_created ON runs (owner, created_us, seq) WHERE {CLIENT_RUN}",
    f"""CREATE INDEX runs_owner_status ON runs (owner, status, created_us, seq)
        WHERE {CLIENT_RUN}""",
    f"""CREATE INDEX runs_owner_filename_created ON runs (owner, filename, created_us, seq)
        WHERE {CLIENT_RUN}""",
    f"""CREATE INDEX runs_owner_batch ON runs (owner, batch_id, created_us, seq)
        WHERE batch_id IS NOT NULL AND {CLIENT_RUN}""",
    "CREATE INDEX runs_queue ON runs (status, seq)",
    "CREATE INDEX runs_filename_trigram ON runs USING gin (filename_folded gin_trgm_ops)",
)
_FILES = (
    """CREATE TABLE files (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        name TEXT NOT NULL,
        name_folded TEXT NOT NULL,
        mime_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        sha256 TEXT NOT NULL,
        page_count INTEGER,
        password TEXT,
        copies TEXT NOT NULL DEFAULT '{}',
        created_us BIGINT NOT NULL,
        updated_us BIGINT NOT NULL
    )""",
    "CREATE INDEX files_owner_created ON files (owner, created_us, seq)",
    "CREATE INDEX files_owner_name_created ON files (owner, name, created_us, seq)",
    "CREATE INDEX files_name_trigram ON files USING gin (name_folded gin_trgm_ops)",
)
_WEBHOOKS = (
    """CREATE TABLE webhook_events (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        event_type TEXT NOT NULL,
        kind TEXT NOT NULL,
        owner TEXT NOT NULL,
        subject TEXT NOT NULL,
        data BYTEA NOT NULL,
        created_us BIGINT NOT NULL
    )""",
    """CREATE TABLE webhook_deliveries (
        event_seq BIGINT NOT NULL REFERENCES webhook_events (seq) ON DELETE CASCADE,
        endpoint TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        since_us BIGINT NOT NULL,
        next_attempt_us BIGINT NOT NULL,
        claimed_by TEXT,
        lease_until_us BIGINT,
        last_status INTEGER,
        last_error TEXT,
        delivered_us BIGINT,
        PRIMARY KEY (event_seq, endpoint)
    )""",
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_us)",
    """CREATE TABLE webhook_subscriptions (
        endpoint TEXT NOT NULL,
        event_type TEXT NOT NULL,
        PRIMARY KEY (event_type, endpoint)
    )""",
)
_BATCHES = (
    """CREATE TABLE batches (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        backend TEXT NOT NULL,
        upstream_id TEXT,
        status TEXT NOT NULL,
        run_count INTEGER NOT NULL,
        forward TEXT NOT NULL DEFAULT '{}',
        created_us BIGINT NOT NULL,
        updated_us BIGINT NOT NULL
    )""",
    f"CREATE INDEX batches_unsettled ON batches (seq) WHERE {UNSETTLED}",
    """CREATE TABLE batch_inputs (
        batch_id TEXT NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        body BYTEA NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        run_key TEXT,
        claimed_by TEXT,
        lease_until_us BIGINT,
        attempts INTEGER NOT NULL DEFAULT 0,
        backend TEXT,
        PRIMARY KEY (batch_id, idx)
    )""",
    "CREATE INDEX batch_inputs_pending ON batch_inputs (state) WHERE state = 'pending'",
    """CREATE FUNCTION runs_batch_input() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE batch_inputs
        SET state = 'created', run_key = NEW.key, claimed_by = NULL, lease_until_us = NULL
        WHERE batch_id = NEW.batch_id AND idx = NEW.batch_input AND state = 'pending';
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the batch input is not pending: it has a run already'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
    END
    $$""",
    """CREATE TRIGGER runs_batch_input AFTER INSERT ON runs
        FOR EACH ROW WHEN (NEW.batch_input IS NOT NULL) EXECUTE FUNCTION runs_batch_input()""",
)
_COMPARISONS = (
    """CREATE TABLE comparisons (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        source TEXT NOT NULL,
        document TEXT NOT NULL,
        filename TEXT,
        categories BYTEA NOT NULL,
        expected TEXT,
        created_us BIGINT NOT NULL,
        completed_us BIGINT
    )""",
    "CREATE INDEX comparisons_owner_seq ON comparisons (owner, seq)",
    """CREATE TABLE comparison_sides (
        comparison_id TEXT NOT NULL REFERENCES comparisons (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        backend TEXT NOT NULL,
        upstream_id TEXT,
        started_us BIGINT NOT NULL,
        finished_us BIGINT,
        error TEXT,
        run BYTEA,
        PRIMARY KEY (comparison_id, backend)
    )""",
    "CREATE INDEX comparison_sides_run ON comparison_sides (backend, upstream_id)",
    "CREATE INDEX comparison_sides_open ON comparison_sides (started_us) WHERE finished_us IS NULL",
)
_IDEMPOTENCY = (
    """CREATE TABLE idempotency_keys (
        owner TEXT NOT NULL,
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        holder TEXT NOT NULL,
        reserved_us BIGINT NOT NULL,
        lease_until_us BIGINT,
        run_ref TEXT,
        status INTEGER,
        headers BYTEA,
        body BYTEA,
        done_us BIGINT,
        PRIMARY KEY (owner, scope, key)
    )""",
    "CREATE INDEX idempotency_keys_reserved ON idempotency_keys (reserved_us)",
)
_SCHEMA_V1 = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    *_RUNS,
    *_FILES,
    *_WEBHOOKS,
    *_BATCHES,
    *_COMPARISONS,
    *_IDEMPOTENCY,
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    _SCHEMA_V1,
    POSTGRES_FILE_BYTES,  # files' bytes kept in the ledger (SQLite's v11, file_bytes_schema.py)
    SCHEMA_CLAIMS,  # claims read only live rows (gateway/store/sqlite/claim_schema.py)
)
SCHEMA_VERSION = len(MIGRATIONS)
