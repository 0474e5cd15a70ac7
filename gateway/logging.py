"""structlog set up for the gateway: JSON lines, or readable console lines, with the request's
context merged in.

One `request.completed` line per request (see `gateway/middleware.py`); never a key or a
document's content. `crosswalk serve --log-format` chooses the format once per process
(`choose_format`); every app built afterwards logs in it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal, get_args

import msgspec
import structlog

LogFormat = Literal["json", "console"]
LOG_FORMATS: tuple[LogFormat, ...] = get_args(LogFormat)

# set by `crosswalk serve --log-format`; None: json unless stderr is a terminal
_chosen: LogFormat | None = None


class _Stderr:
    """`sys.stderr` as it is when a line is written, not as it was when logging was set up:
    a stream swapped since (a test's capture, now closed) never swallows or breaks a line."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _json(obj: Any, **_: Any) -> str:
    return msgspec.json.encode(obj, enc_hook=str).decode()


def default_format() -> LogFormat:
    """The format used when none is chosen: console for a person at a terminal, json for a
    log collector."""
    return "console" if sys.stderr.isatty() else "json"


def choose_format(log_format: LogFormat) -> None:
    """Log in `log_format` from now on in this process, also in apps built later."""
    global _chosen
    _chosen = log_format
    configure_logging()


def current_format() -> LogFormat:
    """The format this process logs in."""
    return _chosen or default_format()


def configure_logging(*, json: bool | None = None, level: int = logging.INFO) -> None:
    """Route structlog through JSON or a console renderer at `level`; `json=None` keeps the
    chosen format (`choose_format`), else json unless stderr is a terminal."""
    use_json = current_format() == "json" if json is None else json
    renderer: Any = structlog.processors.JSONRenderer(serializer=_json)
    if not use_json:
        # in the order logged: the start-up line reads as a sentence, not sorted keys
        renderer = structlog.dev.ConsoleRenderer(sort_keys=False, colors=sys.stderr.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
