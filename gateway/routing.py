"""Which backend gets a new run, and which owns an existing one (design.md §5, §10).

New runs go to the `[routing]` default, or to a surface's own route. A public run id names
the backend that owns it (mappings/ids.py), so any replica routes reads without a lookup; a
native id of the surface's own vendor belongs to a backend of that vendor (migration).
Split, shadow and fallback routing will be decided here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from gateway.backends.base import Backend
from mappings import ids
from mappings.dialects import Dialect
from mappings.errors import NotFound


class Located(NamedTuple):
    """A run's owner and the id it knows the run by."""

    backend: Backend
    upstream_id: str


class Routing:
    """Routes creates by surface and run ids to the backends that own them."""

    def __init__(
        self,
        backends: Mapping[str, Backend],
        *,
        default: str,
        surfaces: Mapping[Dialect, str] | None = None,
    ) -> None:
        self._backends = backends
        self._default = default
        self._surfaces = dict(surfaces or {})

    def for_create(self, surface: Dialect) -> Backend:
        """The backend that gets new runs created through `surface`."""
        return self._backends[self._surfaces.get(surface, self._default)]

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
