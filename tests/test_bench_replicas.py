"""`bench/replicas.py` runs: one second of load per row, on SQLite and on the session's
PostgreSQL server (tests/postgres.py), its table printed with every row measured."""

from __future__ import annotations

from bench.replicas import run, sqlite_store, table
from tests.postgres import PostgresServer


def test_the_replicas_bench_measures_every_store_and_replica_count(
    postgres_server: PostgresServer,
) -> None:
    def postgresql(_directory: object) -> str:
        return postgres_server.url(postgres_server.create_database())

    cells = run({"sqlite": sqlite_store, "postgresql": postgresql}, clients=2, seconds=1.0)
    assert [(c.store, c.replicas) for c in cells] == [
        ("sqlite", 1),
        ("sqlite", 2),
        ("postgresql", 1),
        ("postgresql", 2),
    ]
    for cell in cells:
        assert cell.pairs > 0, cell
        assert 0 < cell.p50_ms <= cell.p99_ms, cell
    lines = table(cells).splitlines()
    assert len(lines) == 1 + len(cells)
    assert lines[1].endswith("1.00x")
    assert lines[3].endswith("1.00x")
