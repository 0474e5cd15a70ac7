"""structlog set up for the gateway: JSON lines, or readable console lines, with the request's
context merged in.

One `request.completed` line per request (see `gateway/middleware.py`); never a key or a
document's content. `crosswalk serve --log-format` chooses the format once per process
(`choose_format`); every app built afterwards logs in it.

structlog is configured once per process, with loggers cached on first use, so a log call
builds nothing. Later calls (`configure_logging` from each app, a format chosen, a level)
change the one processor list in place: cached loggers, and structlog's `capture_logs`, see
the change. A served process (`write_in_background`) renders and writes its lines on a
thread of their own: a request's line costs the event loop a dict and a queue put, not the
JSON encoding nor a write to a pipe; `flush` (also at exit) waits until all are written.
httpx's and httpcore's own INFO lines (one per upstream call) are off: the request's line
already names its backend and upstream status.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any, Literal, TextIO, get_args

import msgspec
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LogFormat = Literal["json", "console"]
LOG_FORMATS: tuple[LogFormat, ...] = get_args(LogFormat)
FLUSH_SECONDS = 5.0  # at exit, lines still queued get this long to be written
BATCH = 256  # lines written at most in one write
# stdlib loggers of the HTTP client that would otherwise log each upstream call at INFO
QUIET_LIBRARIES = ("httpx", "httpcore")

# set by `crosswalk serve --log-format`; None: json unless stderr is a terminal
_chosen: LogFormat | None = None
# the one processor list every logger holds; changed in place, never replaced
_processors: list[Processor] = []
_threshold = logging.INFO
_LEVELS = logging.getLevelNamesMapping()


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


def _at_level(_: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """Drops a line below the configured level (a processor, so the level can change
    under loggers already cached)."""
    if _LEVELS.get(method.upper(), logging.ERROR) < _threshold:
        raise structlog.DropEvent
    return event


def _stamp(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """The time of the call, as a number: the writer formats it (`_iso`)."""
    event["timestamp"] = time.time()
    return event


def _iso(seconds: float) -> str:
    stamp = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def configure_logging(*, json: bool | None = None, level: int = logging.INFO) -> None:
    """Route structlog through JSON or a console renderer at `level`; `json=None` keeps the
    chosen format (`choose_format`), else json unless stderr is a terminal."""
    global _threshold
    use_json = current_format() == "json" if json is None else json
    renderer: Any = structlog.processors.JSONRenderer(serializer=_json)
    if not use_json:
        # in the order logged: the start-up line reads as a sentence, not sorted keys
        renderer = structlog.dev.ConsoleRenderer(sort_keys=False, colors=sys.stderr.isatty())
    _threshold = level
    _sink.renderer = renderer
    _processors[:] = [
        _at_level,
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        _stamp,
        # on the calling thread: `exc_info=True` means the exception being handled there
        structlog.processors.format_exc_info,
        _sink.deferred,
    ]
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    if structlog.get_config()["processors"] is not _processors:
        structlog.configure(
            processors=_processors,
            wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
            logger_factory=lambda *_: _sink,
            cache_logger_on_first_use=True,
        )


def write_in_background() -> None:
    """From now on, render and write this process's lines on a thread of their own."""
    _sink.start()


def flush(timeout: float = FLUSH_SECONDS) -> None:
    """Wait until every line logged so far is written (at most `timeout` seconds)."""
    _sink.flush(timeout)


Queued = tuple[TextIO, EventDict] | threading.Event  # a line and its stream, or a flush


class _Sink:
    """The one logger every structlog logger writes through: it renders and writes a line
    at once, or, once started, hands it to its writer thread.

    Each line is written to `sys.stderr` as it was when the line was logged: a stream
    swapped since (a test's capture, now closed) never swallows or breaks a line.
    """

    def __init__(self) -> None:
        self.renderer: Processor = structlog.processors.JSONRenderer(serializer=_json)
        self._queue: queue.SimpleQueue[Queued] | None = None
        self._pid = 0

    @staticmethod
    def deferred(_: WrappedLogger, __: str, event: EventDict) -> tuple[tuple[Any], dict[str, Any]]:
        """The last processor: the event itself goes to the sink, rendered later."""
        return (event,), {}

    def write(self, event: EventDict) -> None:
        stream = sys.stderr
        if self._queue is not None and self._pid == os.getpid():
            self._queue.put((stream, event))
            return
        stream.write(self._render(event))
        stream.flush()

    debug = info = warning = warn = error = err = critical = fatal = exception = msg = write

    def _render(self, event: EventDict) -> str:
        if isinstance(event.get("timestamp"), float):
            event["timestamp"] = _iso(event["timestamp"])
        return str(self.renderer(None, "", event)) + "\n"

    def start(self) -> None:
        if self._queue is not None and self._pid == os.getpid():
            return
        self._queue = queue.SimpleQueue()
        self._pid = os.getpid()  # a forked child writes its own lines, at once
        writer = threading.Thread(target=self._run, args=(self._queue,), daemon=True)
        writer.name = "log-writer"
        writer.start()
        atexit.register(self.flush, FLUSH_SECONDS)

    def flush(self, timeout: float) -> None:
        if self._queue is None or self._pid != os.getpid():
            return
        written = threading.Event()
        self._queue.put(written)
        written.wait(timeout)

    def _run(self, lines: queue.SimpleQueue[Queued]) -> None:
        while True:
            batch = [lines.get()]
            # what queued up meanwhile is written at once: one write per burst, not per line
            while len(batch) < BATCH:
                try:
                    batch.append(lines.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[Queued]) -> None:
        texts: list[str] = []
        stream: TextIO | None = None
        for item in batch:
            if isinstance(item, threading.Event) or (stream is not None and item[0] is not stream):
                self._emit(stream, texts)
                texts, stream = [], None
            if isinstance(item, threading.Event):
                item.set()
                continue
            stream = item[0]
            try:
                texts.append(self._render(item[1]))
            except Exception:
                name = _json(str(item[1].get("event")))
                texts.append(f'{{"event":"log.unrenderable","logged":{name}}}\n')
        self._emit(stream, texts)

    @staticmethod
    def _emit(stream: TextIO | None, texts: list[str]) -> None:
        if stream is None or not texts:
            return
        try:
            stream.write("".join(texts))
            stream.flush()
        except (OSError, ValueError):  # closed or broken: nothing left to write to
            pass


_sink = _Sink()
