"""An Extend backend's own saved classifiers, reached through it: `GET /classifiers[/{id}]`
relayed as the client asked them (same-vendor pass-through), and the saved version a
`classifier: {id, version}` reference runs, for inlining (hazard 10).
"""

from __future__ import annotations

import httpx

from gateway.backends import answers
from gateway.backends.base import Query
from gateway.backends.extend import ExtendBackend
from gateway.context import CallContext
from mappings import canonical, extend


class VendorClassifiers:
    """The saved classifiers of one Extend backend."""

    def __init__(self, backend: ExtendBackend) -> None:
        self._backend = backend

    @property
    def name(self) -> str:
        """The backend's name, for the `crosswalk-backend` header."""
        return self._backend.name

    async def forward(self, path: str, *, call: CallContext, params: Query = ()) -> httpx.Response:
        """The vendor's answer to a GET, whatever its status; but a refusal of the key
        crosswalk holds is the operator's to fix, not a 401 telling the client its key is
        wrong (as for relayed runs)."""
        relay = self._backend.relay
        answer = await relay.forward("GET", path, call=call, params=params)
        if answer.status_code in (401, 403) and not relay.proxies_client_keys:
            raise answers.key_refused(self._backend.name, "extend", answer.status_code)
        return answer

    async def saved_version(
        self, ref: canonical.ClassifierRef, *, call: CallContext
    ) -> extend.ClassifierVersion:
        """The vendor's version a reference runs; its 404 for an unknown id or version."""
        return await self._backend.saved_version(ref, call=call)
