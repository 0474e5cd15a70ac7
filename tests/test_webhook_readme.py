"""The README's webhook section holds: its config resolves (shown by `check-config` without
secrets) and both verification snippets accept real deliveries and refuse altered ones."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from extend_ai.wrapper.errors import WebhookSignatureVerificationError

from gateway.cli import describe
from gateway.config import resolve
from tests.harness import wait_until
from tests.webhook_receiver import Received
from tests.webhook_support import EXTEND, EXTEND_BODY, SECRET, hooked

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## Webhooks") : README.index("## Vendor backends")]
SNIPPETS = re.findall(r"```python webhooks\n(.*?)```", SECTION, re.DOTALL)
CONFIG = re.findall(r"```toml\n(.*?)```", SECTION, re.DOTALL)[0]


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Received:
    """One real delivery, as a receiver got it."""
    with hooked(tmp_path_factory.mktemp("readme")) as (receiver, client):
        client.post("/classify", json=EXTEND_BODY, headers=EXTEND)
        wait_until(lambda: len(receiver.received) == 1)
    return receiver.received[0]


def _run(snippet: str, **names: Any) -> dict[str, Any]:
    scope = dict(names)
    exec(compile(snippet.replace("wss_…", SECRET), "README.md", "exec"), scope)
    return scope


def test_the_sections_config_resolves_and_shows_no_secret() -> None:
    """The `[[webhooks]]` example is accepted; check-config names it and its events only."""
    settings = resolve(tomllib.loads(CONFIG), {"CROSSWALK_WEBHOOK_SECRET": "wss_s3cret"})
    text = describe(settings)
    expected = "webhook hooks.example.com/extend: classify_run.processed, classify_run.failed"
    assert expected in text.splitlines()
    assert "wss_s3cret" not in text


def test_the_sdk_snippet_verifies_a_delivery(delivery: Received) -> None:
    """The extend_ai snippet accepts a real delivery and refuses one altered."""
    request = SimpleNamespace(headers=delivery.headers)
    event = _run(SNIPPETS[0], raw_body=delivery.body, request=request)["event"]
    assert event.event_type == "classify_run.processed"
    with pytest.raises(WebhookSignatureVerificationError):
        _run(SNIPPETS[0], raw_body=delivery.body + b" ", request=request)


def test_the_stdlib_snippet_verifies_a_delivery(delivery: Received) -> None:
    """The ten-line hmac version accepts a real delivery and refuses one altered."""
    verify = _run(SNIPPETS[1])["verify"]
    assert verify(delivery.body, delivery.headers, SECRET)["eventType"] == "classify_run.processed"
    with pytest.raises(ValueError, match="bad signature"):
        verify(delivery.body.replace(b"PROCESSED", b"FAILED"), delivery.headers, SECRET)
    with pytest.raises(ValueError, match="bad signature"):
        verify(delivery.body, delivery.headers, "wss_another_secret")
