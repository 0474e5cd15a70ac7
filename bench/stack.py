"""Which server stack serves crosswalk fastest: uvicorn on uvloop with httptools, uvicorn on
plain asyncio with h11 (pure Python) or httptools, and granian (Rust, when installed), each
with 1 and 2 worker processes, measured side by side in one run.

Every stack serves the same gateway: a Retab-surface client reading a run that an Extend
backend holds, so each request is a translated get (the ledger read, one upstream call, the
answer mapped back). The vendor is `bench.mock_vendor` on loopback (its own process on
uvloop, answering at once from a fixture), far faster than the gateway. `wrk` drives each
stack (installed with apt-get when missing), after a warm-up that is not counted. All stacks
serve at once and are measured in turn, round after round; the table gives each cell's round
of median throughput: requests per second, wrk's p50 and p99 latency, and the throughput
relative to the default (uvicorn + uvloop + httptools) with as many workers. Figures drift
between runs and machines: compare the ratios within one run.

Run from the repository root:

    python -m bench.stack                  # c = 1 and 16, 5 s a cell, 3 rounds
    python -m bench.stack --seconds 10 --rounds 5 --concurrency 1 4 16 64
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import NamedTuple

import httpx
import msgspec

from bench.load import Request, Result, run_wrk, wrk_path
from bench.processes import free_port, python_command, started
from gateway.serving import Served

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-gateway-key"
START_SECONDS = 60.0
WARM_UP_SECONDS = 1


class Stack(NamedTuple):
    label: str
    server: str  # "uvicorn" (through `crosswalk serve`) or "granian"
    loop: str
    http: str
    workers: int


def stacks(workers: int) -> list[Stack]:
    """The stacks compared: `crosswalk serve`'s own choices, then granian when installed."""
    found = []
    for count in sorted({1, workers}):
        found += [
            Stack(f"uvicorn uvloop httptools x{count}", "uvicorn", "uvloop", "httptools", count),
            Stack(f"uvicorn asyncio httptools x{count}", "uvicorn", "asyncio", "httptools", count),
            Stack(f"uvicorn asyncio h11 x{count}", "uvicorn", "asyncio", "h11", count),
        ]
        if importlib.util.find_spec("granian") is not None:
            found.append(Stack(f"granian x{count}", "granian", "uvloop", "-", count))
    return found


def write_config(folder: Path, vendor: str, stack: Stack) -> Path:
    path = folder / f"{stack.label.replace(' ', '-')}.toml"
    path.write_text(
        '[auth]\napi_keys_env = "BENCH_GATEWAY_KEYS"\n\n'
        f'[backends.extend]\nkind = "extend"\nbase_url = "{vendor}"\n'
        'api_key_env = "BENCH_EXTEND_KEY"\nrefresh_interval = 0\n\n'
        '[routing]\ndefault = "extend"\n\n'
        f'[store]\nurl = "sqlite:///{folder}/{path.stem}.db"\n\n'
        f'[server]\nloop = "{stack.loop if stack.server == "uvicorn" else "uvloop"}"\n'
        f'http = "{stack.http if stack.server == "uvicorn" else "httptools"}"\n',
        encoding="utf-8",
    )
    return path


