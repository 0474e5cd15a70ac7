"""What crosswalk costs per request, measured side by side with a minimal proxy and LiteLLM.

One run starts, each in its own process on a loopback port: the mock vendor
(`bench.mock_vendor`), the minimal Litestar + httpx proxy (`bench.minimal_proxy`, 1 and N
workers), crosswalk (`crosswalk serve`, 1 and N = cores workers, a generated config with one
vendor backend on the mock) and LiteLLM's proxy (`bench.litellm_proxy`, installed into its
own venv on first use). Then for each operation (pass-through get, translated get, translated
create) and each concurrency, every server is driven in turn by wrk (`bench.load`), after a
warm-up that is not counted: first with the mock answering at once (req/s), then with the mock
answering after 20 ms (latency added over the direct call). One table follows, with each
crosswalk row's targets (issue 14) marked met or missed, and each server's RSS.

Run from the repository root:

    python -m bench.overhead [--quick] [--json] [--backend retab|extend] [--no-litellm]
                             [--rounds 3] [--concurrency 1 4 16 64] [--seconds 5]

On a shared machine, `--rounds` measures every cell several times, the servers taking turns,
and keeps the medians. Direct calls, the minimal proxy and LiteLLM send the upstream call
crosswalk makes for the operation (`bench.scenarios`); crosswalk gets the client's request.
Figures drift between runs and machines: compare the ratios within one run only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import NamedTuple

import httpx

from bench import litellm_proxy, load, overhead_table, scenarios
from bench.load import Request, Result
from bench.overhead_table import Cell, Target
from bench.processes import Server, free_port, python_command, started


class Preset(NamedTuple):
    seconds: float
    warmup: float
    concurrency: tuple[int, ...]


QUICK = Preset(seconds=2.0, warmup=0.5, concurrency=(1, 16))
FULL = Preset(seconds=5.0, warmup=1.0, concurrency=(1, 4, 16, 64))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.overhead", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--quick", action="store_true", help="c = 1 and 16, 2 s cells")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--backend", choices=scenarios.BACKENDS, default="retab")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="N")
    parser.add_argument("--concurrency", type=int, nargs="+", help="connections per cell")
    parser.add_argument(
        "--seconds", "--duration", type=float, help="measured seconds per cell (default 5)"
    )
    parser.add_argument("--warmup", type=float, help="uncounted seconds before each cell")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure each cell this often, servers in turn: medians",
    )
    parser.add_argument("--delay-ms", type=float, default=20.0, help="the mock's latency run")
    parser.add_argument("--no-litellm", action="store_true", help="leave LiteLLM out")
    parser.add_argument(
        "--load",
        choices=("wrk", "python"),
        default="wrk",
        help="python: a plain loop for smoke tests only, never real figures",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    preset = QUICK if args.quick else FULL
    seconds = args.seconds or preset.seconds
    kind, driver = load.driver(args.load)
    plan = Plan(
        concurrency=list(args.concurrency or preset.concurrency),
        seconds=seconds,
        warmup=preset.warmup if args.warmup is None else args.warmup,
        rounds=args.rounds,
        driver=driver,
    )
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as directory, ExitStack() as stack:
        work = Path(directory)
        mock = stack.enter_context(_mock(work))
        mock_rate = driver(mock.url, scenarios.operations(args.backend)[0].upstream, 64, seconds)
        targets, skipped = _targets(stack, work, mock, args)
        cells = [
            cell
            for delay in (0.0, args.delay_ms)
            for cell in _sweep(mock, targets, args.backend, delay, plan)
        ]
        rss = {target.name: target.server.rss_bytes() for target in targets}
    report = overhead_table.Report(
        backend=args.backend,
        workers=args.workers,
        load=kind,
        delay_ms=args.delay_ms,
        seconds=seconds,
        mock_rate=mock_rate.rate,
        cells=cells,
        rss=rss,
        skipped=skipped,
    )
    print(overhead_table.as_json(report) if args.json else overhead_table.as_text(report))
    return 0


@contextlib.contextmanager
def _mock(work: Path) -> Iterator[Server]:
    port = free_port()
    command = python_command("bench.mock_vendor", "--port", str(port))
    with started("mock", command, port=port, log=work / "mock.log") as mock:
        yield mock


def _targets(
    stack: ExitStack, work: Path, mock: Server, args: argparse.Namespace
) -> tuple[list[Target], dict[str, str]]:
    """Every server measured, started; and those left out, with why."""
    targets = [Target("direct", mock, via="upstream")]
    for workers in sorted({1, args.workers}):
        suffix = "" if workers == 1 else f" x{workers}"
        port = free_port()
        command = python_command(
            "bench.minimal_proxy",
            "--upstream",
            mock.url,
            "--port",
            str(port),
            "--workers",
            str(workers),
        )
        log = work / f"minimal-{workers}.log"
        server = stack.enter_context(started(f"minimal{suffix}", command, port=port, log=log))
        targets.append(Target(f"minimal{suffix}", server, via="upstream", workers=workers))
        targets.append(
            Target(
                f"crosswalk{suffix}",
                _crosswalk(stack, work, mock, args.backend, workers),
                via="gateway",
                workers=workers,
            )
        )
    skipped: dict[str, str] = {}
    if args.no_litellm:
        skipped["litellm"] = "left out (--no-litellm)"
    else:
        litellm, reason = _litellm(stack, work, mock, args.backend)
        if litellm is None:
            skipped["litellm"] = reason
        else:
            targets.append(Target("litellm", litellm, via="upstream", keyless=True))
    return targets, skipped


def _crosswalk(stack: ExitStack, work: Path, mock: Server, backend: str, workers: int) -> Server:
    home = work / f"crosswalk-{workers}"
    home.mkdir()
    config = home / "crosswalk.toml"
    config.write_text(scenarios.crosswalk_config(backend, mock.url, home))
    port = free_port()
    command = python_command(
        "gateway",
        "serve",
        "--config",
        str(config),
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-format",
        "json",
    )
    return stack.enter_context(
        started(
            f"crosswalk-{workers}",
            command,
            port=port,
            log=home / "serve.log",
            env=scenarios.crosswalk_env(),
            ready_path="/healthz",
        )
    )


def _litellm(stack: ExitStack, work: Path, mock: Server, backend: str) -> tuple[Server | None, str]:
    reason = litellm_proxy.ensure_installed(install=True)
    if reason is not None:
        return None, reason
    config = work / "litellm.yaml"
    paths = [op.upstream.path.split("?", 1)[0] for op in scenarios.operations(backend)]
    config.write_text(litellm_proxy.config(mock.url, paths))
    port = free_port()
    try:
        server = stack.enter_context(
            started(
                "litellm",
                litellm_proxy.command(config, port),
                port=port,
                log=work / "litellm.log",
                env=litellm_proxy.environment(),
                ready_path="/health/liveliness",
            )
        )
    except RuntimeError as exc:
        return None, f"could not start: {str(exc).splitlines()[0]}"
    return server, ""


class Plan(NamedTuple):
    """How each cell is measured."""

    concurrency: list[int]
    seconds: float
    warmup: float
    rounds: int
    driver: load.Driver


def _sweep(
    mock: Server, targets: list[Target], backend: str, delay_ms: float, plan: Plan
) -> Iterator[Cell]:
    """Every cell with the mock answering after `delay_ms`; with several rounds, the servers
    take turns round after round, and each cell is the median of its rounds."""
    httpx.put(f"{mock.url}/_mock/delay/{delay_ms:g}").raise_for_status()
    operations = scenarios.operations(backend)
    seeded = {
        target.name: [scenarios.seed(target.server.url, op) for op in operations]
        for target in targets
        if target.via == "gateway"
    }
    for index, operation in enumerate(operations):
        for connections in plan.concurrency:
            results: dict[str, list[Result]] = {target.name: [] for target in targets}
            for _ in range(plan.rounds):
                for target in targets:
                    request = _request(target, seeded.get(target.name, operations)[index])
                    url = target.server.url
                    if plan.warmup > 0:
                        plan.driver(url, request, connections, plan.warmup)
                    result = plan.driver(url, request, connections, plan.seconds)
                    results[target.name].append(result)
                    cell = f"mock {delay_ms:g} ms, {operation.name}, c={connections}, {target.name}"
                    print(f"{cell}: {result.rate:.0f} req/s", file=sys.stderr, flush=True)
            for name, measured in results.items():
                median = load.median(measured)
                yield Cell(
                    operation.name, operation.translated, connections, delay_ms, name, median
                )


def _request(target: Target, operation: scenarios.Operation) -> Request:
    if target.via == "gateway":
        return operation.gateway
    request = operation.upstream
    if target.keyless:  # LiteLLM's no-auth endpoints still refuse a request bearing a key
        headers = {k: v for k, v in request.headers.items() if k != "authorization"}
        return Request(request.method, request.path, headers, request.body)
    return request


if __name__ == "__main__":
    sys.exit(main())
