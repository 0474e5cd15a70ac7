"""Run ids of the local backend: `lrun_` + a time-ordered, random, Crockford base32 body."""

from __future__ import annotations

import secrets
from datetime import datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_run_id(now: datetime) -> str:
    """A fresh ULID-shaped id (48-bit millisecond time of `now`, 80 random bits), sortable by
    time; `now` comes from the backend's clock, like the run's own timestamps."""
    value = (int(now.timestamp() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "lrun_" + "".join(reversed(chars))
