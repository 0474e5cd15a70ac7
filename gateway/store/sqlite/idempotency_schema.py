"""The ledger's Idempotency-Key slots (schema version 10): one row per (owner, create path,
key), in flight until its create is answered (naming its run once one is accepted), then
holding the answer for replays."""

from __future__ import annotations

SCHEMA_V10 = (
    """CREATE TABLE idempotency_keys (
        owner TEXT NOT NULL,
        scope TEXT NOT NULL,  -- the create's method and path: POST /classify_runs
        key TEXT NOT NULL,  -- the client's Idempotency-Key (at most 255 characters)
        request_hash TEXT NOT NULL,  -- sha256 of the path and body it was first sent with
        holder TEXT NOT NULL,  -- the reservation's own token: only it completes or releases
        reserved_us INTEGER NOT NULL,  -- the key expires 24 hours after this
        lease_until_us INTEGER,  -- in flight until then; NULL once the answer is kept
        run_ref TEXT,  -- the public id of the run its create made, once the backend accepted it
        status INTEGER,  -- the answer's, once done; NULL while in flight
        headers BLOB,
        body BLOB,
        done_us INTEGER,
        PRIMARY KEY (owner, scope, key)
    )""",
    "CREATE INDEX idempotency_keys_reserved ON idempotency_keys (reserved_us)",
)
