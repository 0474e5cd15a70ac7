"""API latency under document load: how long a list request takes while heavy PDFs are read.

Three gateways are measured in turn, each a server process of its own on a loopback port:

  idle     nothing in flight: the baseline
  threads  N heavy PDFs in flight, read on anyio's thread pool, as the local backend did
           before it had extractor processes (the pool's `extract` is swapped for that code
           in this server process only)
  pool     N heavy PDFs in flight, read by the extraction pool (`extract_workers` processes)

Each heavy PDF is a few KB whose pages all parse one large compressed stream (as in issue 9,
item 9); it is sent as a sync Retab create. While they are in flight, list requests are sent
one after the other for a few seconds, and their latency is reported beside the baseline.

Run from the repository root:

    python -m bench.extraction_load [--documents 8] [--seconds 5]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import NamedTuple

import anyio.to_thread
import httpx
import uvicorn

from gateway.app import create_app
from gateway.backends.local.extract import Extracted, extract_text
from gateway.backends.local.extract_process import Job, extract_job
from gateway.backends.local.pool import ExtractionPool
from gateway.config import LocalBackendConfig, Settings
from tests.harness import categories, free_port
from tests.pdfs import make_shared_stream_pdf

MODES = ("idle", "threads", "pool")
AUTH = {"authorization": "Bearer bench"}
WORKERS = 2
HEAVY = make_shared_stream_pdf(pages=8, lines=20_000)


class Latencies(NamedTuple):
    mode: str
    documents: int
    seconds: list[float]


async def _in_a_thread(self: ExtractionPool, job: Job) -> Extracted:
    """How the runner read every document before the pool: on anyio's default thread pool."""
    return await anyio.to_thread.run_sync(extract_job, job)


def serve(mode: str, port: int, directory: str) -> None:
    """Run one gateway until it is told to stop (the server side of this bench)."""
    if mode == "threads":
        setattr(ExtractionPool, "extract", _in_a_thread)  # noqa: B010 -- a bench's stand-in
    local = LocalBackendConfig(extract_workers=WORKERS, extract_timeout=120.0)
    settings = Settings(
        backends={"local": local}, default_backend="local", store_path=f"{directory}/bench.db"
    )
    app = create_app(settings)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1)


@contextmanager
def gateway(mode: str) -> Iterator[str]:
    """A gateway in its own process, in `mode`; its base URL once it answers."""
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        command = [sys.executable, "-m", "bench.extraction_load", "--serve", mode, str(port)]
        server = subprocess.Popen(
            [*command, directory], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(url)
            yield url
        finally:
            server.terminate()  # its lifespan stops the extractors
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:  # a thread still deep in pypdf
                server.kill()
                server.wait()


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v1/classifications", headers=AUTH).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no gateway answered at {url}")


def create_body() -> dict[str, object]:
    url = "data:application/pdf;base64," + base64.b64encode(HEAVY).decode()
    return {"document": {"filename": "heavy.pdf", "url": url}, "categories": categories()}


def send_heavy(url: str) -> None:
    """One sync create of the heavy PDF; its answer does not matter, only its load."""
    with contextlib.suppress(httpx.TransportError):  # the gateway was stopped under it
        httpx.post(f"{url}/v1/classifications", json=create_body(), headers=AUTH, timeout=None)


def measure(mode: str, documents: int, seconds: float) -> Latencies:
    """List latencies for `seconds` while `documents` heavy PDFs are in flight."""
    with gateway(mode) as url, httpx.Client(base_url=url, headers=AUTH, timeout=120) as client:
        client.get("/v1/classifications")  # warm: the first request builds caches
        senders = ThreadPoolExecutor(max(1, documents))
        for _ in range(documents):
            senders.submit(send_heavy, url)
        taken: list[float] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            client.get("/v1/classifications", params={"limit": 10}).raise_for_status()
            taken.append(time.perf_counter() - started)
    senders.shutdown(wait=True)
    return Latencies(mode, documents, taken)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(rows: list[Latencies], seconds: float) -> None:
    started = time.perf_counter()
    extract_text(HEAVY, mime_type="application/pdf", filename="heavy.pdf")
    cost = time.perf_counter() - started
    print(f"heavy PDF: {len(HEAVY):,} bytes, {cost:.1f} s to read on one core")
    print(f"list requests, one at a time for {seconds:g} s; extract_workers = {WORKERS}\n")
    head = ("lists", "p50 ms", "p95 ms", "max ms")
    print(f"{'gateway':<10} {'in flight':>9} " + " ".join(f"{h:>8}" for h in head))
    for row in rows:
        ms = [s * 1000 for s in row.seconds]
        print(
            f"{row.mode:<10} {row.documents:>9} {len(ms):>8} {statistics.median(ms):>8.1f} "
            f"{percentile(ms, 0.95):>8.1f} {max(ms):>8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=8, help="heavy PDFs in flight")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long lists are sent")
    parser.add_argument("--serve", nargs=3, metavar=("MODE", "PORT", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        mode, port, directory = args.serve
        serve(mode, int(port), directory)
        return
    rows = [measure(mode, 0 if mode == "idle" else args.documents, args.seconds) for mode in MODES]
    report(rows, args.seconds)


if __name__ == "__main__":
    main()
