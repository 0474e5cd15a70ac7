"""crosswalk held under load for minutes: is its memory flat, and how much does it log?

crosswalk (`crosswalk serve`, one process, its default log level, JSON lines) runs with one
vendor backend on the mock vendor answering after 20 ms, and wrk keeps 256 requests in flight
for `--minutes` (5 by default) of one operation (`bench.scenarios`). The gateway's RSS is
sampled every few seconds: the report gives the sample a tenth of the way in (start-up costs
settled), the last, the range, and whether all stayed within ±10 % of the settled one (the
target). Log bytes per request are the bytes the served process wrote to its stdout and
stderr during the load, over the requests wrk sent (answered or timed out; target: ≤ 300).

Run from the repository root:

    python -m bench.soak [--minutes 5] [--connections 256] [--operation "translated get"]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench import load, scenarios
from bench.processes import Server, free_port, python_command, started

FLAT = 0.10  # RSS stays within this share of its first settled sample
LOG_BYTES_PER_REQUEST = 300
SAMPLE_SECONDS = 2.0
READY = "/healthz"


@contextlib.contextmanager
def gateway(work: Path, backend: str, delay_ms: float) -> Iterator[tuple[Server, Path]]:
    """The mock (answering after `delay_ms`) and crosswalk on it; crosswalk's log file."""
    mock_port, port = free_port(), free_port()
    mock_command = python_command("bench.mock_vendor", "--port", str(mock_port))
    with started("mock", mock_command, port=mock_port, log=work / "mock.log") as mock:
        httpx.put(f"{mock.url}/_mock/delay/{delay_ms:g}").raise_for_status()
        config = work / "crosswalk.toml"
        config.write_text(scenarios.crosswalk_config(backend, mock.url, work))
        command = python_command("gateway", "serve", "--config", str(config), "--port", str(port))
        log = work / "serve.log"
        env = scenarios.crosswalk_env()
        with started(
            "crosswalk", command, port=port, log=log, env=env, ready_path="/healthz"
        ) as cw:
            yield cw, log


def sample(server: Server, stop: threading.Event, into: list[int]) -> None:
    while not stop.wait(SAMPLE_SECONDS):
        into.append(server.rss_bytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    names = [op.name for op in scenarios.operations("retab")]
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=256, help="requests in flight")
    parser.add_argument("--operation", choices=names, default="translated get")
    parser.add_argument("--backend", choices=scenarios.BACKENDS, default="retab")
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument(
        "--load", choices=("wrk", "python"), default="wrk", help="python: smoke only"
    )
    args = parser.parse_args(argv)
    kind, driver = load.driver(args.load)
    result, samples, logged = soak(args, driver)
    print(report(args, result, samples, logged, kind))
    return 0


def soak(args: argparse.Namespace, driver: load.Driver) -> tuple[load.Result, list[int], int]:
    """The load's result, the RSS samples and the log bytes written meanwhile."""
    seconds = args.minutes * 60
    with (
        tempfile.TemporaryDirectory(prefix="bench-soak-") as directory,
        gateway(Path(directory), args.backend, args.delay_ms) as (server, log),
    ):
        operation = {op.name: op for op in scenarios.operations(args.backend)}[args.operation]
        request = scenarios.seed(server.url, operation).gateway
        samples: list[int] = [server.rss_bytes()]
        stop = threading.Event()
        sampler = threading.Thread(target=sample, args=(server, stop, samples))
        logged = log.stat().st_size
        sampler.start()
        try:
            result = driver(server.url, request, args.connections, seconds)
        finally:
            stop.set()
            sampler.join()
        samples.append(server.rss_bytes())
        return result, samples, log.stat().st_size - logged


def report(
    args: argparse.Namespace, result: load.Result, samples: list[int], logged: int, kind: str
) -> str:
    settled = samples[min(len(samples) - 1, max(1, len(samples) // 10))]
    low, high = min(samples[1:] or samples), max(samples[1:] or samples)
    spread = max(high - settled, settled - low) / settled
    # a request wrk gave up on (a timeout) was most often still served, and logged
    sent = result.requests + result.errors
    per_request = logged / sent if sent else float("nan")
    flat = "met" if spread <= FLAT else "missed"
    quiet = "met" if per_request <= LOG_BYTES_PER_REQUEST else "missed"
    mb = 2**20
    return "\n".join(
        [
            f"soak: {args.operation} on a {args.backend} backend, {args.connections} in flight, "
            f"{args.minutes:g} min, mock at {args.delay_ms:g} ms"
            + ("; load: a Python loop (NOT real figures)" if kind == "python" else "; load: wrk"),
            f"requests: {result.requests:,} ({result.rate:,.0f}/s), errors: {result.errors}, "
            f"p50 {result.p50:.1f} ms, p99 {result.p99:.1f} ms",
            f"RSS: settled {settled / mb:.1f} MB, last {samples[-1] / mb:.1f} MB, range "
            f"{low / mb:.1f}-{high / mb:.1f} MB: within {spread:.1%} of settled "
            f"(target ±{FLAT:.0%}): {flat}",
            f"log: {logged:,} bytes, {per_request:.0f} bytes per request "
            f"(target ≤ {LOG_BYTES_PER_REQUEST}): {quiet}",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
