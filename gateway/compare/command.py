"""`crosswalk compare`: the report of the comparisons recorded in the ledger, printed as a
table, JSON or one HTML page.

It reads only the ledger's path and the backends' prices from the config, so it needs no
secret; it never creates or changes a ledger (a mistyped path would look like "no
comparisons"): a file that is not one is refused (gateway/store/sqlite/existing.py).

The key that scopes the report is read from ${KEY_ENV}, as `crosswalk replay` reads it
(gateway/cli.py hands it over); `--key` overrides it but leaves the key in the shell's history
and in the process list. A reader that stops early (`crosswalk compare | head`) ends the
command quietly with exit status 141, as a shell reports a command stopped by SIGPIPE, so a
`set -o pipefail` script can tell the report was cut.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.compare.params import ReportQuery, report_query
from gateway.compare.render_json import render_json
from gateway.compare.render_table import render_table
from gateway.compare.reports import Reports
from gateway.store.base import owner_of
from gateway.store.opening import STORE_ERRORS, NoLedger, open_existing
from gateway.store.postgres.urls import redacted, scrubbed

FORMATS = ("table", "json", "html")
KEY_ENV = "CROSSWALK_KEY"  # the variable `crosswalk replay` reads its key from
HELP = "print the A/B report of the comparisons recorded in the ledger"
KEY_HELP = (
    f"only the comparisons of the client presenting this gateway key (default: ${KEY_ENV}, "
    "the better way: a key given here stays in the shell's history and shows in the process "
    "list); without either, every client's (whoever can read the ledger file can see them all)"
)
BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a command whose reader left


def add_parser(commands: Any) -> None:
    """The `compare` subcommand and its options."""
    compare = commands.add_parser("compare", help=HELP, description=HELP)
    compare.add_argument("--config", type=Path, help="TOML config (default: embedded local)")
    compare.add_argument(
        "--since", help="only comparisons created from this date or ISO datetime (UTC if bare)"
    )
    compare.add_argument("--format", choices=FORMATS, default="table", help="default: table")
    compare.add_argument(
        "--backends", help="the two backends to compare, a,b (default: the usual pair)"
    )
    compare.add_argument("--key", help=KEY_HELP)


def run(
    args: argparse.Namespace,
    store_path: str,
    prices: Mapping[str, float],
    *,
    key: str | None = None,
) -> int:
    """Print the report of the ledger at `store_path`, of `key`'s comparisons (every client's
    for None; `--key` wins over it); a bad option or an unreadable ledger is one line on
    stderr and a non-zero exit."""
    options = [(name, getattr(args, name)) for name in ("since", "backends")]
    try:
        query = report_query((name, value) for name, value in options if value is not None)
    except ValueError as exc:  # its message starts with the option's name
        print(f"crosswalk: --{exc}", file=sys.stderr)
        return 2
    given = args.key if args.key is not None else key
    owner = owner_of(given) if given else None
    try:
        text = asyncio.run(_report(store_path, prices, owner, query, args.format))
    except NoLedger as exc:
        print(f"crosswalk: {exc}", file=sys.stderr)
        return 1
    except STORE_ERRORS as exc:
        reason = scrubbed(str(exc), store_path) or type(exc).__name__
        where = redacted(store_path)
        print(f"crosswalk: the ledger at {where} cannot be read: {reason}", file=sys.stderr)
        return 1
    return _print(text)


def _print(text: str) -> int:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()  # here, where a reader gone is caught, not at exit with a traceback
    except BrokenPipeError:
        # what is still buffered would fail again when Python flushes stdout at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return BROKEN_PIPE
    return 0


async def _report(
    store_path: str,
    prices: Mapping[str, float],
    owner: str | None,
    query: ReportQuery,
    form: str,
) -> str:
    async with await open_existing(store_path) as ledger:
        reports = Reports(ledger, prices)
        report = await reports.report(owner, since=query.since, backends=query.backends)
    if form == "json":
        return render_json(report, indent=2).decode() + "\n"
    if form == "html":
        return await reports.html(report)
    return render_table(report)
