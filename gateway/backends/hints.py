"""What a vendor's rate-limit hint says: `Retry-After` (whole seconds or an HTTP date) or
Extend's `retry-after-ms`. Read twice over: as the `Retry-After` passed on to the client
(`client_hint`), and as the wait before crosswalk's own retry of an idempotent call
(`hinted_wait`, retries.py). A value that is neither form is no hint at all.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

# a vendor asking for a longer wait than a day is not giving a hint anyone can follow
MAX_RETRY_AFTER = 86_400
_SECONDS = re.compile(r"[0-9]{1,9}")  # ASCII only: str.isdigit() also takes "²"
_MILLIS = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?")


def client_hint(headers: httpx.Headers) -> dict[str, str]:
    """`Retry-After` for the client, from the vendor's own or its `retry-after-ms`; a value
    that is neither a whole number of seconds (at most a day) nor an HTTP date is ignored."""
    value = headers.get("retry-after", "").strip()
    if _http_date(value) is not None:
        return {"retry-after": value}
    millis = headers.get("retry-after-ms", "").strip()
    if _SECONDS.fullmatch(value):
        seconds = int(value)
    elif _MILLIS.fullmatch(millis):
        seconds = math.ceil(float(millis) / 1000)
    else:
        return {}
    return {"retry-after": str(seconds)} if seconds <= MAX_RETRY_AFTER else {}


def hinted_wait(headers: httpx.Headers, now: Callable[[], float] = time.time) -> float | None:
    """The seconds the vendor asked to wait (`retry-after-ms`, the finer, then `Retry-After`),
    or None when it gave no readable hint; a date already past is no wait."""
    millis = headers.get("retry-after-ms", "").strip()
    if _MILLIS.fullmatch(millis):
        return float(millis) / 1000
    value = headers.get("retry-after", "").strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    when = _http_date(value)
    return None if when is None else max(0.0, when.timestamp() - now())


def _http_date(value: str) -> datetime | None:
    """An HTTP date (RFC 9110 §10.2.3), the other form `Retry-After` may take."""
    if not value or not value.isascii():
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return when if when.tzinfo is not None else None
