"""The run ledger in one SQLite file, shared by every server process on a host (design.md §4).

WAL mode lets readers run beside the one writer. Each `SqliteLedger` holds a single
connection, used from worker threads (`anyio.to_thread`) one call at a time under a lock:
SQLite serialises writers anyway, and one connection is one thing to close. Every
read-modify-write runs in `BEGIN IMMEDIATE`, which takes the file's write lock up front, so
claims, cancels and compare-and-set updates are atomic across processes too.
Canonical values are stored as msgspec JSON; times as integer microseconds since the epoch.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio.to_thread
import msgspec

from gateway.store import records as rec
from gateway.store.base import DuplicateRun, LedgerError
from gateway.store.records import ListResult, RecoveryReport, RunRecord
from mappings import canonical

T = TypeVar("T")

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
# Migration N+1 is _MIGRATIONS[N]; append, never edit, so old files upgrade in place.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (_SCHEMA_V1,)
SCHEMA_VERSION = len(_MIGRATIONS)

_COLUMNS = (
    "seq, key, owner, backend, upstream_id, surface, run, request, filename, "
    "created_us, updated_us, claimed_by, lease_until_us, attempts"
)
_SELECT = f"SELECT {_COLUMNS} FROM runs"
_BY_RUN = " WHERE backend = ? AND upstream_id = ?"
_BY_OWNER_RUN = " WHERE owner = ? AND backend = ? AND upstream_id = ?"
_UNFINISHED = (
    " WHERE backend = ? AND status IN ('pending', 'queued', 'running')"
    " ORDER BY updated_us, seq LIMIT ?"
)
_EXPIRED = "status = 'running' AND lease_until_us IS NOT NULL AND lease_until_us < ?"
_INSERT = (
    "INSERT INTO runs (key, owner, backend, upstream_id, surface, status, filename, "
    "filename_folded, created_us, updated_us, run, request, claimed_by, lease_until_us, "
    "attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SAVE = (
    "UPDATE runs SET status = ?, filename = ?, filename_folded = ?, updated_us = ?, run = ?, "
    "request = ?, claimed_by = ?, lease_until_us = ?, attempts = ? WHERE seq = ?"
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_encoder = msgspec.json.Encoder()
_run_decoder = msgspec.json.Decoder(canonical.ClassificationRun)
_request_decoder = msgspec.json.Decoder(canonical.ClassifyRequest)


def _us(moment: datetime) -> int:
    # a naive datetime is taken as UTC, the only zone the gateway writes
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware - _EPOCH) // _MICROSECOND


def _time(us: int) -> datetime:
    return _EPOCH + us * _MICROSECOND


def _record(row: tuple[Any, ...]) -> RunRecord:
    seq, key, owner, backend, upstream_id, surface, run, request, filename = row[:9]
    created_us, updated_us, claimed_by, lease_until_us, attempts = row[9:]
    return RunRecord(
        key=key,
        owner=owner,
        backend=backend,
        upstream_id=upstream_id,
        surface=surface,
        run=_run_decoder.decode(run),
        request=None if request is None else _request_decoder.decode(request),
        filename=filename,
        created_at=_time(created_us),
        updated_at=_time(updated_us),
        seq=seq,
        claimed_by=claimed_by,
        lease_until=None if lease_until_us is None else _time(lease_until_us),
        attempts=attempts,
    )


def _mutable_columns(r: RunRecord) -> tuple[Any, ...]:
    """status … attempts, in the order `_SAVE` and the tail of `_INSERT` name them."""
    request = None if r.request is None else _encoder.encode(r.request)
    lease = None if r.lease_until is None else _us(r.lease_until)
    return (
        *(r.run.status.value, r.filename, r.filename.casefold(), _us(r.updated_at)),
        *(_encoder.encode(r.run), request, r.claimed_by, lease, r.attempts),
    )


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction holding the file's write lock from its first statement, so a read
    inside it cannot go stale before the write (no lost updates between processes)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # also after a failed COMMIT, or the next BEGIN would fail
            conn.execute("ROLLBACK")
        raise


def _connect(path: str) -> sqlite3.Connection:
    # isolation_level=None: no implicit transactions; every one here is explicit
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe with WAL
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    with _immediate(conn):
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
        version: int = current.fetchone()[0]
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"the ledger's schema is version {version}; this crosswalk knows up to "
                f"{SCHEMA_VERSION}: upgrade crosswalk"
            )
        for statements in _MIGRATIONS[version:]:
            for statement in statements:
                conn.execute(statement)
        if version < SCHEMA_VERSION:
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))


def _all(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> tuple[RunRecord, ...]:
    return tuple(_record(row) for row in conn.execute(sql, params).fetchall())


def _one(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> RunRecord | None:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else _record(row)


def _save(conn: sqlite3.Connection, record: RunRecord) -> RunRecord:
    conn.execute(_SAVE, (*_mutable_columns(record), record.seq))
    return record


def _insert(conn: sqlite3.Connection, record: RunRecord) -> RunRecord:
    if record.run.status.terminal and record.request is not None:
        record = msgspec.structs.replace(record, request=rec.without_document(record.request))
    head = (record.key, record.owner, record.backend, record.upstream_id, record.surface)
    cols = _mutable_columns(record)
    try:
        cursor = conn.execute(_INSERT, (*head, *cols[:3], _us(record.created_at), *cols[3:]))
    except sqlite3.IntegrityError:
        raise DuplicateRun(f"run {record.key} is already recorded") from None
    inserted = _one(conn, f"{_SELECT} WHERE seq = ?", (cursor.lastrowid,))
    assert inserted is not None  # just written on this connection, under the lock
    return inserted


def _update(
    conn: sqlite3.Connection,
    key: tuple[str, str],
    run: canonical.ClassificationRun,
    now: datetime,
    only_if: frozenset[canonical.Status] | None,
    worker: str | None,
) -> RunRecord | None:
    with _immediate(conn):
        current = _one(conn, _SELECT + _BY_RUN, key)
        if current is None or (only_if is not None and current.run.status not in only_if):
            return None
        if worker is not None and current.claimed_by != worker:
            return None
        return _save(conn, rec.with_run(current, run, now))


def _claim(
    conn: sqlite3.Connection,
    worker: str,
    lease_until: datetime,
    now: datetime,
    backends: Collection[str],
    max_attempts: int | None,
) -> RunRecord | None:
    marks = ", ".join("?" * len(backends))
    where = f" WHERE backend IN ({marks}) AND (status = 'queued' OR ({_EXPIRED}))"
    with _immediate(conn):
        if max_attempts is not None:
            # out of attempts: fail it visibly rather than hand it to one more worker
            exhausted = f"{_SELECT} WHERE backend IN ({marks}) AND {_EXPIRED} AND attempts >= ?"
            for row in conn.execute(exhausted, (*backends, _us(now), max_attempts)).fetchall():
                _save(conn, rec.interrupted(_record(row), now))
        oldest = _one(conn, f"{_SELECT}{where} ORDER BY seq LIMIT 1", (*backends, _us(now)))
        if oldest is None:
            return None
        return _save(conn, rec.claimed(oldest, worker, lease_until, now))


def _cancel(conn: sqlite3.Connection, key: tuple[str, str, str], now: datetime) -> RunRecord | None:
    with _immediate(conn):
        current = _one(conn, _SELECT + _BY_OWNER_RUN, key)
        if current is None or current.run.status.terminal:
            return current
        return _save(conn, rec.with_status(current, canonical.Status.cancelled, now, None))


def _recover(conn: sqlite3.Connection, now: datetime, max_attempts: int) -> RecoveryReport:
    resumed = failed = 0
    with _immediate(conn):
        for row in conn.execute(f"{_SELECT} WHERE {_EXPIRED}", (_us(now),)).fetchall():
            record = _record(row)
            if record.attempts >= max_attempts:
                _save(conn, rec.interrupted(record, now))
                failed += 1
            else:
                _save(conn, rec.requeued(record, now))
                resumed += 1
    return RecoveryReport(resumed=resumed, failed=failed)


def _filters(owner: str, query: canonical.ListQuery) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause (without the keyword) that every part of one listing shares."""
    clauses, params = ["owner = ?"], list[Any]([owner])
    if query.status is not None:
        clauses.append("status = ?")
        params.append(query.status.value)
    if query.filename is not None:
        clauses.append("filename = ?")
        params.append(query.filename)
    if query.filename_contains:
        clauses.append("instr(filename_folded, ?) > 0")
        params.append(query.filename_contains.casefold())
    if query.created_from is not None:
        clauses.append("created_us >= ?")
        params.append(_us(query.created_from))
    if query.created_to is not None:
        clauses.append("created_us <= ?")
        params.append(_us(query.created_to))
    return " AND ".join(clauses), tuple(params)


