"""Crosswalk's secrets taken out of a vendor's answer before a client, a log or an error sees it.

A vendor's error may echo the request it got, `Authorization: Bearer <key>` included, and
that answer is relayed (pass-through) or turned into an error message (translation). Every
secret crosswalk holds — the gateway's keys, the backends' vendor keys, and the key the
request carried (a pure proxy's client key) — is replaced by `[redacted]`, raw or in the
forms a JSON encoder writes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import httpx

from gateway.config import Secret, Settings

REDACTED = b"[redacted]"
# shorter values are too common in ordinary text to replace blindly, and a key that short
# protects nothing; no vendor issues one
MIN_SECRET_LENGTH = 8
# headers that describe the body as it came, not as it is once a secret is replaced in it
_BODY_HEADERS = frozenset({b"content-length", b"content-encoding", b"transfer-encoding"})


class Scrubber:
    """Replaces a fixed set of secrets, and the key each request carried, in vendor answers."""

    def __init__(self, secrets: Iterable[Secret] = ()) -> None:
        self._secrets = frozenset(s.reveal() for s in secrets)
        self._fixed = _longest_first(self._secrets)  # once: every answer is scrubbed

    @classmethod
    def of(cls, settings: Settings) -> Scrubber:
        """A scrubber of every secret `settings` holds."""
        return cls((*settings.api_keys, *settings.upstream_keys.values()))

    def response(self, response: httpx.Response) -> httpx.Response:
        """The answer as a client may see it: its body and headers without a secret, the
        same answer when it held none."""
        forms = self._forms(response)
        content = _scrubbed(response.content, forms)
        raw = [(name, _scrubbed(value, forms)) for name, value in response.headers.raw]
        if content == response.content and raw == response.headers.raw:
            return response
        # the body is already decoded and changes length: its framing headers no longer hold
        headers = [(name, value) for name, value in raw if name.lower() not in _BODY_HEADERS]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=content,
            request=_request_of(response),
            extensions=response.extensions,
        )

    def text(self, message: str, *others: str) -> str:
        """`message` (an error's, for a log) without a secret, nor any of `others`."""
        replaced = {*self._secrets, *others}
        forms = {f for s in replaced if len(s) >= MIN_SECRET_LENGTH for f in _encodings(s)}
        data = message.encode("utf-8", "surrogatepass")
        return _scrubbed(data, sorted(forms, key=len, reverse=True)).decode(errors="replace")

    def _forms(self, response: httpx.Response) -> tuple[bytes, ...]:
        """Every form of every secret to replace, longest first, so that a secret containing
        another is replaced whole."""
        sent = _sent_key(response)
        if sent is None or sent in self._secrets:
            return self._fixed
        return _longest_first(self._secrets | {sent})


def _longest_first(secrets: Iterable[str]) -> tuple[bytes, ...]:
    forms = {f for s in secrets if len(s) >= MIN_SECRET_LENGTH for f in _encodings(s)}
    return tuple(sorted(forms, key=len, reverse=True))


def _scrubbed(data: bytes, forms: Iterable[bytes]) -> bytes:
    """`data` with every one of `forms` replaced by REDACTED."""
    for form in forms:
        if form in data:
            data = data.replace(form, REDACTED)
    return data


def _encodings(secret: str) -> set[bytes]:
    """The secret as bytes, and as the inside of a JSON string by common encoders (ASCII
    escapes or not, `/` escaped or not)."""
    quoted = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms = quoted | {q.replace("/", "\\/") for q in quoted}
    return {f.encode("utf-8", "surrogatepass") for f in forms}


def _sent_key(response: httpx.Response) -> str | None:
    """The key the request behind `response` carried: the backend's, or a pure proxy's client's."""
    request = _request_of(response)
    if request is None:
        return None
    _, _, key = request.headers.get("authorization", "").partition(" ")
    return key.strip() or None


def _request_of(response: httpx.Response) -> httpx.Request | None:
    try:
        return response.request
    except RuntimeError:  # a response built by hand has none
        return None
