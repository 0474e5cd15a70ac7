"""Several `crosswalk serve` replicas on one store (test_replicas.py, bench/replicas.py).

Each replica is a real process on its own loopback port, its config alike the others': the
same `[store] url`, file-link secret and webhook endpoint, and one shared `[files] dir` or
files' bytes in the store, as operators run them behind a load balancer (README "Deployment:
several replicas"). The store is read directly, SQLite or PostgreSQL alike, for what only
the ledger knows: who claimed a run, and how often.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Literal

import msgspec

from contract_tests.served_process import ServerProcess
from gateway.config import SQLITE_SCHEME

FILES_SECRET_ENV = "CROSSWALK_TEST_REPLICAS_FILES_SECRET"
WEBHOOK_SECRET_ENV = "CROSSWALK_TEST_REPLICAS_WEBHOOK_SECRET"
Storage = Literal["disk", "database"]  # where files' bytes are kept: `[files] storage`


class Local(msgspec.Struct, frozen=True, kw_only=True):
    """The local backend's options every replica is given."""

    min_run_seconds: float = 0.0
    lease_seconds: float = 30.0
    concurrency: int = 2


def write_configs(
    directory: Path,
    store_url: str,
    count: int,
    *,
    local: Local,
    webhook_url: str | None = None,
    storage: Storage = "disk",
) -> list[Path]:
    """One config per replica, alike but for where files go: every one on `store_url`, with
    a webhook endpoint (signed with the secret in WEBHOOK_SECRET_ENV) when `webhook_url` is
    given. With `storage` "disk" they share one `[files] dir`; with "database" each has a
    `[files] dir` of its own, so only the store holds what they share."""
    configs = []
    for n in range(1, count + 1):
        files = directory / ("shared-files" if storage == "disk" else f"files-{n}")
        lines = [
            "[backends.local]",
            'kind = "local"',
            f"min_run_seconds = {local.min_run_seconds}",
            f"lease_seconds = {local.lease_seconds}",
            f"concurrency = {local.concurrency}",
            "[store]",
            f'url = "{store_url}"',
            "[files]",
            f'dir = "{files}"',
            f'secret_env = "{FILES_SECRET_ENV}"',
            *([f'storage = "{storage}"'] if storage != "disk" else []),
        ]
        if webhook_url is not None:
            lines += [
                "[[webhooks]]",
                f'url = "{webhook_url}"',
                f'secret_env = "{WEBHOOK_SECRET_ENV}"',
                "allow_private = true",
                "timeout = 2.0",
            ]
        path = directory / f"replica-{n}.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        configs.append(path)
    return configs


@contextmanager
def replicas(configs: Sequence[Path], logs: Path) -> Iterator[list[ServerProcess]]:
    """A replica per config, all started at once (as a deployment's are: the first start
    migrates the store while the others wait), each logging to `logs`/replica-<n>.log; every
    one is stopped on exit."""
    servers = [
        ServerProcess(config, log=logs / f"replica-{n}.log")
        for n, config in enumerate(configs, start=1)
    ]
    try:
        with ThreadPoolExecutor(len(servers)) as starting:
            for started in [starting.submit(server.start) for server in servers]:
                started.result()
        yield servers
    finally:
        for server in servers:
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