def _list(
    conn: sqlite3.Connection,
    owner: str,
    query: canonical.ListQuery,
    cursor: tuple[str, str] | None,
) -> ListResult:
    if query.order not in ("asc", "desc") or query.direction not in ("after", "before"):
        raise ValueError(f"unknown order {query.order!r} or direction {query.direction!r}")
    if query.limit < 1:
        raise ValueError(f"limit must be at least 1, got {query.limit}")
    where, params = _filters(owner, query)
    forward = cursor is None or query.direction == "after"
    ascending = (query.order == "asc") == forward  # the way the scan walks (created, seq)
    anchor: tuple[int, int] | None = None
    if cursor is not None:
        row = conn.execute(
            "SELECT created_us, seq FROM runs" + _BY_OWNER_RUN, (owner, *cursor)
        ).fetchone()
        if row is None:
            return ListResult(records=(), has_more_after=False, has_more_before=False)
        anchor = (row[0], row[1])
    scan_where, scan_params = where, params
    if anchor is not None:
        scan_where += f" AND (created_us, seq) {'>' if ascending else '<'} (?, ?)"
        scan_params += anchor
    way = "ASC" if ascending else "DESC"
    rows = conn.execute(
        f"{_SELECT} WHERE {scan_where} ORDER BY created_us {way}, seq {way} LIMIT ?",
        (*scan_params, query.limit + 1),
    ).fetchall()
    page = [_record(r) for r in rows[: query.limit]]
    ahead = len(rows) > query.limit
    behind = anchor is not None and _exists_behind(conn, where, params, anchor, ascending)
    if not forward:
        page.reverse()  # read backwards from the cursor, shown in the query's order
    return ListResult(
        records=tuple(page),
        has_more_after=ahead if forward else behind,
        has_more_before=behind if forward else ahead,
    )