@contextlib.contextmanager
def serving(stack: Stack, config: Path, port: int) -> Iterator[str]:
    """The gateway served by `stack` on `port`, until the block ends; its URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSWALK_")}
    env |= {"BENCH_GATEWAY_KEYS": KEY, "BENCH_EXTEND_KEY": "bench-vendor-key"}
    url = f"http://127.0.0.1:{port}"
    if stack.server == "uvicorn":
        command = [sys.executable, "-m", "gateway", "serve", "--config", str(config)]
        command += ["--port", str(port), "--workers", str(stack.workers)]
    else:
        served = Served(config=str(config), log_format="json", public_url=url)
        env["CROSSWALK_SERVE"] = msgspec.json.encode(served).decode()
        command = [sys.executable, "-m", "granian", "--interface", "asgi", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(stack.workers)]
        command += ["--loop", "uvloop", "--no-access-log", "--log-level", "warning"]
        command += ["gateway.cli:app_from_environment"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_serving(url, process)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_serving(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the gateway at {url} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/v1/nothing", timeout=1).status_code:
                return
        time.sleep(0.2)
    raise SystemExit(f"the gateway at {url} did not start in {START_SECONDS:.0f} s")


def create_run(url: str) -> str:
    """One run, created through the Retab surface; its public id."""
    body = msgspec.json.decode(
        (ROOT / "fixtures/wire/retab_create_request_background.json").read_bytes()
    )
    body |= {"n_consensus": 1, "background": False}
    headers = {"authorization": f"Bearer {KEY}"}
    answer = httpx.post(f"{url}/v1/classifications", json=body, headers=headers, timeout=30)
    if answer.status_code != 201:
        raise SystemExit(f"the bench run was not created: {answer.status_code} {answer.text}")
    public_id: str = answer.json()["id"]
    return public_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stack", description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="measured seconds per cell")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--workers", type=int, default=2, help="the N of the N-worker rows")
    parser.add_argument("--rounds", type=int, default=3, help="cells measured this many times")
    args = parser.parse_args(argv)
    wrk = wrk_path()
    if wrk is None:
        raise SystemExit("bench.stack needs wrk (as root: apt-get install wrk)")
    rows = stacks(args.workers)
    measured: dict[tuple[str, int], list[Result]] = {}
    with tempfile.TemporaryDirectory(prefix="crosswalk-stack-") as folder, ExitStack() as up:
        port = free_port()
        mock = python_command("bench.mock_vendor", "--port", str(port))
        vendor = up.enter_context(
            started("mock vendor", mock, port=port, log=Path(folder) / "mock.log")
        )
        # every stack serves at once and each round visits them in turn, so a burst of
        # load from elsewhere on the machine falls on all of them alike
        targets = {}
        for stack in rows:
            config = write_config(Path(folder), vendor.url, stack)
            url = up.enter_context(serving(stack, config, free_port()))
            path = f"/v1/classifications/{create_run(url)}"
            targets[stack.label] = (url, Request("GET", path, {"authorization": f"Bearer {KEY}"}))
        for _ in range(args.rounds):
            for stack in rows:
                url, request = targets[stack.label]
                for c in args.concurrency:
                    run_wrk(wrk, url, request, connections=c, seconds=WARM_UP_SECONDS)
                    figures = run_wrk(wrk, url, request, connections=c, seconds=args.seconds)
                    measured.setdefault((stack.label, c), []).append(figures)
                    print(f"{stack.label:32} c={c:<3} {row(figures)}", file=sys.stderr)
    results = {cell: median(runs) for cell, runs in measured.items()}
    print(table(results, args.concurrency, rows))
    return 0


def median(runs: list[Result]) -> Result:
    """The run of median throughput among a cell's rounds."""
    return sorted(runs, key=lambda figures: figures.rate)[len(runs) // 2]


def row(figures: Result) -> str:
    errors = f" errors={figures.errors}" if figures.errors else ""
    latency = f"p50 {figures.p50:6.2f} ms  p99 {figures.p99:7.2f} ms"
    return f"{figures.rate:8.0f} req/s  {latency}{errors}"


def table(results: dict[tuple[str, int], Result], concurrency: list[int], rows: list[Stack]) -> str:
    """A Markdown table: one row per stack, per concurrency req/s (x the default), p50, p99."""
    head = (
        "| stack | "
        + " | ".join(f"c={c} req/s | c={c} p50 ms | c={c} p99 ms" for c in concurrency)
        + " |"
    )
    lines = [head, "|---" * (1 + 3 * len(concurrency)) + "|"]
    for stack in rows:
        default = f"uvicorn uvloop httptools x{stack.workers}"
        cells = []
        for c in concurrency:
            figures = results[stack.label, c]
            ratio = figures.rate / results[default, c].rate
            cells.append(
                f"{figures.rate:.0f} ({ratio:.2f}x) | {figures.p50:.2f} | {figures.p99:.2f}"
            )
        lines.append(f"| {stack.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
