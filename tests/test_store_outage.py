"""A ledger whose database is out of reach answers 503 with Retry-After in the caller's own
format (gateway/store/outage.py), never a 500: the client may simply try again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import psycopg_pool
import pytest
from psycopg import sql

from gateway.config import FilesConfig
from gateway.store.outage import is_outage
from gateway.store.postgres import runner
from tests.harness import MakeGateway, extend_error, local_settings, retab_error, wait_until
from tests.postgres import PostgresServer

EXTEND = {"authorization": "Bearer test-key", "x-extend-api-version": "2026-02-09"}
RETAB = {"api-key": "test-key"}


def test_only_an_unreachable_or_busy_store_counts_as_an_outage() -> None:
    assert is_outage(psycopg_pool.PoolTimeout("no connection in 1 s"))
    assert is_outage(psycopg.OperationalError("connection refused"))
    assert is_outage(sqlite3.OperationalError("database is locked"))
    assert not is_outage(sqlite3.OperationalError("no such table: runs"))  # a bug, a 500
    assert not is_outage(psycopg.errors.UndefinedTable("relation does not exist"))
    assert not is_outage(ValueError("database is locked"))


def test_a_database_gone_away_is_a_503_to_retry_on_both_surfaces(
    tmp_path: Path,
    postgres_server: PostgresServer,
    postgres_url: str,
    make_gateway: MakeGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner, "CHECKOUT_TIMEOUT", 0.5)  # a short wait for the dead pool
    files = FilesConfig(dir=str(tmp_path / "files"))
    settings = local_settings(tmp_path, store_url=postgres_url, files=files)
    client = make_gateway.client(settings)
    config = {"classifications": [{"id": "inv", "type": "invoice", "description": "a bill"}]}
    body = {"file": {"text": "Invoice 42: total due", "name": "a.txt"}, "config": config}
    created = client.post("/classify_runs", json=body, headers=EXTEND)
    assert created.status_code == 200, created.text
    run = f"/classify_runs/{created.json()['id']}"
    assert client.get(run, headers=EXTEND).status_code == 200

    name = postgres_url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(name))
        )
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        # a terminated backend ends a moment later: the requests must find every one gone
        alive = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
        wait_until(lambda: _count(admin.execute(alive, (name,)).fetchone()) == 0)
        extend = client.get(run, headers=EXTEND)
        retab = client.get("/v1/classifications", headers=RETAB)
        admin.execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(sql.Identifier(name))
        )

    assert extend_error(extend, 503)["retryable"] is True
    assert extend.headers["retry-after"] == "1"
    assert retab_error(retab, 503)
    assert retab.headers["retry-after"] == "1"
    assert postgres_server.host not in extend.text + retab.text
    assert client.get(run, headers=EXTEND).status_code == 200  # and back once it is


def _count(row: tuple[object, ...] | None) -> int:
    assert row is not None
    assert isinstance(row[0], int)
    return row[0]