def _exists_behind(
    conn: sqlite3.Connection,
    where: str,
    params: tuple[Any, ...],
    anchor: tuple[int, int],
    ascending: bool,
) -> bool:
    """Whether anything matching lies on the cursor's other side, the cursor included."""
    side = "<=" if ascending else ">="
    sql = f"SELECT EXISTS (SELECT 1 FROM runs WHERE {where} AND (created_us, seq) {side} (?, ?))"
    return bool(conn.execute(sql, (*params, *anchor)).fetchone()[0])


class SqliteLedger:
    """Implements `Ledger` over one SQLite file; open with `await SqliteLedger.open(path)`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()  # one statement sequence at a time on the connection

    @classmethod
    async def open(cls, path: str) -> SqliteLedger:
        """Open (creating or upgrading) the ledger at `path`."""
        return cls(await anyio.to_thread.run_sync(_connect, path))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._call(self._conn.close)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        def locked() -> T:
            with self._lock:
                return fn(*args)

        # not abandoned on cancellation: a transaction always finishes before the lock frees
        return await anyio.to_thread.run_sync(locked)

    async def insert(self, record: RunRecord) -> RunRecord:
        return await self._call(_insert, self._conn, record)

    async def get(self, owner: str, backend: str, upstream_id: str) -> RunRecord | None:
        return await self._call(
            _one, self._conn, _SELECT + _BY_OWNER_RUN, (owner, backend, upstream_id)
        )

    async def find(self, backend: str, upstream_id: str) -> RunRecord | None:
        return await self._call(_one, self._conn, _SELECT + _BY_RUN, (backend, upstream_id))

    async def unfinished(self, backend: str, *, limit: int) -> tuple[RunRecord, ...]:
        return await self._call(_all, self._conn, _SELECT + _UNFINISHED, (backend, limit))

    async def update_run(
        self,
        backend: str,
        upstream_id: str,
        run: canonical.ClassificationRun,
        *,
        only_if_status_in: frozenset[canonical.Status] | None = None,
        now: datetime | None = None,
    ) -> RunRecord | None:
        at = now or datetime.now(UTC)
        key = (backend, upstream_id)
        return await self._call(_update, self._conn, key, run, at, only_if_status_in, None)

    async def finish(
        self,
        backend: str,
        upstream_id: str,
        worker: str,
        run: canonical.ClassificationRun,
        *,
        now: datetime | None = None,
    ) -> RunRecord | None:
        at, key = now or datetime.now(UTC), (backend, upstream_id)
        return await self._call(_update, self._conn, key, run, at, _RUNNING, worker)

    async def delete(self, owner: str, backend: str, upstream_id: str) -> bool:
        def delete() -> bool:
            sql = "DELETE FROM runs" + _BY_OWNER_RUN
            return self._conn.execute(sql, (owner, backend, upstream_id)).rowcount > 0

        return await self._call(delete)

    async def list(
        self, owner: str, query: canonical.ListQuery, *, cursor: tuple[str, str] | None = None
    ) -> ListResult:
        return await self._call(_list, self._conn, owner, query, cursor)

    async def claim(
        self,
        worker: str,
        lease_seconds: float,
        now: datetime,
        *,
        backends: Collection[str],
        max_attempts: int | None = None,
    ) -> RunRecord | None:
        if not backends:
            return None
        until = now + timedelta(seconds=lease_seconds)
        names = tuple(backends)
        return await self._call(_claim, self._conn, worker, until, now, names, max_attempts)

    async def heartbeat(
        self, backend: str, upstream_id: str, worker: str, lease_seconds: float, now: datetime
    ) -> bool:
        def extend() -> bool:
            sql = f"UPDATE runs SET lease_until_us = ?{_BY_RUN} AND claimed_by = ? AND status = ?"
            until = _us(now + timedelta(seconds=lease_seconds))
            params = (until, backend, upstream_id, worker, canonical.Status.running.value)
            return self._conn.execute(sql, params).rowcount > 0

        return await self._call(extend)

    async def request_cancel(
        self, owner: str, backend: str, upstream_id: str, now: datetime
    ) -> RunRecord | None:
        return await self._call(_cancel, self._conn, (owner, backend, upstream_id), now)

    async def recover(self, now: datetime, max_attempts: int) -> RecoveryReport:
        return await self._call(_recover, self._conn, now, max_attempts)


_RUNNING = frozenset({canonical.Status.running})
