"""The stateless run-id codec: a public run id says which backend owns it (design.md §5).

Pure functions, so any replica routes get, cancel and delete from the id alone (contracts.md
§10 hazard 14). Imports only the stdlib and msgspec.
"""

from __future__ import annotations

import base64
import hashlib
import re

import msgspec

from mappings.dialects import Dialect
from mappings.errors import NotFound
from mappings.shared import BACKEND_NAME

# The prefix a crosswalk id carries on each surface, and every prefix a native id may carry:
# Retab's docs, seed and CLI disagree (`cls_`, `clss_`, `clas_`; contracts.md §12 #7).
_PREFIX: dict[Dialect, str] = {"retab": "cls_", "extend": "clr_"}
_NATIVE_PREFIXES: dict[Dialect, tuple[str, ...]] = {
    "retab": ("cls_", "clss_", "clas_"),
    "extend": ("clr_",),
}

# A foreign id (a run of another dialect's backend, or of the local backend) is shown as
#     <surface prefix> "xw1-" base64url(backend ":" upstream_id + checksum), unpadded,
# with 4 bytes of BLAKE2b as the checksum, so a typo or a truncation is a clean 404 rather than
# a lookup of some other run. Base64url keeps it to [A-Za-z0-9_-]: a path segment, unescaped.
# The marker: native ids are opaque, but the ones seen are ULIDs (Retab, Crockford base32) and
# base62 (Extend); neither alphabet has "-", so no real id starts with "xw<digit>-". The digit
# is a format version; only "1" is issued.
_MARKER = re.compile(r"xw[0-9]-")
_VERSION = "xw1-"

_CHECKSUM_SIZE = 4
MAX_ID_LENGTH = 512
_URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


class DecodedId(msgspec.Struct, frozen=True, kw_only=True):
    """Where a public run id points: `backend` None means a native id of the surface's vendor."""

    backend: str | None
    upstream_id: str


def encode(
    surface: Dialect, backend: str, backend_dialect: Dialect | None, upstream_id: str
) -> str:
    """The public id on `surface` of run `upstream_id` of `backend`.

    Idempotent: a crosswalk id of `surface` comes back as is, still naming what it named.
    Raises ValueError for an unknown surface, a bad backend name, an empty upstream id, or one
    too long for its public id to stay within MAX_ID_LENGTH.
    """
    prefix = _prefix(surface)
    if not BACKEND_NAME.fullmatch(backend):
        raise ValueError(f"not a backend name: {backend!r}")
    if not upstream_id:
        raise ValueError("empty upstream run id")
    # Already a crosswalk id of this surface (e.g. a public id handed back in): never wrap twice.
    if _has_marker(prefix, upstream_id):
        try:
            _decode_foreign(prefix, upstream_id)
        except NotFound:
            pass  # carries the marker but is not ours: wrapped below like any foreign id
        else:
            return upstream_id
    # A native id passes through only if it will decode as native again; anything odd that a
    # same-dialect backend returns is wrapped, so decode always routes it back to `backend`.
    if backend_dialect == surface and _is_native(surface, upstream_id):
        return upstream_id
    try:
        payload = f"{backend}:{upstream_id}".encode()
    except UnicodeEncodeError:
        # lone surrogates; JSON decoders never produce them, so no vendor id carries one
        raise ValueError(f"upstream run id is not valid text: {upstream_id!r}") from None
    public_id = prefix + _VERSION + _b64(payload + _checksum(prefix, payload))
    if len(public_id) > MAX_ID_LENGTH:
        raise ValueError(f"upstream run id too long to encode: {len(upstream_id)} characters")
    return public_id


def decode(surface: Dialect, public_id: str) -> DecodedId:
    """Where `public_id`, as shown on `surface`, points. Raises NotFound for a malformed id.

    Raises ValueError only for an unknown surface (a caller's bug, not a client's).
    """
    prefix = _prefix(surface)
    if len(public_id) > MAX_ID_LENGTH or not _URL_SAFE.fullmatch(public_id):
        raise NotFound(public_id)
    if _has_marker(prefix, public_id):
        return _decode_foreign(prefix, public_id)
    if _is_native(surface, public_id):
        return DecodedId(backend=None, upstream_id=public_id)
    raise NotFound(public_id)


def _prefix(surface: Dialect) -> str:
    try:
        return _PREFIX[surface]
    except KeyError:
        raise ValueError(f"unknown surface: {surface!r}") from None


def _is_native(surface: Dialect, public_id: str) -> bool:
    """True if `public_id` has a native prefix of `surface`, a body, and no crosswalk marker."""
    if len(public_id) > MAX_ID_LENGTH or not _URL_SAFE.fullmatch(public_id):
        return False
    for native in _NATIVE_PREFIXES[surface]:
        if public_id.startswith(native) and len(public_id) > len(native):
            return not _has_marker(_PREFIX[surface], public_id)
    return False


def _has_marker(prefix: str, public_id: str) -> bool:
    return public_id.startswith(prefix) and _MARKER.match(public_id, len(prefix)) is not None


def _decode_foreign(prefix: str, public_id: str) -> DecodedId:
    header = prefix + _VERSION
    if not public_id.startswith(header):
        raise NotFound(public_id)  # a marker of a format version this gateway never issued
    blob = public_id[len(header) :]
    try:
        raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
    except ValueError:  # binascii.Error is one
        raise NotFound(public_id) from None
    # base64 ignores the spare low bits of the last character; insisting on the canonical form
    # keeps exactly one public id per run, so a flipped last character is not silently accepted
    if _b64(raw) != blob or len(raw) <= _CHECKSUM_SIZE:
        raise NotFound(public_id)
    payload, checksum = raw[:-_CHECKSUM_SIZE], raw[-_CHECKSUM_SIZE:]
    if checksum != _checksum(prefix, payload):
        raise NotFound(public_id)
    try:
        text = payload.decode()
    except UnicodeDecodeError:
        raise NotFound(public_id) from None
    backend, colon, upstream_id = text.partition(":")
    if not (colon and upstream_id and BACKEND_NAME.fullmatch(backend)):
        raise NotFound(public_id)
    return DecodedId(backend=backend, upstream_id=upstream_id)


def _checksum(prefix: str, payload: bytes) -> bytes:
    # Covers the header too, so an id issued on one surface does not decode on the other.
    header = (prefix + _VERSION).encode()
    return hashlib.blake2b(header + payload, digest_size=_CHECKSUM_SIZE).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
