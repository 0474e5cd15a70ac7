"""Where a request's time goes inside crosswalk, for the three requests issue 14 measures:
a pass-through get (a Retab client, a `retab` backend), a translated get and a translated
create (an Extend client, the same `retab` backend).

The vendor is a tiny HTTP/1.1 server on a loopback port in a process of its own
(`MockVendor`, fixture JSON after an optional delay); the gateway is `create_app(settings)`
driven through httpx's ASGI transport in this process, so the profile holds the gateway's work
(routing, auth, the ledger, translation, the upstream client, logging, metrics) and little
else. For each kind it times `--requests` sequential requests (after a warm-up) and the CPU
they took in this process (all its threads: on a busy machine, steadier than wall time), then
profiles as many more under cProfile and prints the functions that cost the most. Then
`point-reads` times a ledger read of one run by key on a reader thread and on the caller's,
`pool` keeps 64 upstream calls in flight through a backend's pooled client (`--delay-ms`,
20 ms by default there) and through single httpx pools, and `metrics` times recording one
request's metrics with one process and in prometheus-client's multiprocess mode.
Logs go to /dev/null (their formatting is still paid for). Run from the repository root:

    python -m bench.profile_path [--requests 2000] [--top 25] [--delay-ms 0] [--kind …]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import multiprocessing
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, redirect_stderr
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import msgspec

from gateway import metrics
from gateway.app import create_app
from gateway.backends.upstream import open_client
from gateway.config import RetabBackendConfig, Secret, Settings
from gateway.store.records import RunRecord, new_record
from gateway.store.sqlite import writes
from gateway.store.sqlite.rows import BY_RUN, SELECT, one_record
from gateway.store.sqlite.threads import LedgerThreads
from mappings import retab

WIRE = Path(__file__).resolve().parent.parent / "fixtures" / "wire"
GATEWAY_KEY = "gw-bench"
KINDS = ("passthrough-get", "translated-get", "translated-create")
EXTRAS = ("point-reads", "pool", "metrics")
POOL_CALLS = 64
EXTEND_HEADERS = {"x-extend-api-version": "2026-02-09"}
EXTEND_CREATE = {
    "file": {"url": "https://docs.example/freight_invoice.pdf"},
    "config": msgspec.json.decode((WIRE / "extend_classify_runs_create_request.json").read_bytes())[
        "config"
    ],
}
RETAB_CREATE = msgspec.json.decode((WIRE / "retab_create_request.json").read_bytes())
Send = Callable[[], Awaitable[httpx.Response]]


class MockVendor:
    """Retab's classifications API on a loopback port: a create answers a new completed run,
    a get answers the same completed run every time (nothing changes between reads), each
    after `delay` seconds; `GET /connections` answers how many connections it has accepted."""

    def __init__(self, delay: float) -> None:
        self._delay = delay
        self._run = msgspec.json.decode((WIRE / "retab_create_response_201.json").read_bytes())
        self._ids = itertools.count()
        self._connections = 0

    async def serve(self, ready: Connection) -> None:
        """Serve until this process is stopped, once its URL is sent to `ready`."""
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        ready.send(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        await server.serve_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                method, path = head.split(b" ", 2)[:2]
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                body = self._answer(method, path.split(b"?", 1)[0].decode())
                if self._delay:
                    await asyncio.sleep(self._delay)
                status = b"201 Created" if method == b"POST" else b"200 OK"
                writer.write(
                    b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
                    b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _answer(self, method: bytes, path: str) -> bytes:
        if path == "/connections":
            return str(self._connections).encode()
        run_id = f"cls_bench{next(self._ids):08d}" if method == b"POST" else path.rsplit("/")[-1]
        return msgspec.json.encode({**self._run, "id": run_id})


def _serve_vendor(delay: float, ready: Connection) -> None:
    with open(os.devnull, "w") as sink, redirect_stderr(sink):  # its shutdown is not news
        asyncio.run(MockVendor(delay).serve(ready))


@contextmanager
def vendor_process(delay: float) -> Iterator[str]:
    """A `MockVendor` in a process of its own (its work is not the gateway's), and its URL."""
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve_vendor, args=(delay, theirs), daemon=True)
    process.start()
    try:
        if not ours.poll(30):
            raise SystemExit("the mock vendor did not start")
        yield str(ours.recv())
    finally:
        process.terminate()
        process.join()


