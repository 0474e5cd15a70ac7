"""What the operation tables of every surface share: crosswalk's own answer types, the
error statuses every operation of a surface may answer, and the raw schemas of bytes."""

from __future__ import annotations

from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType

from gateway.openapi.operation import Param


class Problem(msgspec.Struct, kw_only=True):
    """crosswalk's own error body, outside both surfaces (gateway/surfaces/render.py)."""

    code: str
    message: str


class Received(msgspec.Struct, kw_only=True):
    """The answer to a webhook delivery taken in."""

    received: bool


class Health(msgspec.Struct, kw_only=True):
    """`GET /healthz`'s answer (gateway/surfaces/health.py)."""

    status: Literal["ok"]


class Circuit(msgspec.Struct, kw_only=True):
    """A backend's circuit: closed (serving), half_open (probing) or open (ejected)."""

    circuit: Literal["closed", "half_open", "open"]


class Readiness(msgspec.Struct, kw_only=True):
    """`GET /readyz`'s answer, ready (200) or not (503, with the reasons)."""

    status: Literal["ready", "not_ready"]
    store: Literal["ok", "unreachable"]
    backends: dict[str, Circuit]
    reasons: list[str] | UnsetType = UNSET


# every operation of a surface may answer these: no usable key, over the key's `[limits]`
# (429), an unexpected failure; and when a vendor is called, that vendor failing (502), its
# backend ejected for a cool-down (503) or not answering in time (504)
OWN = (401, 429, 500)
COMMON = (*OWN, 502, 503, 504)
# Extend refuses an `x-extend-api-version` it does not serve, and any bad body or query, 400
EXTEND_COMMON = (400, *COMMON)
EXTEND_OWN = (400, *OWN)
# a create may carry an Idempotency-Key: the same key with another body is a 422, with the
# first still being served a 409 (gateway/idempotent_creates.py)
IDEMPOTENCY_KEY = Param(
    name="Idempotency-Key",
    where="header",
    schema={"type": "string", "minLength": 1, "maxLength": 255},
    description="Runs the create once per key and caller for 24 h: a retry gets the first "
    "answer (with `crosswalk-idempotent-replay: true`), another body a 422, and a retry "
    "while the first is still being served a 409.",
)
FILE_BYTES = {"type": "string", "contentMediaType": "application/octet-stream"}
UPLOAD_FORM = {
    "type": "object",
    "properties": {"file": FILE_BYTES, "password": {"type": "string"}},
    "required": ["file"],
}
