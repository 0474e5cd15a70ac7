"""How the headless-browser tests get chromium (tests/browser.py): found on PATH, installed only
as root with apt-get, and otherwise a failure under CI=true and a skip elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser import BrowserUnavailable, find_chromium, install_chromium, without_browser


def _empty_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


def test_either_name_of_the_browser_is_found_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _empty_path(tmp_path, monkeypatch)
    assert find_chromium() is None
    browser = bin_dir / "chromium-browser"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    assert find_chromium() == str(browser)


def test_installing_needs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not root: no apt-get is tried, and the reason says what is missing."""
    _empty_path(tmp_path, monkeypatch)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(BrowserUnavailable, match="needs root"):
        install_chromium()


def test_installing_needs_apt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _empty_path(tmp_path, monkeypatch)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(BrowserUnavailable, match="no apt-get"):
        install_chromium()


def test_without_a_browser_ci_fails_and_elsewhere_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    reason = BrowserUnavailable("installing it needs root")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="installing it needs root"):
        without_browser(reason)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="installing it needs root"):
        without_browser(reason)