def connections(vendor_url: str) -> int:
    """How many connections the mock vendor has accepted."""
    return int(httpx.get(f"{vendor_url}/connections").text)


def settings_for(vendor_url: str, store: str) -> Settings:
    """One `retab` backend at the mock vendor, holding its own key; clients show `GATEWAY_KEY`."""
    return Settings(
        backends={"retab": RetabBackendConfig(base_url=vendor_url, api_key_env="RETAB_API_KEY")},
        default_backend="retab",
        api_keys=(Secret(GATEWAY_KEY),),
        upstream_keys={"retab": Secret("sk-bench")},
        store_path=store,
    )


@asynccontextmanager
async def gateway(vendor_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A started gateway in front of the vendor, and a client of it (no socket)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(settings_for(vendor_url, os.path.join(tmp, "crosswalk.db")))
        async with app.lifespan():
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            headers = {"authorization": f"Bearer {GATEWAY_KEY}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://crosswalk.bench", headers=headers
            ) as client:
                yield client


async def sender(client: httpx.AsyncClient, kind: str) -> Send:
    """A call making one request of `kind`, once the run it reads exists."""
    if kind == "translated-create":
        return lambda: client.post("/classify_runs", json=EXTEND_CREATE, headers=EXTEND_HEADERS)
    if kind == "passthrough-get":
        made = _ok(await client.post("/v1/classifications", json=RETAB_CREATE))
        path = f"/v1/classifications/{made['id']}"
        return lambda: client.get(path)
    made = _ok(await client.post("/classify_runs", json=EXTEND_CREATE, headers=EXTEND_HEADERS))
    path = f"/classify_runs/{made['id']}"
    return lambda: client.get(path, headers=EXTEND_HEADERS)


def _ok(response: httpx.Response) -> dict[str, str]:
    if not response.is_success:
        raise SystemExit(f"the gateway answered {response.status_code}: {response.text[:300]}")
    answer: dict[str, str] = response.json()
    return answer


async def timed(send: Send, requests: int) -> list[float]:
    """Each request's time in seconds, one after another."""
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        _ok(await send())
        times.append(time.perf_counter() - started)
    return times


async def measure(kind: str, vendor_url: str, args: argparse.Namespace) -> None:
    async with gateway(vendor_url) as client:
        send = await sender(client, kind)
        await timed(send, args.requests // 5)  # warm-up
        cpu = time.process_time()
        times = await timed(send, args.requests)
        cpu = (time.process_time() - cpu) / args.requests  # all this process's threads
        if args.no_profile:
            profile = None
        else:
            profile = cProfile.Profile()
            profile.enable()
            await timed(send, args.requests)
            profile.disable()
    median, p99 = statistics.median(times), statistics.quantiles(times, n=100)[98]
    print(
        f"\n== {kind}: median {median * 1e6:.0f} µs, p99 {p99 * 1e6:.0f} µs, "
        f"CPU {cpu * 1e6:.0f} µs per request"
    )
    print(f"   ({args.requests} sequential requests, vendor delay {args.delay_ms:g} ms)")
    if profile is None:
        return
    stats = pstats.Stats(profile)
    print(by_package(stats, args.requests))
    print(top_functions(stats, args.requests, args.top))


# where a function's file lies, by the first of these found in its path
PACKAGES = (
    "gateway", "mappings", "litestar", "httpcore", "httpx", "anyio", "structlog",
    "prometheus_client", "msgspec", "sqlite3", "asyncio", "concurrent", "bench", "logging",
)  # fmt: skip


def _package(filename: str) -> str:
    parts = re.split(r"[/\\]", filename)
    for name in PACKAGES:
        if name in parts:
            return name
    return "builtins" if filename == "~" else "other"


def _rows(stats: pstats.Stats) -> dict[tuple[str, int, str], tuple[int, int, float, float, object]]:
    rows: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    rows = stats.stats  # type: ignore[attr-defined]
    return rows


def by_package(stats: pstats.Stats, requests: int) -> str:
    """Own time per package, in µs per request: what each layer costs by itself."""
    spent: dict[str, float] = {}
    for (filename, _, _), (_, _, own, _, _) in _rows(stats).items():
        package = _package(filename)
        spent[package] = spent.get(package, 0.0) + own
    total = sum(spent.values())
    lines = [f"   own time per request, by package (total {total / requests * 1e6:.0f} µs):"]
    for package, own in sorted(spent.items(), key=lambda item: -item[1]):
        lines.append(f"     {package:<18} {own / requests * 1e6:8.1f} µs  {own / total:6.1%}")
    return "\n".join(lines)


def top_functions(stats: pstats.Stats, requests: int, top: int) -> str:
    """crosswalk's own functions by cumulative time, and every function by its own time."""
    rows = _rows(stats)

    def name(key: tuple[str, int, str]) -> str:
        filename, line, function = key
        short = "/".join(re.split(r"[/\\]", filename)[-2:])
        return f"{short}:{line}({function})"

    ours = [k for k in rows if _package(k[0]) in ("gateway", "mappings")]
    ours.sort(key=lambda k: -rows[k][3])
    lines = [f"   crosswalk's functions by cumulative µs per request (top {top}):"]
    lines += [f"     {rows[k][3] / requests * 1e6:8.1f}  {name(k)}" for k in ours[:top]]
    everything = sorted(rows, key=lambda k: -rows[k][2])
    lines.append(f"   every function by own µs per request (top {top}):")
    lines += [f"     {rows[k][2] / requests * 1e6:8.1f}  {name(k)}" for k in everything[:top]]
    return "\n".join(lines)


async def point_reads(requests: int) -> None:
    """One recorded run read by key through the ledger's reader threads (`read`) and on the
    caller's thread (`read_point`), alternately, so both see the same machine."""
    with tempfile.TemporaryDirectory() as tmp:
        threads = await LedgerThreads.open(os.path.join(tmp, "ledger.db"), readers=2)
        try:
            record = await threads.write(writes.insert, _bench_record())
            key = (record.backend, record.upstream_id)
            hop: list[float] = []
            point: list[float] = []
            for _ in range(requests):
                for ways, read in ((hop, threads.read), (point, threads.read_point)):
                    started = time.perf_counter()
                    assert await read(one_record, SELECT + BY_RUN, key) is not None
                    ways.append(time.perf_counter() - started)
        finally:
            await threads.close()
    print(f"\n== point reads of one run by key ({requests} each, alternately):")
    for name, times in (("read (reader thread)", hop), ("read_point (caller)", point)):
        median, p99 = statistics.median(times), statistics.quantiles(times, n=100)[98]
        print(f"   {name:<22} median {median * 1e6:6.1f} µs, p99 {p99 * 1e6:7.1f} µs")


async def upstream_pool(seconds: float, delay_ms: float) -> None:
    """`POOL_CALLS` calls kept in flight for `seconds` through a vendor backend's client
    (`open_client`), through one pool keeping httpx's default 20 connections alive (as
    crosswalk's did before issue 14), and through one pool keeping all 100 alive, in turns."""
    delay = (delay_ms or 20.0) / 1000
    print(f"\n== upstream pool: {POOL_CALLS} calls in flight, vendor delay {delay * 1000:g} ms")
    pools = {
        "one pool, 20 kept alive": httpx.Limits(max_connections=100, max_keepalive_connections=20),
        "one pool, all kept alive": httpx.Limits(
            max_connections=100, max_keepalive_connections=100
        ),
        "open_client": None,
    }
    for name, limits in pools.items():
        with vendor_process(delay) as url:
            if limits is None:
                client = open_client(RetabBackendConfig(base_url=url), None)
            else:
                client = httpx.AsyncClient(base_url=url, limits=limits)
            async with client:
                times = await _kept_in_flight(client, seconds)
            median, p99 = statistics.median(times), statistics.quantiles(times, n=100)[98]
            print(
                f"   {name:<25} {len(times) / seconds:5.0f} calls/s, median {median * 1e3:5.1f} ms,"
                f" p99 {p99 * 1e3:6.1f} ms, {connections(url) - 1} connections opened"
            )


async def _kept_in_flight(client: httpx.AsyncClient, seconds: float) -> list[float]:
    """Each call's time, `POOL_CALLS` callers each calling again as soon as answered."""
    times: list[float] = []
    until = time.perf_counter() + seconds

    async def caller() -> None:
        while (started := time.perf_counter()) < until:
            (await client.get("/v1/classifications/cls_pooled")).raise_for_status()
            times.append(time.perf_counter() - started)

    await asyncio.gather(*(caller() for _ in range(POOL_CALLS)))
    return times


def metrics_cost(requests: int) -> None:
    """What recording one request's metrics costs (as the middleware and an upstream call
    record them), in one process and in prometheus-client's multiprocess mode (`--workers` >
    1), where every observation is written to a memory-mapped file."""
    print(f"\n== metrics recorded per request ({requests} requests):")
    context = multiprocessing.get_context("spawn")
    for mode in ("one process", "multiprocess"):
        with tempfile.TemporaryDirectory() as directory:
            env = {metrics.MULTIPROCESS_ENV: directory} if mode == "multiprocess" else {}
            ours, theirs = context.Pipe()
            saved = os.environ.copy()
            os.environ.update(env)  # the child imports gateway.metrics under it
            try:
                child = context.Process(target=_record_metrics, args=(requests, theirs))
                child.start()
            finally:
                os.environ.clear()
                os.environ.update(saved)
            micros = ours.recv()
            child.join()
        print(f"   {mode:<14} {micros:6.1f} µs per request")


def _record_metrics(requests: int, result: Connection) -> None:
    started = time.perf_counter()
    for _ in range(requests):
        metrics.request_started("retab")
        metrics.upstream_called("retab", "200", 0.02)
        metrics.request_ended(
            surface="retab", backend="retab", status=200, seconds=0.021, in_flight_as="retab"
        )
    result.send((time.perf_counter() - started) / requests * 1e6)


def _bench_record() -> RunRecord:
    run = msgspec.json.decode((WIRE / "retab_create_response_201.json").read_bytes())
    now = datetime.now(UTC)
    canonical_run, _ = retab.response_to_canonical(
        msgspec.convert(run, retab.Classification), received_at=now
    )
    return new_record("retab", canonical_run, None, surface="retab", owner="bench", now=now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--pool-seconds", type=float, default=5.0)
    parser.add_argument("--no-profile", action="store_true", help="time only")
    parser.add_argument("--kind", choices=(*KINDS, *EXTRAS), action="append")
    args = parser.parse_args()
    for kind in args.kind or (*KINDS, *EXTRAS):
        if kind == "metrics":
            metrics_cost(args.requests * 10)
            continue
        if kind == "point-reads":
            asyncio.run(point_reads(args.requests))
            continue
        if kind == "pool":
            asyncio.run(upstream_pool(args.pool_seconds, args.delay_ms))
            continue
        with (
            vendor_process(args.delay_ms / 1000) as url,
            open(os.devnull, "w") as sink,
            redirect_stderr(sink),
        ):
            asyncio.run(measure(kind, url, args))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
