"""Which backend gets a new run, and which owns an existing one (design.md §5, §10).

New runs go to a surface's own route when it has one, else to the `[routing] split` when one
is configured, else to the `[routing]` default. A split is sticky per document: the backend
is picked by a hash of the document (`document_key`), never by a random draw, so the same
document goes to the same backend on every replica and across restarts. A public run id names
the backend that owns it (mappings/ids.py), so any replica routes reads without a lookup; a
native id of the surface's own vendor belongs to a backend of that vendor (migration).
A create whose primary fails before a run exists is tried on the `[routing] fallback`
backends in order (`fallbacks`; when: gateway/service/fallback.py). The copies of creates
sent to `[routing] shadow` backends are made by gateway/service/shadow.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from gateway.backends.base import Backend
from mappings import canonical, ids
from mappings.dialects import Dialect
from mappings.errors import NotFound

# domain separation: a split's hash is never the hash some other part of crosswalk computes
# of the same bytes, and a URL never collides with the bytes or text that spell it
_KEY_DOMAIN = b"crosswalk/split/document/v1\x00"
_PICK_DOMAIN = b"crosswalk/split/pick/v1\x00"


class Located(NamedTuple):
    """A run's owner and the id it knows the run by."""

    backend: Backend
    upstream_id: str


def document_key(document: canonical.Document) -> bytes:
    """What identifies a document for a sticky split: the same bytes (or text), URL string or
    file id give the same key whichever surface or process reads them. A URL is keyed as
    written (paths are case-sensitive); a stored file by its id, not its content."""
    match document:
        case canonical.InlineDocument(data=data):
            kind, value = b"inline", hashlib.sha256(data).digest()
        case canonical.UrlDocument(url=url):
            kind, value = b"url", url.encode()
        case canonical.TextDocument(text=text):
            # a text is the bytes it encodes to: Extend's `file.text` and Retab's text/plain
            # data URL of the same words are one document, as translation treats them
            kind, value = b"inline", hashlib.sha256(text.encode()).digest()
        case canonical.StoredFileDocument(file_id=file_id):
            kind, value = b"stored", file_id.encode()
        case canonical.FileRefDocument(vendor=vendor, file_id=file_id):
            kind, value = b"file", f"{vendor}:{file_id}".encode()
    return hashlib.sha256(_KEY_DOMAIN + kind + b"\x00" + value).digest()


def pick(weights: Mapping[str, int], key: bytes) -> str:
    """The backend of `weights` a document with `key` goes to: a point on [0, total) from the
    key's hash, laid on the weights in name order (so rewriting the table in another order
    moves no document). A weight of 0 is never picked; at least one must be positive."""
    names = sorted(name for name, weight in weights.items() if weight > 0)
    if not names:
        raise ValueError("a split needs at least one positive weight")
    total = sum(weights[name] for name in names)
    digest = hashlib.sha256(_PICK_DOMAIN + key).digest()
    # multiply-shift of 64 hash bits: uniform on [0, total) to within total / 2**64
    point = (int.from_bytes(digest[:8], "big") * total) >> 64
    for name in names:
        point -= weights[name]
        if point < 0:
            return name
    raise AssertionError("unreachable: point < total")  # pragma: no cover


class Routing:
    """Routes creates by surface and document, and run ids to the backends that own them."""

    def __init__(
        self,
        backends: Mapping[str, Backend],
        *,
        default: str,
        surfaces: Mapping[Dialect, str] | None = None,
        split: Mapping[str, int] | None = None,
        fallback: Sequence[str] = (),
    ) -> None:
        self._backends = backends
        self._default = default
        self._surfaces = dict(surfaces or {})
        self._split = dict(split or {})
        self._fallback = tuple(fallback)

    def for_create(self, surface: Dialect, document: canonical.Document | None = None) -> Backend:
        """The backend that gets a new run created through `surface`: the surface's own
        route, else the split's pick for `document`, else the default (also for a document
        that could not be read). The document is hashed only when a split applies."""
        if surface in self._surfaces:
            return self._backends[self._surfaces[surface]]
        if self._split and document is not None:
            return self._backends[pick(self._split, document_key(document))]
        return self._backends[self._default]

    def fallbacks(self, primary: Backend) -> tuple[Backend, ...]:
        """The backends tried in order when `primary` fails before a run exists; never the
        primary itself."""
        return tuple(self._backends[n] for n in self._fallback if n != primary.name)

    def splits(self, surface: Dialect) -> bool:
        """Whether creates on `surface` are split by document (so need the document read)."""
        return bool(self._split) and surface not in self._surfaces

    def backend(self, name: str) -> Backend | None:
        """A configured backend by name; None for one no longer configured."""
        return self._backends.get(name)

    def locate(self, public_id: str, surface: Dialect) -> Located | None:
        """The backend owning a public run id as shown on `surface`; None if none can."""
        try:
            decoded = ids.decode(surface, public_id)
        except NotFound:
            return None
        if decoded.backend is not None and decoded.backend in self._backends:
            return Located(self._backends[decoded.backend], decoded.upstream_id)
        # a native id, or one that only looks like ours: a vendor that is itself a crosswalk
        # issues `xw1` ids naming its own backends. Both belong to the surface's own vendor.
        native = self._native_backend(surface)
        if native is None:
            return None
        return Located(native, public_id if decoded.backend is not None else decoded.upstream_id)

    def public_id(self, surface: Dialect, backend: Backend, upstream_id: str) -> str:
        """The id `surface`'s clients know a run of `backend` by."""
        return ids.encode(surface, backend.name, backend.dialect, upstream_id)

    def _native_backend(self, surface: Dialect) -> Backend | None:
        """The backend that owns ids of the surface's own vendor (old ids in a migration)."""
        routed = self.for_create(surface)
        if routed.dialect == surface:
            return routed
        return next((b for b in self._backends.values() if b.dialect == surface), None)
