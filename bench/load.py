"""Load generation for the benchmarks: `wrk`, or a labelled Python loop where wrk is missing.

`wrk` (Debian's package; installed with apt-get when run as root) drives each cell: threads
never more than connections, a Lua script for the method, headers and body, and a `done`
hook printing the exact p50/p95/p99 of wrk's own latency record as JSON. The Python loop
(`--load python`) is for the smoke test alone: one blocking keep-alive connection per
thread, far slower than wrk, so its figures measure the loop, never a server.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LUA = """
wrk.method = {method}
wrk.headers = {headers}
local body = {body_path}
if body ~= nil then
  local file = assert(io.open(body, "rb"))
  wrk.body = file:read("*a")
  file:close()
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH-RESULT {{"requests": %d, "seconds": %.6f, "errors": %d, "p50": %d, "p95": %d, '
    .. '"p99": %d}}\\n',
    summary.requests, summary.duration / 1e6,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""
MARK = "BENCH-RESULT "


@dataclass(frozen=True)
class Request:
    """One kind of request a cell repeats."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes | None = None


@dataclass(frozen=True)
class Result:
    """What a cell measured; latencies in milliseconds."""

    requests: int
    seconds: float
    errors: int
    p50: float
    p95: float
    p99: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


Driver = Callable[[str, Request, int, float], Result]  # (base URL, request, connections, seconds)


def wrk_path() -> str | None:
    """wrk's path, installed first with apt-get when missing and running as root."""
    found = shutil.which("wrk")
    if found is None and shutil.which("apt-get") and _is_root():
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "wrk"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        found = shutil.which("wrk")
    return found


def _is_root() -> bool:
    return os.geteuid() == 0


def driver(kind: str) -> tuple[str, Driver]:
    """How cells are driven, and its name: wrk (installed when missing), else (or when
    `kind` is "python") the Python loop, whose figures are not real."""
    if kind == "wrk":
        wrk = wrk_path()
        if wrk is not None:
            return "wrk", lambda url, request, c, s: run_wrk(
                wrk, url, request, connections=c, seconds=s
            )
        print(
            "wrk is missing and could not be installed (as root: apt-get install wrk); "
            "falling back to the Python loop, whose figures are not real",
            file=sys.stderr,
        )
    return "python", lambda url, request, c, s: run_python(url, request, connections=c, seconds=s)


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for these texts


def run_wrk(
    wrk: str, base_url: str, request: Request, *, connections: int, seconds: float
) -> Result:
    """One wrk run of `request` against `base_url`."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as directory:
        body_path = "nil"
        if request.body is not None:
            (Path(directory) / "body").write_bytes(request.body)
            body_path = _lua_string(str(Path(directory) / "body"))
        headers = ", ".join(
            f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in request.headers.items()
        )
        script = Path(directory) / "cell.lua"
        script.write_text(
            LUA.format(
                method=_lua_string(request.method), headers=f"{{{headers}}}", body_path=body_path
            )
        )
        threads = max(1, min(connections, 2))
        command = [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base_url + request.path,
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith(MARK):
            found = json.loads(line[len(MARK) :])
            return Result(
                requests=found["requests"],
                seconds=found["seconds"],
                errors=found["errors"],
                p50=found["p50"] / 1000,
                p95=found["p95"] / 1000,
                p99=found["p99"] / 1000,
            )
    raise RuntimeError(f"wrk printed no result: {done.stdout[-500:]} {done.stderr[-500:]}")


def run_python(base_url: str, request: Request, *, connections: int, seconds: float) -> Result:
    """The same cell with a plain Python loop: for the smoke test only, never real figures."""
    target = urlsplit(base_url)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def loop() -> None:
        connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=10)
        mine: list[float] = []
        failed = 0
        while time.monotonic() < end:
            started = time.perf_counter()
            try:
                connection.request(
                    request.method, request.path, request.body, dict(request.headers)
                )
                answer = connection.getresponse()
                answer.read()
                failed += answer.status >= 400
            except (OSError, http.client.HTTPException):
                failed += 1
                connection.close()
            mine.append(time.perf_counter() - started)
        connection.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.perf_counter()
    workers = [threading.Thread(target=loop) for _ in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return summarize(latencies, time.perf_counter() - started, errors[0])


def median(results: list[Result]) -> Result:
    """Each figure's median over several measurements of one cell."""
    if len(results) == 1:
        return results[0]
    by_rate = sorted(results, key=lambda result: result.rate)[len(results) // 2]
    return Result(
        requests=by_rate.requests,
        seconds=by_rate.seconds,
        errors=sum(result.errors for result in results),
        p50=statistics.median(result.p50 for result in results),
        p95=statistics.median(result.p95 for result in results),
        p99=statistics.median(result.p99 for result in results),
    )


def summarize(latencies: list[float], seconds: float, errors: int) -> Result:
    """A Result from latencies in seconds."""
    ordered = sorted(latencies) or [0.0]

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    return Result(len(latencies), seconds, errors, at(0.50), at(0.95), at(0.99))
