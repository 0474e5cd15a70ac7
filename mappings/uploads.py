"""Uploads announced before their bytes come, in neutral terms: what a client announces
(`Announcement`) and whether the bytes that came are what it announced.

Retab's flow (contracts.md §4.1) announces a file's name, size and optionally its SHA-256,
then sends the bytes, then completes the upload, optionally with the SHA-256 again; a size or
checksum that does not match is refused. Pure: imports only the stdlib and msgspec.
"""

from __future__ import annotations

import re

import msgspec

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class Announcement(msgspec.Struct, frozen=True, kw_only=True):
    """What a client says it will upload. `sha256` is lowercase hex when given;
    `content_type` is the client's word only (the stored type is read from the bytes)."""

    name: str
    size: int
    sha256: str | None = None
    content_type: str | None = None


def sha256_hex(text: str) -> str | None:
    """`text` as a lowercase hex SHA-256 digest, or None if it is not one."""
    return text.lower() if _SHA256.fullmatch(text) else None


def mismatch(
    announced: Announcement, *, size: int, sha256: str, completed_with: str | None = None
) -> str | None:
    """Why bytes of `size` and `sha256` are not the upload announced (and completed with the
    digest `completed_with`, if any); None when they are."""
    if size != announced.size:
        return f"{size} bytes were uploaded, but {announced.size} were announced."
    for given, when in ((announced.sha256, "announced"), (completed_with, "given to complete")):
        if given is not None and given != sha256:
            return f"The uploaded bytes' SHA-256 is {sha256}, not the {given} {when}."
    return None
