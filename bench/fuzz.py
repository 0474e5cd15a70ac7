"""Bad input at volume: 50,000 generated requests (half per surface) to an in-process gateway
on the local backend, and the answers counted by status.

The requests are tests/fuzz_requests.py's (mutated real create bodies, random JSON and bytes,
wrong methods, paths, query strings and headers), sent through the ASGI app in this process, no
socket. Each answer is checked as tests/test_fuzz_surfaces.py checks it (never 5xx, errors in the
caller's envelope, no traceback); the wrong ones are counted by kind with one example each, and
the exit status is 1 if there were any.

Run from the repository root (`--examples N` for another total):

    python -m bench.fuzz
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

from gateway.config import LocalBackendConfig
from tests.fuzz_requests import KEY, FuzzRequest, Surface, problem, requests
from tests.harness import InProcessGateway, local_settings

SURFACES: tuple[Surface, ...] = ("retab", "extend")


class Tally:
    """Answers by surface and status, and the wrong ones by kind with a first example."""

    def __init__(self) -> None:
        self.statuses: Counter[tuple[Surface, int]] = Counter()
        self.wrong: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def add(self, request: FuzzRequest, status: int, wrong: str | None) -> None:
        self.statuses[request.surface, status] += 1
        if wrong is not None:
            self.wrong[wrong] += 1
            self.examples.setdefault(wrong, repr(request)[:400])

    def print(self, seconds: float) -> None:
        total = sum(self.statuses.values())
        print(f"{total} requests in {seconds:.0f} s ({total / max(seconds, 1e-9):.0f}/s)")
        for (surface, status), count in sorted(self.statuses.items()):
            print(f"  {surface:7} {status}  {count}")
        print(f"wrong answers: {sum(self.wrong.values())}")
        for kind, count in self.wrong.most_common():
            print(f"  {count:6}  {kind}\n          e.g. {self.examples[kind]}")


def fuzz(surface: Surface, examples: int, tally: Tally, workdir: Path) -> None:
    local = LocalBackendConfig(concurrency=1, extract_workers=1)
    built = local_settings(workdir, local, api_keys=(KEY,))
    with InProcessGateway(built) as gateway:
        client = gateway.http(None)

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(request=requests(surface))
        def send(request: FuzzRequest) -> None:
            response = request.send(client)
            tally.add(request, response.status_code, problem(request, response))

        send()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50_000, help="in all (default 50000)")
    total = parser.parse_args().examples
    tally = Tally()
    started = time.monotonic()
    for surface in SURFACES:
        with tempfile.TemporaryDirectory() as workdir:
            fuzz(surface, total // len(SURFACES), tally, Path(workdir))
    tally.print(time.monotonic() - started)
    return 1 if tally.wrong else 0


if __name__ == "__main__":
    sys.exit(main())
