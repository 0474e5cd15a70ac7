"""Debian's chromium for the tests that open a page in a real headless browser.

The `chromium` session fixture finds the browser on PATH. When it is missing and the tests run
as root with apt-get (the README's test command on a fresh Debian machine), it installs
Debian's `chromium` package, once: under a file lock, so parallel test processes wait for one
install instead of racing dpkg, and the next one finds it installed. When it cannot be had, a
test needing it fails under `CI=true` (the browser test must run in CI) and is skipped
elsewhere, saying why.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import NoReturn

import pytest

NAMES = ("chromium", "chromium-browser")
PACKAGE = "chromium"
LOCK = Path(tempfile.gettempdir()) / "crosswalk-chromium-install.lock"
# apt-get waits this long for another dpkg (a parallel install) to let go of its lock
APT_LOCK_SECONDS = 600
INSTALL_SECONDS = 900
# the install can outlast pytest-timeout's 300 s default for the test that first needs it
INSTALL_TIMEOUT = pytest.mark.timeout(INSTALL_SECONDS + 60)
# only loopback resolves, so a page that names any other host cannot fetch it
LOOPBACK_ONLY = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


class BrowserUnavailable(Exception):
    """Chromium is not installed and cannot be installed here; the message says why."""


def find_chromium() -> str | None:
    """The path of chromium (or chromium-browser) on PATH, if any."""
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def install_chromium() -> str:
    """Install Debian's chromium with apt-get, once across processes; its path.

    Raises BrowserUnavailable when not root, without apt-get, or when the install fails.
    """
    if os.geteuid() != 0:
        raise BrowserUnavailable("chromium is not installed, and installing it needs root")
    apt = shutil.which("apt-get")
    if apt is None:
        raise BrowserUnavailable("chromium is not installed, and there is no apt-get")
    with LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            # another process may have installed it while this one waited for the lock
            found = find_chromium()
            if found:
                return found
            _apt(apt, "update")
            _apt(apt, "install", "-y", "--no-install-recommends", PACKAGE)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    found = find_chromium()
    if found is None:
        raise BrowserUnavailable(f"apt-get installed {PACKAGE}, but no chromium is on PATH")
    return found


def _apt(apt: str, *args: str) -> None:
    command = [apt, "-q", "-o", f"DPkg::Lock::Timeout={APT_LOCK_SECONDS}", *args]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=INSTALL_SECONDS, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BrowserUnavailable(f"`apt-get {args[0]}` took over {INSTALL_SECONDS} s") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise BrowserUnavailable(f"`apt-get {args[0]}` failed ({done.returncode}):\n{tail}")


def chromium_command(binary: str, profile: Path, *args: str) -> list[str]:
    """A headless chromium run with its own profile and no traffic past loopback."""
    return [
        binary,
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        f"--host-resolver-rules={LOOPBACK_ONLY}",
        *args,
    ]


@pytest.fixture(scope="session")
def chromium() -> str:
    """The chromium binary, installed first when missing and possible; else the test fails
    under CI=true and is skipped elsewhere, with the reason."""
    try:
        return find_chromium() or install_chromium()
    except BrowserUnavailable as reason:
        without_browser(reason)


def without_browser(reason: BrowserUnavailable) -> NoReturn:
    """Fail the test under CI=true, where the browser test must run; skip it elsewhere."""
    message = f"no headless browser for this test: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
