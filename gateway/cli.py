"""The `crosswalk` command: `serve` runs the gateway (gateway/serving.py), `check-config`
validates a config file, `webhooks list` and `webhooks retry` show and revive the outbox's
deliveries, `replay` compares backends over a folder of documents (gateway/replay), `migrate`
brings the ledger's schema up to date (SQLite or PostgreSQL; `serve` also does on start-up).

This is the only module that reads the process environment (design.md §7). `compare` prints
the A/B report of the comparisons recorded in the ledger (gateway/compare/command.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import msgspec
import structlog
from litestar import Litestar

from gateway import metrics, serving
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
from gateway.environment import load_checked, missing_variables, unset_message
from gateway.logging import (
    LOG_FORMATS,
    LogFormat,
    choose_format,
    default_format,
    write_in_background,
)
from gateway.replay import commandline as replay
from gateway.serving import uvicorn_options
from gateway.startup import StartupError, check_store, probe_store, started_fields, version
from gateway.store.opening import STORE_ERRORS, migrate_store
from gateway.store.postgres.urls import is_postgres, redacted, scrubbed
from gateway.webhooks import admin
from mappings.dialects import DIALECTS, Dialect

__all__ = ["app_from_environment", "describe", "main", "uvicorn_options"]
log = structlog.get_logger("crosswalk.serve")
MAX_PORT = 65535
MAX_WORKERS = 64

SERVE_ENV = "CROSSWALK_SERVE"  # hands `Served` to each `--workers` process
DESCRIPTION = (
    "crosswalk: an API-compatibility gateway between the Retab and Extend classification "
    "APIs, with an offline local backend."
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `crosswalk` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "check-config":
            return _check_config(Path(args.file), no_env=args.no_env)
        if args.command == "compare":
            key = os.environ.get(compare.KEY_ENV)
            return compare.run(
                args, load_store_path(args.config), load_prices(args.config), key=key
            )
        if args.command == "webhooks":
            return _webhooks(args, load_store_path(args.config))
        if args.command == "migrate":
            return _migrate(load_store_path(args.config))
        if args.command == "replay":
            key = args.key or os.environ.get(replay.KEY_ENV)
            return replay.run(args, load_checked(args.config, os.environ), key=key)
        return _serve(args)
    except ConfigError as exc:
        print(f"crosswalk: configuration error: {exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"crosswalk: {exc}", file=sys.stderr)
        return 1


class _Parser(argparse.ArgumentParser):
    """Every command's help shows its flags' defaults."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """One line on stderr, not argparse's usage block above it."""
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


