"""What the operation tables of every surface share: crosswalk's own answer types, the
error statuses every operation of a surface may answer, and the raw schemas of bytes."""

from __future__ import annotations

from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType


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


# every operation of a surface may answer these: no usable key, an unexpected failure, and
# a backend's vendor failing (502) or not answering in time (504)
COMMON = (401, 500, 502, 504)
# an operation answered from crosswalk's own store alone (files) calls no vendor: no 502, 504
OWN = (401, 500)
# Extend refuses an `x-extend-api-version` it does not serve, and any bad body or query, 400
EXTEND_COMMON = (400, *COMMON)
EXTEND_OWN = (400, *OWN)
FILE_BYTES = {"type": "string", "contentMediaType": "application/octet-stream"}
UPLOAD_FORM = {
    "type": "object",
    "properties": {"file": FILE_BYTES, "password": {"type": "string"}},
    "required": ["file"],
}
