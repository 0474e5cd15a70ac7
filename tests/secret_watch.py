"""A pytest plugin: no test key may appear in anything logged during the whole test session.

Watched: every line structlog prints and every stdlib log record emitted in this process, as it
is written, and at the session's end the `*.log` files under the session's temporary directory
(where real `crosswalk serve` processes write their output, contract_tests/served_process.py).
The keys: every key string the tests' sources spell (`sk-…`, `gw-…`, `key-…` literals) and every
key the harness was handed (tests/harness.py `known_keys`). A line holding one fails the session,
shown with the key redacted. Keys under five characters (`"k"`) are too common to look for.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import structlog

from tests.harness import known_keys

ROOT = Path(__file__).parent.parent
SOURCES = ("tests", "contract_tests")
KEY_LITERAL = re.compile(r"""["']((?:sk|gw|key)-[A-Za-z0-9_-]+)["']""")
MIN_KEY = 5
PRINT_METHODS = (
    "msg", "log", "debug", "info", "warn", "warning", "err", "error", "critical",
    "exception", "fatal", "failure",
)  # fmt: skip


def source_keys(root: Path = ROOT) -> set[str]:
    """Every key-like string literal in the tests' sources."""
    found: set[str] = set()
    for folder in SOURCES:
        for path in (root / folder).glob("*.py"):
            found.update(KEY_LITERAL.findall(path.read_text(encoding="utf-8")))
    return found


def redact(line: str, key: str) -> str:
    return line.replace(key, f"<key {key[:3]}…>")


class Watch:
    """The keys to look for and the lines found holding one."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._static = set(keys)
        self._count = -1
        self._pattern: re.Pattern[str] | None = None
        self.leaks: list[str] = []

    def _keys(self) -> re.Pattern[str] | None:
        keys = {k for k in self._static | known_keys if len(k) >= MIN_KEY}
        if len(keys) != self._count:  # the harness was handed a new key: look for it too
            self._count = len(keys)
            # a key is a whole token: `key-a` is not found inside `key-ab` or `my-key-a`
            alternatives = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
            self._pattern = re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])") if keys else None
        return self._pattern

    def check(self, where: str, text: str) -> None:
        pattern = self._keys()
        if pattern is None:
            return
        for line in text.splitlines():
            found = pattern.search(line)
            if found is not None:
                self.leaks.append(f"{where}: {redact(line, found.group())[:600]}")


def _watch_structlog(watch: Watch) -> None:
    """Every structlog PrintLogger (crosswalk's factory makes them) reports what it prints."""
    for name in PRINT_METHODS:
        original: Callable[..., Any] = getattr(structlog.PrintLogger, name)

        def watched(self: Any, message: str, _original: Callable[..., Any] = original) -> None:
            watch.check("structlog", str(message))
            _original(self, message)

        setattr(structlog.PrintLogger, name, watched)


def _watch_logging(watch: Watch) -> None:
    """Every stdlib record a logger handles, whatever its handlers (uvicorn replaces its own)."""
    original = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        watch.check(f"logging {record.name}", text)
        original(self, record)

    logging.Logger.handle = handle  # type: ignore[method-assign]


WATCH = Watch(source_keys())


def pytest_configure(config: pytest.Config) -> None:
    _watch_structlog(WATCH)
    _watch_logging(WATCH)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    base = session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    for path in sorted(Path(base).rglob("*.log")):
        WATCH.check(str(path.relative_to(base)), path.read_text(errors="replace"))
    if WATCH.leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = ["a test key was logged:", *WATCH.leaks[:20]]
        if reporter is not None:
            reporter.write_sep("=", "secrets in logs", red=True)
            reporter.write_line("\n".join(lines))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
