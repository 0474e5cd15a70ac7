"""PostgreSQL URLs as crosswalk shows them: never with their password.

A `[store] url` may carry a password (`postgresql://user:secret@host/db`); every error, log
line and printout names the database through `redacted`, and an error raised by the driver
is passed through `scrubbed` before it is shown, in case it quotes the URL back.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

SCHEMES = ("postgresql://", "postgres://")
HIDDEN = "***"


def is_postgres(url: str) -> bool:
    """Whether `url` names a PostgreSQL database."""
    return url.startswith(SCHEMES)


def redacted(url: str) -> str:
    """`url` with its password (in the user part or a `password=` parameter) replaced by
    ***; a path (SQLite's) is returned as it is. Any scheme is redacted: a mistyped
    PostgreSQL URL holds its password all the same."""
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.partition(':')[0]}:{HIDDEN}@{host}"
        pairs = [pair.partition("=") for pair in parts.query.split("&") if pair]
        query = "&".join(f"{n}{eq}{HIDDEN if n == 'password' else v}" for n, eq, v in pairs)
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:  # unparseable: show only the scheme
        return url.split("://", 1)[0] + "://" + HIDDEN


def passwords(url: str) -> tuple[str, ...]:
    """The password(s) `url` holds, as written and decoded: what `scrubbed` removes."""
    if "://" not in url:
        return ()
    try:
        parts = urlsplit(url)
        found = [parts.password or ""]
        found += [value for name, value in parse_qsl(parts.query) if name == "password"]
    except ValueError:
        return ()
    raw = [p for p in found if p]
    return tuple(dict.fromkeys([*raw, *(unquote(p) for p in raw)]))


def scrubbed(text: str, url: str) -> str:
    """`text` (a driver's error message) on one line, with no password of `url` in it."""
    for secret in passwords(url):
        text = text.replace(secret, HIDDEN)
    return " ".join(text.split())
