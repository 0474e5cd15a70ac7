"""Numbers in what clients send, read strictly and bounded: query-string integers, and the
bound on page numbers both vendors' create bodies share.

A number crosswalk accepts must mean one thing and fit everywhere it goes: msgspec, a SQLite
INTEGER (64 bits; a bigger Python int raises OverflowError there) and the vendor's own API.
Imports only the stdlib.
"""

from __future__ import annotations

import re

# the last page a request may name (Retab `first_n_pages`, Extend `pageRanges[].end`): neither
# vendor documents one (contracts.md §2.1, §5.1). A million is past the page count of any real
# document, and far inside 64 bits.
MAX_PAGE = 1_000_000

# ASCII digits only: str.isdigit() and int() also take "²", "٣" or " 5", and int() refuses
# some of what isdigit() accepts
_INTEGER = re.compile(r"-?[0-9]+")


class OutOfRange(ValueError):
    """An integer outside the bounds it was read with; `low` says which side it fell off."""

    def __init__(self, low: bool) -> None:
        super().__init__("below the minimum" if low else "above the maximum")
        self.low = low


def query_integer(raw: str, *, low: int, high: int) -> int:
    """A query parameter as an integer from `low` to `high`.

    Raises OutOfRange for an integer outside them, ValueError for text that is not an optional
    `-` and ASCII digits. The bounds are checked on the digits' count first, so a number of
    thousands of digits is never converted.
    """
    if _INTEGER.fullmatch(raw) is None:
        raise ValueError("not an integer")
    negative = raw.startswith("-")
    digits = raw.lstrip("-").lstrip("0") or "0"
    if len(digits) > len(str(max(abs(low), abs(high)))):
        raise OutOfRange(low=negative)
    value = -int(digits) if negative else int(digits)
    if value < low or value > high:
        raise OutOfRange(low=value < low)
    return value
