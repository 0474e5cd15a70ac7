"""Extend's webhook signature: lowercase hex HMAC-SHA256(secret, "v0:" + ts + ":" + body).

The timestamp is unix seconds, sent beside the signature in `x-extend-request-timestamp`;
receivers refuse one too old (replays) or too far ahead (contracts.md §8). No I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

TIMESTAMP_HEADER = "x-extend-request-timestamp"
SIGNATURE_HEADER = "x-extend-request-signature"
# what extend_ai's `verify_and_parse` accepts by default: 5 minutes old, 1 minute ahead
MAX_AGE_SECONDS = 300
MAX_SKEW_SECONDS = 60


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature Extend sends for `body` at `timestamp`."""
    message = b"v0:" + str(timestamp).encode("ascii") + b":" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one delivery attempt of `body`, signed at `timestamp`."""
    return {
        "content-type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verified(secret: str, headers: Mapping[str, str], body: bytes, now: int) -> str | None:
    """Why `body` with `headers` is not a genuine delivery signed with `secret` at about
    `now` (unix seconds), or None when it is."""
    stamp = headers.get(TIMESTAMP_HEADER, "")
    given = headers.get(SIGNATURE_HEADER, "")
    if not stamp or not given:
        return "the request is not signed"
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        return "the signature timestamp is not unix seconds"
    age = now - int(stamp)
    if age > MAX_AGE_SECONDS or age < -MAX_SKEW_SECONDS:
        return "the signature timestamp is too far from now"
    # compared as bytes: compare_digest refuses str with non-ASCII characters
    if not hmac.compare_digest(given.encode(), signature(secret, int(stamp), body).encode()):
        return "the signature does not match"
    return None
