"""Signed, expiring download links to stored files, served without a key:
`{public_url}/crosswalk/files/{id}/content?expires=<unix seconds>&signature=<base64url>`; and
durable, unsigned references to them, `{public_url}/crosswalk/files/{id}`, which download
nothing but name the file to its owner's creates (as Retab's storage URLs do, §4.1).

The signature is HMAC-SHA256 over the file id and the expiry with the deployment's secret,
checked in constant time; a link past its expiry, or with any part changed, is refused. The
secret comes from `[files] secret_env`, or is made once and kept beside the ledger (mode
0600), so every `--workers` process and every restart signs and checks with the same one.
Extend's own presigned URLs last 15 minutes (contracts.md §4.3), hence the default TTL.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import msgspec

from gateway.clock import Clock, system_clock

CONTENT_PATH = "/crosswalk/files/{file_id}/content"
REFERENCE_PATH = "/crosswalk/files/{file_id}"
_FILE_ID = "(?P<file_id>[A-Za-z0-9_-]{1,128})"
_REFERENCE = re.compile(f"/crosswalk/files/{_FILE_ID}")
_DOMAIN = b"crosswalk.files.link.v1\x00"  # a link's MAC can never be mistaken for another's
_EXPIRES = re.compile(r"[0-9]{1,12}")  # unix seconds, ASCII digits only
_SECRET_BYTES = 32
_SECRET_TEXT = re.compile(r"[0-9a-f]{64}")


class SignedLink(msgspec.Struct, frozen=True, kw_only=True):
    """A download link and when it stops working."""

    url: str
    expires_at: datetime


class LinkSigner:
    """Makes and checks the deployment's download links for `public_url`; `derived` makes
    signers of other kinds of link (upload URLs) with the same secret."""

    def __init__(
        self,
        secret: bytes,
        *,
        public_url: str,
        ttl: float,
        clock: Clock = system_clock,
        path: str = CONTENT_PATH,
        domain: bytes = _DOMAIN,
    ) -> None:
        self._secret = secret
        self._base = public_url.rstrip("/")
        self._ttl = timedelta(seconds=ttl)
        self._clock = clock
        self._path, self._domain = path, domain
        self._pattern = re.compile(re.escape(path).replace(re.escape("{file_id}"), _FILE_ID))

    @property
    def ttl(self) -> timedelta:
        """How long a link works from when it is made."""
        return self._ttl

    def derived(self, *, path: str, domain: bytes) -> LinkSigner:
        """A signer of links to `path` (with a `{file_id}`) under a MAC domain of their own,
        so a link of one kind is never accepted as another; same secret, TTL and clock."""
        ttl = self._ttl.total_seconds()
        return LinkSigner(
            self._secret,
            public_url=self._base,
            ttl=ttl,
            clock=self._clock,
            path=path,
            domain=domain,
        )

    def link(self, file_id: str) -> SignedLink:
        """A link to the file's content, valid for the TTL from now."""
        expires_at = (self._clock() + self._ttl).replace(microsecond=0)
        expires = str(int(expires_at.timestamp()))
        query = urlencode({"expires": expires, "signature": self._mac(file_id, expires)})
        url = f"{self._base}{self._path.format(file_id=file_id)}?{query}"
        return SignedLink(url=url, expires_at=expires_at)

    def valid(self, file_id: str, expires: str | None, signature: str | None) -> bool:
        """Whether `expires` and `signature` make an unexpired link to `file_id`."""
        if expires is None or signature is None or not _EXPIRES.fullmatch(expires):
            return False
        # compared before the expiry, so timing tells nothing about a forged signature
        if not hmac.compare_digest(signature.encode(), self._mac(file_id, expires).encode()):
            return False
        return self._clock().timestamp() < int(expires)

    def reference(self, file_id: str) -> str:
        """A durable URL naming the file, unsigned: it downloads nothing (a link does), but a
        create that gives it as a document URL reads the file, if the caller owns it, as
        Retab's API reads its own `storage.retab.com` URLs (contracts.md §4.1)."""
        return f"{self._base}{REFERENCE_PATH.format(file_id=file_id)}"

    def file_id_of(self, url: str) -> str | None:
        """The file a URL names: one of this deployment's links, still valid, or one of its
        references; None for any other URL (it is then fetched, or refused, as URLs are).
        Whose the file is, the caller checks."""
        base, parts = urlsplit(self._base), urlsplit(url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            return None
        if not parts.path.startswith(base.path):
            return None
        path = parts.path.removeprefix(base.path)
        reference = _REFERENCE.fullmatch(path)
        if reference is not None and not parts.query and not parts.fragment:
            return reference["file_id"]
        match = self._pattern.fullmatch(path)
        if match is None:
            return None
        query = parse_qs(parts.query)
        expires, signature = query.get("expires", []), query.get("signature", [])
        if len(expires) != 1 or len(signature) != 1:
            return None
        file_id = match["file_id"]
        return file_id if self.valid(file_id, expires[0], signature[0]) else None

    def _mac(self, file_id: str, expires: str) -> str:
        message = self._domain + file_id.encode() + b"\x00" + expires.encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class SecretFileError(Exception):
    """The signing secret kept beside the ledger cannot be read; says why."""


def load_or_create_secret(path: Path) -> bytes:
    """The secret kept at `path`, made first if there is none. Safe when several processes
    start at once: each writes a candidate of its own, the first to link it in place wins,
    and all read the winner (a reader never sees a half-written file)."""
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(_SECRET_BYTES))
            out.flush()
            os.fsync(out.fileno())
        # a link never replaces: if another process made it first, theirs is the deployment's
        with contextlib.suppress(FileExistsError):
            os.link(candidate, path)
    finally:
        candidate.unlink(missing_ok=True)
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    text = path.read_text(encoding="ascii", errors="replace").strip()
    if not _SECRET_TEXT.fullmatch(text):
        raise SecretFileError(f"{path}: not a crosswalk signing secret (64 hex digits)")
    return bytes.fromhex(text)
