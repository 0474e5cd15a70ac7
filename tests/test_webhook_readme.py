"""The README's webhook section holds: its config resolves (shown by `check-config` without
secrets) and both verification snippets accept real deliveries and refuse altered ones."""

from __future__ import annotations

import json
import re
import time
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from extend_ai.wrapper.errors import WebhookSignatureVerificationError

from gateway.cli import describe
from gateway.config import resolve
from gateway.webhooks import signing
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
    expected = "webhook hooks.example.com: classify_run.processed, classify_run.failed"
    assert expected in text.splitlines()
    assert "wss_s3cret" not in text


def _resigned(delivery: Received, **changes: Any) -> tuple[bytes, dict[str, str]]:
    """`delivery` with `changes` to its envelope (and `at`: another timestamp), signed again
    as crosswalk signs."""
    at = changes.pop("at", int(time.time()))
    body = json.dumps({**json.loads(delivery.body), **changes}).encode()
    return body, signing.signed_headers(SECRET, at, body)


def test_the_sdk_snippet_verifies_a_delivery_and_reads_any_event_type(
    delivery: Received,
) -> None:
    """The extend_ai snippet accepts a real delivery and refuses one altered; its event type
    is read both from a typed event and from the plain dict extend_ai gives for a type it
    does not know (crosswalk's classify_run.cancelled)."""
    request = SimpleNamespace(headers=delivery.headers)
    scope = _run(SNIPPETS[0], raw_body=delivery.body, request=request)
    assert not isinstance(scope["event"], dict)
    assert scope["event_type"] == "classify_run.processed"
    body, headers = _resigned(delivery, eventType="classify_run.cancelled")
    cancelled = _run(SNIPPETS[0], raw_body=body, request=SimpleNamespace(headers=headers))
    assert isinstance(cancelled["event"], dict)
    assert cancelled["event_type"] == "classify_run.cancelled"
    with pytest.raises(WebhookSignatureVerificationError):
        _run(SNIPPETS[0], raw_body=delivery.body + b" ", request=request)


def test_the_stdlib_snippet_verifies_a_delivery(delivery: Received) -> None:
    """The hmac version accepts a real delivery and refuses one altered, one signed with
    another secret, a signature that is not ASCII (refused, not a TypeError), and a
    timestamp more than a minute ahead, as extend_ai does."""
    verify = _run(SNIPPETS[1])["verify"]
    assert verify(delivery.body, delivery.headers, SECRET)["eventType"] == "classify_run.processed"
    with pytest.raises(ValueError, match="bad signature"):
        verify(delivery.body.replace(b"PROCESSED", b"FAILED"), delivery.headers, SECRET)
    with pytest.raises(ValueError, match="bad signature"):
        verify(delivery.body, delivery.headers, "wss_another_secret")
    with pytest.raises(ValueError, match="bad signature"):
        verify(delivery.body, {**delivery.headers, signing.SIGNATURE_HEADER: "é" * 64}, SECRET)
    ahead, early = _resigned(delivery, at=int(time.time()) + 120)
    with pytest.raises(ValueError, match="stale webhook"):
        verify(ahead, early, SECRET)
    assert verify(*_resigned(delivery, at=int(time.time()) + 30), SECRET)["eventId"]
