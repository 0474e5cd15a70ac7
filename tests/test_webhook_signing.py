"""Webhook bodies are signed exactly as Extend signs them (contracts.md §8)."""

from __future__ import annotations

from typing import Any

import pytest
from extend_ai import Extend
from extend_ai.wrapper.errors import WebhookSignatureVerificationError

from gateway.webhooks import signing
from tests.harness import wire_json

EXAMPLE: dict[str, Any] = wire_json("extend_webhook_http.json")
SECRET: str = EXAMPLE["signing_secret"]
HEADERS: dict[str, str] = EXAMPLE["request"]["headers"]
RAW_BODY: bytes = EXAMPLE["request"]["raw_body"].encode()
STAMP = int(HEADERS[signing.TIMESTAMP_HEADER])


def test_signature_reproduces_extend_worked_example() -> None:
    """The worked example's signature comes out byte for byte from its secret, time and body."""
    assert signing.signature(SECRET, STAMP, RAW_BODY) == HEADERS[signing.SIGNATURE_HEADER]


def test_signed_headers_are_the_example_headers() -> None:
    """Content type, timestamp and signature are exactly the headers Extend sent."""
    assert signing.signed_headers(SECRET, STAMP, RAW_BODY) == HEADERS


def test_extend_sdk_accepts_signed_headers_and_rejects_a_tampered_body() -> None:
    """extend_ai's own verification accepts what we sign, and not a body changed after."""
    webhooks = Extend(token="unused").webhooks
    headers = signing.signed_headers(SECRET, STAMP, RAW_BODY)
    event = webhooks.verify_and_parse(RAW_BODY, headers, SECRET, max_age_seconds=0)
    assert event.event_id == "evt_Jk4lZ6xC8vB0nM2qW4eR6t"
    tampered = RAW_BODY.replace(b'"confidence":0.91', b'"confidence":0.99')
    with pytest.raises(WebhookSignatureVerificationError):
        webhooks.verify_and_parse(tampered, headers, SECRET, max_age_seconds=0)


def _signed_at(stamp: int) -> dict[str, str]:
    return signing.signed_headers(SECRET, stamp, RAW_BODY)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        pytest.param(HEADERS, None, id="genuine"),
        pytest.param({**HEADERS, signing.SIGNATURE_HEADER: "0" * 64}, "not match", id="wrong"),
        pytest.param({**HEADERS, signing.SIGNATURE_HEADER: "é"}, "not match", id="not-ascii"),
        pytest.param({**HEADERS, signing.SIGNATURE_HEADER: ""}, "not signed", id="missing"),
        pytest.param({**HEADERS, signing.TIMESTAMP_HEADER: "1e9"}, "unix seconds", id="bad-stamp"),
        pytest.param(_signed_at(STAMP - 301), "too far", id="stale"),
        pytest.param(_signed_at(STAMP + 61), "too far", id="future"),
        pytest.param(_signed_at(STAMP - 299), None, id="recent"),
    ],
)
def test_verified_accepts_only_fresh_genuine_signatures(
    headers: dict[str, str], reason: str | None
) -> None:
    """A delivery is genuine only when signed with the secret within 5 minutes of now."""
    why = signing.verified(SECRET, headers, RAW_BODY, now=STAMP)
    assert why is None if reason is None else reason in (why or "")
