"""PostgreSQL's TEXT cannot hold a NUL character, which SQLite's can (a client may name a
file with one): every string the ledger writes is stored with NUL escaped, and every string
it reads is unescaped, by the connection adapter, so both stores keep and return the same
values and a NUL-holding name is found by the same exact and substring filters.

The escape is two noncharacters (U+FFFF, U+FFFE), which no real name holds: U+FFFF becomes
U+FFFF U+FFFF and NUL becomes U+FFFF U+FFFE. Equality is exact; a substring found in the
stored form is one of the real value unless the name or needle holds U+FFFE or U+FFFF
itself, whose escapes a needle could then be matched against out of step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

_ESCAPE, _NUL_MARK = "\uffff", "\ufffe"
_ESCAPED = re.compile(f"{_ESCAPE}([{_ESCAPE}{_NUL_MARK}])")


def stored(value: Any) -> Any:
    """`value` as PostgreSQL can keep it: a string's NULs (and escape) escaped."""
    if isinstance(value, str) and ("\x00" in value or _ESCAPE in value):
        return value.replace(_ESCAPE, _ESCAPE * 2).replace("\x00", _ESCAPE + _NUL_MARK)
    return value


def loaded(value: Any) -> Any:
    """A value as `stored` kept it, read back as it was given."""
    if isinstance(value, str) and _ESCAPE in value:
        return _ESCAPED.sub(lambda found: "\x00" if found[1] == _NUL_MARK else _ESCAPE, value)
    return value


def rows(cursor: Any) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A psycopg row factory: rows as tuples, each string `loaded`."""

    def row(values: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(loaded(value) for value in values)

    return row
