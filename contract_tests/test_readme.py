"""The README's SDK snippet runs as written against a served gateway."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Gateway, MakeGateway

README = Path(__file__).parent.parent / "README.md"
DOCUMENTED_URL = "http://127.0.0.1:8000"


@pytest.fixture
def served(make_gateway: MakeGateway) -> Gateway:
    """The embedded default on a loopback port: the snippet dials a URL. Started before
    `capsys`, so no logging handler is bound to a stream that closes with the test."""
    return make_gateway(served=True)


def test_readme_sdk_snippet_runs(
    served: Gateway,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The quickstart's Python block works unchanged but for the port it is served on."""
    gateway = served
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 1
    assert DOCUMENTED_URL in blocks[0]
    monkeypatch.chdir(tmp_path)
    names: dict[str, Any] = {}
    exec(compile(blocks[0].replace(DOCUMENTED_URL, gateway.url), "README.md", "exec"), names)
    # the snippet leaves its SDK clients open, as a script may; the test closes their sockets
    gateway.track(names["retab"].client)
    gateway.track(names["extend"]._client_wrapper.httpx_client.httpx_client)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split()[1:] == ["completed", "invoice"]
    assert printed[1].split()[1:3] == ["PROCESSED", "letter"]
