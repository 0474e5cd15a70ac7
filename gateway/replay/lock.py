"""One replay at a time on a ledger: two at once would both find a document's side unsent and
both send it, billing twice and leaving a run no side links to.

On SQLite the replay holds an exclusive `flock` on `<ledger>-replay-lock` for its whole
life; the kernel drops it when the process ends, however it ends, so a killed replay never
leaves a stale lock behind. On PostgreSQL (`[store] url`) replays may run on other hosts, so
the lock is the database's: a session advisory lock held on a connection of the replay's
own, which the server drops when that connection ends, however the replay ends.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from gateway.config import Settings
from gateway.replay.inputs import ReplayError
from gateway.replay.kept_out import lock_path

# the advisory lock every replay on a PostgreSQL ledger holds ("cwreplay" in ASCII, halved
# to fit a bigint), apart from the migrations' (gateway/store/postgres/schema.py)
REPLAY_LOCK = int.from_bytes(b"cwreplay", "big") >> 1


@contextmanager
def replay_lock(settings: Settings) -> Iterator[None]:
    """Held while the body runs; raises ReplayError if another replay holds it, OSError if
    the lock file cannot be made (the ledger's folder is missing or read-only), LedgerError
    if the PostgreSQL ledger cannot be reached."""
    if settings.store_url is not None:
        with _database_lock(settings.store_url):
            yield
        return
    path = lock_path(settings)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _held(settings.store_path) from None
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the lock


@contextmanager
def _database_lock(url: str) -> Iterator[None]:
    # imported here: psycopg is loaded only for a PostgreSQL ledger
    from gateway.store.postgres.connect import connect
    from gateway.store.postgres.urls import redacted

    with connect(url) as conn:  # closing the connection releases the lock
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (REPLAY_LOCK,)).fetchone()
        if row is None or not row[0]:
            raise _held(redacted(url))
        yield


def _held(ledger: str) -> ReplayError:
    return ReplayError(
        f"another replay is using the ledger {ledger}: run this one once it has ended"
    )
