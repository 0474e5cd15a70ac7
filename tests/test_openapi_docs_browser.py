"""`/schema/docs` opened in a real headless browser (Debian's chromium, tests/browser.py):
with only loopback resolvable, the page's own script reads the served document and lists
every operation in it, so the docs UI works offline."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gateway.openapi import OPERATIONS
from tests.browser import INSTALL_TIMEOUT, chromium_command
from tests.harness import MakeGateway, local_settings

CHROMIUM_SECONDS = 90
# how long chromium's virtual clock may run for the page's fetch and rendering to finish
RENDER_BUDGET_MS = "10000"


@INSTALL_TIMEOUT
def test_the_docs_page_lists_every_operation_offline(
    chromium: str, make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """Every documented operation's id is in the page chromium rendered, and none failed."""
    gateway = make_gateway(local_settings(tmp_path), served=True)
    args = ("--virtual-time-budget=" + RENDER_BUDGET_MS, "--dump-dom", f"{gateway.url}/schema/docs")
    done = subprocess.run(
        chromium_command(chromium, tmp_path / "profile", *args),
        capture_output=True,
        text=True,
        timeout=CHROMIUM_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert '<p id="about">Could not' not in dom
    missing = [op.id for op in OPERATIONS if f"Operation id: {op.id}" not in dom]
    assert not missing, f"not rendered: {missing}"
    assert dom.count("<details>") >= len(OPERATIONS)


pytestmark = pytest.mark.timeout(CHROMIUM_SECONDS * 2)
