"""structlog set up for the gateway: JSON lines with the request's context merged in.

One `request.completed` line per request (see `gateway/middleware.py`); never a key or a
document's content.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import msgspec
import structlog


def _json(obj: Any, **_: Any) -> str:
    return msgspec.json.encode(obj, enc_hook=str).decode()


def configure_logging(*, json: bool | None = None, level: int = logging.INFO) -> None:
    """Route structlog through JSON (or a console renderer on a TTY) at `level`."""
    use_json = not sys.stderr.isatty() if json is None else json
    renderer: Any = structlog.processors.JSONRenderer(serializer=_json)
    if not use_json:
        renderer = structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
