"""The `crosswalk` command: `serve` runs the gateway, `check-config` validates a config file,
`webhooks list` and `webhooks retry` show and revive the outbox's deliveries, `replay`
compares backends over a folder of documents (gateway/replay).

This is the only module that reads the process environment (design.md §7). `compare` prints
the A/B report of the comparisons recorded in the ledger (gateway/compare/command.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn
from litestar import Litestar

from gateway import metrics
from gateway.app import create_app
from gateway.compare import command as compare
from gateway.config import (
    ConfigError,
    LocalBackendConfig,
    Settings,
    load_prices,
    load_settings,
    load_store_path,
)
from gateway.http_protocol import CrosswalkH11Protocol
from gateway.replay import commandline as replay
from gateway.store.base import LedgerError
from gateway.webhooks import admin
from mappings.dialects import DIALECTS, Dialect

CONFIG_ENV = "CROSSWALK_CONFIG"  # hands the config path to each `--workers` process


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `crosswalk` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "check-config":
            print(describe(load_settings(Path(args.file), os.environ)))
            return 0
        if args.command == "compare":
            key = os.environ.get(compare.KEY_ENV)
            return compare.run(
                args, load_store_path(args.config), load_prices(args.config), key=key
            )
        if args.command == "webhooks":
            return _webhooks(args, load_store_path(args.config))
        if args.command == "replay":
            key = args.key or os.environ.get(replay.KEY_ENV)
            return replay.run(args, load_settings(args.config, os.environ), key=key)
        return _serve(args)
    except ConfigError as exc:
        print(f"crosswalk: configuration error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crosswalk", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", type=Path, help="TOML config (default: embedded local)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="server processes")
    check = commands.add_parser("check-config", help="validate a config and show its routing")
    check.add_argument("file")
    compare.add_parser(commands)
    _webhooks_parser(commands)
    replay.add_parser(commands)
    return parser


def _webhooks_parser(commands: Any) -> None:
    webhooks = commands.add_parser("webhooks", help="the outbox of webhook deliveries")
    actions = webhooks.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="show deliveries, newest event first")
    listing.add_argument("--config", type=Path, help="TOML config (default: embedded local)")
    listing.add_argument("--state", choices=("pending", "delivered", "dead"))
    listing.add_argument("--limit", type=_limit, default=50, help="rows, 1 to 10000")
    retry = actions.add_parser("retry", help="make an event's undelivered deliveries due now")
    retry.add_argument("event_id", metavar="EVENT_ID")
    retry.add_argument("--config", type=Path, help="TOML config (default: embedded local)")


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= admin.MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 10000, got {text!r}")
    return int(text)


def _webhooks(args: argparse.Namespace, store_path: str) -> int:
    """`webhooks list|retry` over the ledger at `store_path`; a missing or unreadable ledger
    is one line on stderr and exit 1."""
    try:
        if args.action == "list":
            listing = admin.list_deliveries(store_path, state=args.state, limit=args.limit)
            print(asyncio.run(listing))
            return 0
        count = asyncio.run(admin.retry_event(store_path, args.event_id))
    except admin.NoLedger as exc:
        print(f"crosswalk: {exc}", file=sys.stderr)
        return 1
    except (LedgerError, sqlite3.Error, OSError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        print(f"crosswalk: the ledger at {store_path} cannot be read: {reason}", file=sys.stderr)
        return 1
    if count is None:
        print(f"crosswalk: no webhook event {args.event_id} in the outbox", file=sys.stderr)
        return 1
    print(f"{args.event_id}: {count} undelivered deliveries due now")
    return 0


def _serve(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, os.environ)  # fail here, before any process starts
    options = uvicorn_options(args.host, args.port)
    if args.workers > 1:
        if args.config is not None:
            os.environ[CONFIG_ENV] = str(args.config.resolve())
        metrics.prepare_multiprocess(args.workers)  # before the workers import prometheus
        uvicorn.run(
            "gateway.cli:app_from_environment", factory=True, workers=args.workers, **options
        )
    else:
        uvicorn.run(create_app(settings), **options)
    return 0


def uvicorn_options(host: str, port: int) -> dict[str, Any]:
    """How uvicorn serves the gateway: crosswalk logs requests itself (one summary line each)
    and answers even uvicorn's own 400s with a request id."""
    return {
        "host": host,
        "port": port,
        "access_log": False,
        "log_level": "warning",
        "http": CrosswalkH11Protocol,
    }


def app_from_environment() -> Litestar:
    """App factory for each `--workers` process: the config `serve` was given."""
    path = os.environ.get(CONFIG_ENV)
    return create_app(load_settings(Path(path) if path else None, os.environ))


def _modes(settings: Settings, surface: Dialect) -> str:
    """How a split surface's creates reach each backend it can pick."""
    picked = sorted(name for name, weight in settings.split.items() if weight > 0)
    modes = (
        f"{name} {'pass-through' if settings.backends[name].kind == surface else 'translated'}"
        for name in picked
    )
    return ", ".join(modes)


def describe(settings: Settings) -> str:
    """The resolved configuration as text, with no secret in it."""
    lines = ["backends:"]
    for name, backend in sorted(settings.backends.items()):
        line = f"  {name}: kind={backend.kind}"
        if not isinstance(backend, LocalBackendConfig):
            # the variable's name, never its value
            key = f"key from ${backend.api_key_env}" if backend.api_key_env else "client's key"
            line += f" base_url={backend.base_url} ({key})"
        lines.append(line)
    lines.append("routing:")
    lines.append(f"  default: {settings.default_backend}")
    if settings.split:
        total = sum(settings.split.values())
        weights = ", ".join(
            f"{name}={weight} ({100 * weight / total:.0f}%)"
            for name, weight in sorted(settings.split.items())
        )
        lines.append(f"  split (sticky per document): {weights}")
    if settings.fallback:
        lines.append(f"  fallback (before a run exists, in order): {', '.join(settings.fallback)}")
    if settings.shadow:
        lines.append(f"  shadow (a copy of every create, compared): {', '.join(settings.shadow)}")
    for surface in DIALECTS:
        if surface not in settings.surface_backends and settings.split:
            lines.append(f"  {surface} surface -> split ({_modes(settings, surface)})")
            continue
        name = settings.backend_for(surface)
        kind = settings.backends[name].kind
        mode = "pass-through" if kind == surface else "translated"
        lines.append(f"  {surface} surface -> {name} ({mode})")
    if settings.api_keys:
        lines.append(f"auth: {len(settings.api_keys)} gateway key(s) required")
    else:
        lines.append("auth: open (any non-empty key accepted; runs scoped per key)")
    lines.append(f"store: sqlite {settings.store_path}")
    # by name (the URL's host by default): a URL's path or query may hold a token
    lines += [f"webhook {hook.name}: {', '.join(hook.events)}" for hook in settings.webhooks]
    return "\n".join(lines)
