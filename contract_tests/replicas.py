"""Several `crosswalk serve` replicas on one store (test_replicas.py, bench/replicas.py).

Every replica of a `Replicas` is a real process on its own loopback port, started from one
config: the same `[store] url`, the same `[files] dir` and file-link secret, the same webhook
endpoint, as operators run them behind a load balancer (README "Deployment"). The store is
read directly, SQLite or PostgreSQL alike, for what only the ledger knows: who claimed a run,
and how often.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import msgspec

from contract_tests.served_process import ServerProcess
from gateway.config import SQLITE_SCHEME

FILES_SECRET_ENV = "CROSSWALK_TEST_REPLICAS_FILES_SECRET"
WEBHOOK_SECRET_ENV = "CROSSWALK_TEST_REPLICAS_WEBHOOK_SECRET"


class Local(msgspec.Struct, frozen=True, kw_only=True):
    """The local backend's options every replica is given."""

    min_run_seconds: float = 0.0
    lease_seconds: float = 30.0
    concurrency: int = 2


def write_config(
    directory: Path, store_url: str, *, local: Local, webhook_url: str | None = None
) -> Path:
    """One config for every replica: `store_url`, files under `directory`, and a webhook
    endpoint (signed with the secret in WEBHOOK_SECRET_ENV) when `webhook_url` is given."""
    lines = [
        "[backends.local]",
        'kind = "local"',
        f"min_run_seconds = {local.min_run_seconds}",
        f"lease_seconds = {local.lease_seconds}",
        f"concurrency = {local.concurrency}",
        "[store]",
        f'url = "{store_url}"',
        "[files]",
        f'dir = "{directory / "shared-files"}"',
        f'secret_env = "{FILES_SECRET_ENV}"',
    ]
    if webhook_url is not None:
        lines += [
            "[[webhooks]]",
            f'url = "{webhook_url}"',
            f'secret_env = "{WEBHOOK_SECRET_ENV}"',
            "allow_private = true",
            "timeout = 2.0",
        ]
    path = directory / "crosswalk.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextmanager
def replicas(config: Path, logs: Path, count: int) -> Iterator[list[ServerProcess]]:
    """`count` started replicas of `config`, each logging to `logs`/replica-<n>.log; every
    one still running is stopped on exit."""
    started: list[ServerProcess] = []
    try:
        for n in range(1, count + 1):
            started.append(ServerProcess(config, log=logs / f"replica-{n}.log").start())
        yield started
    finally:
        for server in started:
            server.stop()


def query(store_url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows of one parameterless SELECT, read straight from the store at `store_url`
    (a SQLite file, opened read-only, or a PostgreSQL database)."""
    if store_url.startswith(SQLITE_SCHEME):
        path = store_url.removeprefix(SQLITE_SCHEME)
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return db.execute(sql).fetchall()
    import psycopg  # only with PostgreSQL

    with psycopg.connect(store_url, autocommit=True) as pg:
        return pg.execute(sql).fetchall()


def worker_pid(worker: str | None) -> int | None:
    """The process id a worker id (`<pid>-<token>`) names, None when unclaimed."""
    return None if worker is None else int(worker.split("-", 1)[0])


def by_pid(workers: Sequence[str | None]) -> set[int]:
    """The processes that hold or held the given claims."""
    return {pid for worker in workers if (pid := worker_pid(worker)) is not None}
