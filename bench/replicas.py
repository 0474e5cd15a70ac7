"""Throughput of one and two crosswalk replicas on SQLite and on PostgreSQL, side by side.

For each store, two real `crosswalk serve` replicas (contract_tests/replicas.py, started as
the replica tests start them) run on a fresh one: a SQLite file, or a new database on a
throwaway PostgreSQL cluster started the way the tests start theirs (tests/postgres.py).
Clients on loopback send, for `--seconds`, to the first replica alone (the second idles,
polling the queue), then to both, each client to one replica as a load balancer spreads
connections: translated create + get pairs, a Retab-surface create (`background: false`, a
small text document) classified by the local backend and answered in Retab's shape, then a
`GET` of that run. Each pair writes the ledger and reads it back. The table gives pairs per
second, the median and 99th-percentile pair latency, and each store's speed-up from one
replica to two.

Every row runs in the same invocation: compare the ratios, not absolute figures across runs.
The clients share the machine's cores with the replicas (and, on PostgreSQL, with its
server), so two replicas on two cores gain less than they would on machines of their own.

Run from the repository root:

    python -m bench.replicas [--seconds 5] [--clients 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import httpx

from contract_tests.replicas import FILES_SECRET_ENV, Local, replicas, write_configs

REPLICAS = (1, 2)
KEY = "bench-replicas"
CREATE = {
    "document": {"filename": "memo.txt", "url": "data:text/plain;base64,SW52b2ljZSB0b3RhbCBkdWU="},
    "categories": [{"name": "invoice"}, {"name": "letter"}],
    "background": False,
}
StoreFactory = Callable[[Path], str]  # a fresh, empty store's URL, given a scratch directory


class Cell(NamedTuple):
    """What one store with one number of replicas did."""

    store: str
    replicas: int
    pairs: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.pairs / self.seconds


async def _client(url: str, until: float, latencies: list[float], failures: list[str]) -> None:
    """Create-then-get pairs on one replica until `until` (monotonic)."""
    headers = {"authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        while time.monotonic() < until:
            began = time.perf_counter()
            created = await client.post("/v1/classifications", json=CREATE)
            if created.status_code != 201:
                failures.append(f"create: {created.status_code} {created.text[:200]}")
                return
            read = await client.get(f"/v1/classifications/{created.json()['id']}")
            if read.status_code != 200:
                failures.append(f"get: {read.status_code} {read.text[:200]}")
                return
            latencies.append(time.perf_counter() - began)


async def _load(urls: Sequence[str], clients: int, seconds: float) -> tuple[list[float], float]:
    """Every pair's latency over `seconds` of `clients` spread over `urls`, and the time."""
    latencies: list[float] = []
    failures: list[str] = []
    began = time.monotonic()
    until = began + seconds
    await asyncio.gather(
        *(_client(urls[n % len(urls)], until, latencies, failures) for n in range(clients))
    )
    elapsed = time.monotonic() - began
    if failures:
        raise RuntimeError(f"{len(failures)} clients failed; the first: {failures[0]}")
    return latencies, elapsed


def _cell(store: str, latencies: list[float], elapsed: float, count: int) -> Cell:
    if not latencies:
        raise RuntimeError(f"{store} with {count} replicas finished no pair in {elapsed:.1f} s")
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return Cell(
        store=store,
        replicas=count,
        pairs=len(latencies),
        seconds=elapsed,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=cuts[98] * 1000,
    )


def measure(
    store: str, make_store: StoreFactory, counts: Sequence[int], *, clients: int, seconds: float
) -> list[Cell]:
    """One fresh store, with as many replicas as the most `counts` asks for, loaded for
    `seconds` through the first of them, then the first two, and so on."""
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as scratch:
        directory = Path(scratch)
        configs = write_configs(directory, make_store(directory), max(counts), local=Local())
        with replicas(configs, directory) as servers:
            urls = [server.url for server in servers]
            cells = []
            for count in counts:
                latencies, elapsed = asyncio.run(_load(urls[:count], clients, seconds))
                cells.append(_cell(store, latencies, elapsed, count))
    return cells


def run(
    stores: Mapping[str, StoreFactory],
    *,
    clients: int = 8,
    seconds: float = 5.0,
    counts: Sequence[int] = REPLICAS,
) -> list[Cell]:
    """Every store with every number of replicas, one after another in this process."""
    os.environ.setdefault(FILES_SECRET_ENV, "bench-file-links")  # the replicas inherit it
    return [
        cell
        for store, make in stores.items()
        for cell in measure(store, make, counts, clients=clients, seconds=seconds)
    ]


def table(cells: Sequence[Cell]) -> str:
    """The cells as one table, each row's speed-up against its store's first row."""
    lines = [
        f"{'store':<11} {'replicas':>8} {'pairs/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs 1':>6}"
    ]
    first: dict[str, float] = {}
    for cell in cells:
        base = first.setdefault(cell.store, cell.per_second)
        lines.append(
            f"{cell.store:<11} {cell.replicas:>8} {cell.per_second:>9.1f} "
            f"{cell.p50_ms:>8.1f} {cell.p99_ms:>8.1f} {cell.per_second / base:>5.2f}x"
        )
    return "\n".join(lines)


def sqlite_store(directory: Path) -> str:
    return f"sqlite:///{directory / 'ledger.db'}"


@contextmanager
def postgres_stores() -> Iterator[StoreFactory]:
    """A throwaway cluster, as the tests start theirs; each store a new database on it."""
    from tests.postgres import find_bindir, install_postgres, start_server

    server = start_server(find_bindir() or install_postgres())
    try:
        yield lambda _directory: server.url(server.create_database())
    finally:
        server.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="of load per cell")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    args = parser.parse_args(argv)
    with postgres_stores() as postgresql:
        stores = {"sqlite": sqlite_store, "postgresql": postgresql}
        cells = run(stores, clients=args.clients, seconds=args.seconds)
    print(
        f"translated create + get pairs (Retab surface, local backend), {args.clients} clients "
        f"on loopback, {args.seconds:g} s per row, {os.cpu_count()} cores shared with them"
    )
    print(table(cells))


if __name__ == "__main__":
    main()
