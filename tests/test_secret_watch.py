"""The session-wide secrets watch (tests/secret_watch.py) fails a session that logs a test key.

Each case runs a tiny test file in a pytest of its own (a real process: the watch acts at
session end), with this repository's plugin loaded as conftest.py loads it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
KEY = "sk-watch-leak-3e9d"  # a literal the watch finds in this source
LEAKS = f"""
import logging
import structlog
from tests.harness import secret_keys

def test_structlog():
    structlog.get_logger().info("x", k={KEY!r})

def test_stdlib_logging():
    logging.getLogger("a").warning("h %s", {KEY!r})

def test_a_process_log_file(tmp_path):
    (tmp_path / "serve.log").write_text("x {KEY} y")

def test_a_key_handed_to_the_harness():
    key = "dyn" + "-4f1a-key"  # spelled by no source: found once the harness was given it
    secret_keys(key)
    logging.getLogger("b").warning(key)
"""


def _session(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_case.py").write_text(body)
    base = tmp_path / "base"
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "tests.secret_watch", "-p", "no:cacheprovider",
        "-p", "no:randomly", "--rootdir", str(tmp_path), "-c", "/dev/null",
        "--basetemp", str(base), str(tmp_path / "test_case.py"),
    ]  # fmt: skip
    try:
        return subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
        )
    finally:  # its log files hold the key on purpose: this session's own watch must not see it
        shutil.rmtree(base, ignore_errors=True)


def test_keys_in_any_log_fail_the_session(tmp_path: Path) -> None:
    result = _session(tmp_path, LEAKS)
    assert result.returncode == 1, result.stdout
    assert "4 passed" in result.stdout
    report = result.stdout.split("secrets in logs", 1)[1]
    assert "structlog: " in report
    assert "k=<key sk-…>" in report
    assert "logging a: h <key sk-…>" in report
    assert "serve.log: x <key sk-…> y" in report
    assert "logging b: <key dyn…>" in report
    assert KEY not in report


def test_a_clean_session_passes(tmp_path: Path) -> None:
    body = "import structlog\ndef test_x():\n    structlog.get_logger().info('x', k='plain')\n"
    result = _session(tmp_path, body)
    assert result.returncode == 0, result.stdout
    assert "secrets in logs" not in result.stdout
