"""The `crosswalk` command: `serve` runs the gateway, `check-config` validates a config file,
`webhooks list` and `webhooks retry` show and revive the outbox's deliveries.

This is the only module that reads the process environment (design.md §7).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn
from litestar import Litestar

from gateway.app import create_app
from gateway.config import ConfigError, LocalBackendConfig, Settings, load_settings
from gateway.http_protocol import CrosswalkH11Protocol
from gateway.webhooks import admin

CONFIG_ENV = "CROSSWALK_CONFIG"  # hands the config path to each `--workers` process


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `crosswalk` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "check-config":
            print(describe(load_settings(Path(args.file), os.environ)))
            return 0
        if args.command == "webhooks":
            return _webhooks(args, load_settings(args.config, os.environ))
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
    _webhooks_parser(commands)
    return parser


def _webhooks_parser(commands: Any) -> None:
    webhooks = commands.add_parser("webhooks", help="the outbox of webhook deliveries")
    actions = webhooks.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="show deliveries, oldest event first")
    listing.add_argument("--config", type=Path, help="TOML config (default: embedded local)")
    listing.add_argument("--state", choices=("pending", "delivered", "dead"))
    listing.add_argument("--limit", type=_positive, default=50)
    retry = actions.add_parser("retry", help="make an event's undelivered deliveries due now")
    retry.add_argument("event_id", metavar="EVENT_ID")
    retry.add_argument("--config", type=Path, help="TOML config (default: embedded local)")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text!r}")
    return int(text)


def _webhooks(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "list":
        print(asyncio.run(admin.list_deliveries(settings, state=args.state, limit=args.limit)))
        return 0
    count = asyncio.run(admin.retry_event(settings, args.event_id))
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
    for surface in ("retab", "extend"):
        name = settings.backend_for(surface)
        kind = settings.backends[name].kind
        mode = "pass-through" if kind == surface else "translated"
        lines.append(f"  {surface} surface -> {name} ({mode})")
    if settings.api_keys:
        lines.append(f"auth: {len(settings.api_keys)} gateway key(s) required")
    else:
        lines.append("auth: open (any non-empty key accepted; runs scoped per key)")
    lines.append(f"store: sqlite {settings.store_path}")
    # by name (the URL's host and path by default): a URL's query may hold a token
    lines += [f"webhook {hook.name}: {', '.join(hook.events)}" for hook in settings.webhooks]
    return "\n".join(lines)
