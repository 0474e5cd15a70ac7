"""The `retab` backend: runs on Retab's API, for clients of either dialect.

Extend file ids are resolved to URLs through a configured Extend backend (hazard 12); the
answer is put back in the caller's own categories (hazard 3) and its metadata, which Retab
does not keep, is echoed from the ledger (hazard 10).
"""

from __future__ import annotations

import msgspec

from gateway.backends.base import Accepted
from gateway.backends.vendor import VendorBackend
from gateway.context import CallContext
from gateway.store.records import RunRecord
from mappings import canonical, retab
from mappings.notes import Notes


class RetabBackend(VendorBackend[retab.Classification]):
    """Implements `Backend` over Retab's classifications API."""

    dialect = "retab"
    runs_path = retab.RUNS_PATH
    file_field = "file.id"
    decoder = retab.classification_decoder
    to_canonical = retab.response_to_canonical
    in_request_terms = retab.in_request_terms

    async def create(
        self,
        request: canonical.ClassifyRequest,
        *,
        call: CallContext,
        accepted: Accepted | None = None,  # one call, or no vendor: nothing exists before it ends
    ) -> canonical.ClassificationRun:
        document = await self._foreign_document(request.document, call)
        outbound = retab.request_from_canonical(msgspec.structs.replace(request, document=document))
        call.notes.add(_echoed(outbound.notes))
        body = msgspec.to_builtins(outbound.body)
        run = await self._run_call("POST", self.runs_path, call, asked=None, json=body)
        return self._answer(run, request, outbound.sent)

    async def refresh(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        asked, params = record.upstream_id, {"include_output": "true"}
        run = await self._run_call("GET", self._one(asked), call, asked=asked, params=params)
        return self._answer(run, record.request)

    async def cancel(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        # idempotent at Retab: a finished run comes back unchanged (hazard 25)
        asked = record.upstream_id
        run = await self._run_call("POST", self._one(asked) + "/cancel", call, asked=asked)
        return self._answer(run, record.request)

    async def resolve_file(self, file_id: str, *, call: CallContext) -> canonical.Document:
        """A Retab file id as the document Retab's SDK would send for it (hazard 11)."""
        request = self._upstream.build("GET", f"/v1/files/{file_id}/download-link", call=call)
        response = await self._upstream.send(request)
        return retab.document_from_file_link(
            self._upstream.decode(response, retab.file_link_decoder)
        )


def _echoed(notes: Notes) -> Notes:
    """The request's notes, less `metadata`: the ledger keeps it and echoes it back."""
    return Notes(
        synthesized=notes.synthesized,
        dropped=tuple(path for path in notes.dropped if path != "metadata"),
    )
