"""How a replayed file's name is shown: the name a report, a labels file and a vendor see.

A file name is any bytes but `/` and NUL. One that is not UTF-8 (Python holds its bad bytes
as lone surrogates, which no encoder accepts) or holds control characters (a terminal would
obey an escape sequence printed raw) is shown escaped as `repr` escapes it: `\\xff`,
`\\x1b`, `\\u202e`. Its comparison id is made from its bytes (`os.fsencode`), never from this.
"""

from __future__ import annotations

import os


def shown(name: str) -> str:
    """`name` (as `os.walk` gives it) printable: undecodable bytes and unprintable characters
    escaped, anything else as it is."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
