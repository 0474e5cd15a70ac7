"""`crosswalk replay`'s arguments and its run as a process: logs kept to warnings on stderr,
SIGTERM handled like Ctrl-C (the replay stops cleanly and can be resumed), bad inputs one
line on stderr. `gateway/cli.py` reads the environment and hands over the key.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

from gateway.config import Settings
from gateway.logging import configure_logging
from gateway.replay.command import INTERRUPTED, run_replay
from gateway.replay.inputs import REPLAY_KEY, ReplayError, ReplayOptions
from gateway.store.base import LedgerError

KEY_ENV = "CROSSWALK_KEY"

DESCRIPTION = f"""\
Send every document under DOCS_DIR (recursively; hidden files skipped) to each of the
named backends, record each document's answers as a comparison in the ledger, then print the
comparison report of the first two backends (and write it as HTML with --out).

The comparisons belong to the key given by --key (or ${KEY_ENV}), as a client's runs do:
`GET /crosswalk/report` and `GET /crosswalk/comparisons` with that key show them. Without a
key they belong to the key "{REPLAY_KEY}" (send `Authorization: Bearer {REPLAY_KEY}`
to see them, where the gateway accepts any key). Where the gateway accepts only its
configured keys (auth.api_keys_env), the key must be one of them.

Left out although under DOCS_DIR: the ledger, its journals, the Files API's store and key,
and the files given as --categories, --expected and --out (a line says so for each). One
replay at a time uses a ledger.

Stopped with Ctrl-C or SIGTERM, it exits with 130; the same command run again sends only the
documents not compared yet (a side a backend refused with a 4xx is not sent again).

Exit status: 0 every document compared; 1 a document skipped, failed on a backend or left
unfinished (run again to resume), or the ledger could not be used; 2 bad input (or another
replay is using the ledger); 130 interrupted.
"""


def add_parser(commands: Any) -> None:
    """The `replay` subcommand of `crosswalk`."""
    replay = commands.add_parser(
        "replay",
        help="compare backends over a folder of documents",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    replay.add_argument("docs", type=Path, metavar="DOCS_DIR", help="the documents' folder")
    replay.add_argument(
        "--categories",
        type=Path,
        required=True,
        help="JSON: Retab categories ([{name, description}] or {categories}) or an Extend "
        "config ({classifications} or {config})",
    )
    replay.add_argument(
        "--backends", required=True, type=_names, help="backends of the config: a,b[,c…]"
    )
    replay.add_argument("--config", type=Path, help="TOML config (default: embedded local)")
    replay.add_argument(
        "--expected", type=Path, help="CSV of filename,label (filenames relative to DOCS_DIR)"
    )
    replay.add_argument("--concurrency", type=_count, default=8, help="documents at once")
    replay.add_argument("--out", type=Path, help="write the HTML report here")
    replay.add_argument("--key", help=f"whose comparisons these are (default: ${KEY_ENV})")


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 1000, got {text!r}")
    return int(text)


def run(args: argparse.Namespace, settings: Settings, *, key: str | None) -> int:
    """Run the replay the arguments describe; its exit status."""
    options = ReplayOptions(
        docs=args.docs,
        categories=args.categories,
        backends=args.backends,
        expected=args.expected,
        concurrency=args.concurrency,
        out=args.out,
        key=key or REPLAY_KEY,
    )
    configure_logging(level=logging.WARNING)  # the progress and the report are the output
    try:
        return asyncio.run(_stoppable(settings, options))
    except ReplayError as exc:
        print(f"crosswalk: replay: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a second Ctrl-C, or one before the replay started
        return INTERRUPTED
    except _LEDGER_ERRORS as exc:
        return _ledger_failed(exc)
    except ExceptionGroup as group:  # raised by a task of the replay's task groups
        found = group.subgroup(_LEDGER_ERRORS)
        if found is None:
            raise
        return _ledger_failed(_first(found))


_LEDGER_ERRORS = (LedgerError, sqlite3.Error, OSError)


def _ledger_failed(exc: BaseException) -> int:
    """The ledger (or its folder) cannot be used: one line, exit 1; what was recorded so far
    stays, so the same command can resume once the ledger is fixed."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    where = f"{exc.filename}: " if isinstance(exc, OSError) and exc.filename else ""
    print(f"crosswalk: replay: the ledger failed: {where}{reason}", file=sys.stderr)
    return 1


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first error in `group`, however deeply nested."""
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


async def _stoppable(settings: Settings, options: ReplayOptions) -> int:
    """The replay, stopped by SIGTERM as by Ctrl-C (asyncio cancels it on SIGINT)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await run_replay(settings, options, out=sys.stdout)
    except asyncio.CancelledError:  # stopped before or after the comparisons
        return INTERRUPTED
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
