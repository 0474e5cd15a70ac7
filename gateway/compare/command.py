"""`crosswalk compare`: the report of the comparisons recorded in the ledger, printed as a
table, JSON or one HTML page.

It reads only the ledger's path and the backends' prices from the config, so it needs no
secret; it never creates a ledger (a mistyped path would look like "no comparisons").
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.compare.params import ReportQuery, report_query
from gateway.compare.render_json import render_json
from gateway.compare.render_table import render_table
from gateway.compare.reports import Reports
from gateway.store.base import LedgerError, owner_of
from gateway.store.sqlite import SqliteLedger

FORMATS = ("table", "json", "html")
HELP = "print the A/B report of the comparisons recorded in the ledger"
KEY_HELP = (
    "only the comparisons of the client presenting this gateway key; without it, every "
    "client's (whoever can read the ledger file can see them all)"
)


class NoLedger(Exception):
    """There is no ledger where the config says: nothing to report, and none is made."""


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


def run(args: argparse.Namespace, store_path: str, prices: Mapping[str, float]) -> int:
    """Print the report of the ledger at `store_path`; a bad option or an unreadable ledger
    is one line on stderr and a non-zero exit."""
    options = [(name, getattr(args, name)) for name in ("since", "backends")]
    try:
        query = report_query((name, value) for name, value in options if value is not None)
    except ValueError as exc:  # its message starts with the option's name
        print(f"crosswalk: --{exc}", file=sys.stderr)
        return 2
    owner = None if args.key is None else owner_of(args.key)
    try:
        text = asyncio.run(_report(store_path, prices, owner, query, args.format))
    except NoLedger as exc:
        print(f"crosswalk: {exc}", file=sys.stderr)
        return 1
    except (LedgerError, sqlite3.Error, OSError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        print(f"crosswalk: the ledger at {store_path} cannot be read: {reason}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


async def _report(
    store_path: str,
    prices: Mapping[str, float],
    owner: str | None,
    query: ReportQuery,
    form: str,
) -> str:
    # opening would make an empty ledger where none is
    if not Path(store_path).is_file():
        raise NoLedger(f"no ledger at {store_path} (the gateway makes it when it first starts)")
    async with await SqliteLedger.open(store_path) as ledger:
        reports = Reports(ledger, prices)
        report = await reports.report(owner, since=query.since, backends=query.backends)
    if form == "json":
        return render_json(report, indent=2).decode() + "\n"
    if form == "html":
        return reports.html(report)
    return render_table(report)