class _DefaultsFormatter(argparse.HelpFormatter):
    """Adds `(default: …)` to a flag's help unless it has none or its help names it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        shown = action.default not in (None, False, argparse.SUPPRESS)
        if action.option_strings and shown and "default" not in text:
            text += " (default: %(default)s)"
        return text


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="crosswalk", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"crosswalk {version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = commands.add_parser("serve", help="run the gateway", description="run the gateway")
    serve.add_argument("--config", type=Path, help="TOML config (default: embedded local)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument(
        "--port", type=_port, default=8000, help="TCP port to listen on, 1 to 65535 (0: any free)"
    )
    serve.add_argument(
        "--workers", type=_workers, default=1, help="server processes sharing the port, 1 to 64"
    )
    serve.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="json lines, or readable console lines (default: console on a terminal, else json)",
    )
    check = commands.add_parser(
        "check-config",
        help="validate a config and show its routing",
        description="validate a config and show its routing; every unset variable it names "
        "is listed",
    )
    check.add_argument("file", help="the TOML config")
    check.add_argument(
        "--no-env",
        action="store_true",
        help="check the structure only: the secrets' variables need not be set (those unset "
        "are listed)",
    )
    compare.add_parser(commands)
    _webhooks_parser(commands)
    migrate = commands.add_parser(
        "migrate",
        help="bring the ledger's schema up to date",
        description="apply the ledger's pending schema migrations (SQLite or PostgreSQL) and "
        "print its version before and after; `serve` also does this as it starts",
    )
    migrate.add_argument("--config", type=Path, help="TOML config (default: embedded local)")
    replay.add_parser(commands)
    return parser


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to {MAX_PORT}, got {text!r}")
    return int(text)


def _workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"expected a number of processes from 1 to {MAX_WORKERS}, got {text!r}"
        )
    return int(text)


def _check_config(path: Path, *, no_env: bool) -> int:
    """Print the resolved config; without `no_env`, every unset variable is an error."""
    settings, missing = missing_variables(path, os.environ)
    check_store(settings)
    if missing and not no_env:
        raise ConfigError(unset_message(missing))
    print(describe(settings))
    if no_env:
        unset = ", ".join(missing) if missing else "none"
        print(f"environment: not required (--no-env); unset here: {unset}")
    return 0


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
    except STORE_ERRORS as exc:
        reason = scrubbed(str(exc), store_path) or type(exc).__name__
        where = redacted(store_path)
        print(f"crosswalk: the ledger at {where} cannot be read: {reason}", file=sys.stderr)
        return 1
    if count is None:
        print(f"crosswalk: no webhook event {args.event_id} in the outbox", file=sys.stderr)
        return 1
    print(f"{args.event_id}: {count} undelivered deliveries due now")
    return 0


def _migrate(place: str) -> int:
    """`migrate`: the ledger at `place` (a path or a PostgreSQL URL) brought up to date."""
    try:
        before, after = migrate_store(place)
    except STORE_ERRORS as exc:
        reason = scrubbed(str(exc), place) or type(exc).__name__
        if not is_postgres(place):  # PostgresLedger's errors name the database already
            reason = f"the ledger at {place} cannot be migrated: {reason}"
        print(f"crosswalk: {reason}", file=sys.stderr)
        return 1
    current = " (up to date)" if before == after else ""
    print(f"ledger {redacted(place)}: schema version {before} -> {after}{current}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    """Check everything `serve` needs, bind its port, then serve (see gateway/serving.py)."""
    log_format: LogFormat = args.log_format or default_format()
    choose_format(log_format)
    settings = load_checked(args.config, os.environ)  # fail here, before any process starts
    check_store(settings)
    with serving.bind(args.host, args.port) as sock:  # before anything is written
        if not serving.public_url_is_set(args.config):
            settings = serving.with_public_url(settings, serving.links_url(sock))
        asyncio.run(probe_store(settings))
        fields = started_fields(
            settings,
            url=serving.listening_url(sock),
            log_format=log_format,
            workers=args.workers,
        )

        def started() -> None:
            log.info("crosswalk.started", **fields)

        if args.workers == 1:
            code = serving.serve_one(settings, sock, started)
        else:
            config = str(args.config.resolve()) if args.config is not None else None
            served = serving.Served(
                config=config, log_format=log_format, public_url=settings.server.public_url
            )
            os.environ[SERVE_ENV] = msgspec.json.encode(served).decode()
            metrics.prepare_multiprocess(args.workers)  # before the workers import prometheus
            factory = "gateway.cli:app_from_environment"
            code = serving.serve_many(factory, settings, sock, args.workers, started)
    if code:
        print("crosswalk: the gateway could not start (its log says why)", file=sys.stderr)
    return code


def app_from_environment() -> Litestar:
    """App factory of each `--workers` process: the gateway its parent checked."""
    served = msgspec.json.decode(os.environ[SERVE_ENV], type=serving.Served)
    choose_format(served.log_format)
    write_in_background()  # flushed at the worker's exit
    settings = load_settings(Path(served.config) if served.config else None, os.environ)
    return create_app(serving.with_public_url(settings, served.public_url))


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
    lines.append(f"store: {settings.store_shown}")  # a URL's password hidden
    # by name (the URL's host by default): a URL's path or query may hold a token
    lines += [f"webhook {hook.name}: {', '.join(hook.events)}" for hook in settings.webhooks]
    return "\n".join(lines)
