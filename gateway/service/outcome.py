"""What a dialect service answers a handler: a vendor's answer relayed as it came, or a run
(or a page of runs) served through the canonical model, for the surface to render."""

from __future__ import annotations

import httpx
import msgspec

from mappings import canonical
from mappings.notes import Notes


class Served(msgspec.Struct, frozen=True, kw_only=True):
    """A run as a surface shows it: under its public id, from the backend that owns it, with
    what translating the call synthesized or dropped so far."""

    public_id: str
    run: canonical.ClassificationRun
    backend: str
    notes: Notes = Notes()
    attempts: str | None = None  # the `crosswalk-attempts` header of a create with fallbacks


class Page(msgspec.Struct, frozen=True, kw_only=True):
    """One page of a listing, with public-id cursors for the pages either side."""

    items: tuple[Served, ...]
    before: str | None
    after: str | None


class Deleted(msgspec.Struct, frozen=True, kw_only=True):
    """A run deleted through the canonical path."""

    public_id: str
    backend: str


class Relayed(msgspec.Struct, frozen=True, kw_only=True):
    """A same-vendor backend's answer, to be relayed byte for byte."""

    answer: httpx.Response
    backend: str
    attempts: str | None = None  # the `crosswalk-attempts` header of a create with fallbacks


Outcome = Served | Relayed
