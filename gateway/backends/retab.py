"""The `retab` backend: runs on Retab's API, for clients of either dialect.

Extend file ids are resolved to URLs through a configured Extend backend (hazard 12); the
answer is put back in the caller's own categories (hazard 3) and its metadata, which Retab
does not keep, is echoed from the ledger (hazard 10).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from gateway.backends.base import CallContext, FileResolver
from gateway.backends.upstream import Upstream
from gateway.config import RetabBackendConfig
from gateway.store.records import RunRecord
from mappings import canonical, retab
from mappings.answers import in_request_terms
from mappings.errors import InvalidInput, UnsupportedFeature
from mappings.notes import Notes, NoteTaker
from mappings.retab.common import retab_names


class RetabBackend:
    """Implements `Backend` over Retab's classifications API."""

    dialect: str | None = "retab"

    def __init__(
        self,
        name: str,
        *,
        config: RetabBackendConfig,
        upstream: Upstream,
        extend_files: FileResolver | None = None,
    ) -> None:
        self.name = name
        self._config = config
        self._upstream = upstream
        self._extend_files = extend_files

    @property
    def upstream(self) -> Upstream:
        return self._upstream

    async def create(
        self, request: canonical.ClassifyRequest, *, call: CallContext
    ) -> canonical.ClassificationRun:
        sendable = msgspec.structs.replace(
            request, document=await self._document(request.document, call)
        )
        body, notes = retab.request_from_canonical(sendable)
        call.notes.add(_echoed(notes))
        run = await self._run_call(
            "POST", "/v1/classifications", call, json=msgspec.to_builtins(body)
        )
        return self._answer(run, request)

    async def refresh(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        run = await self._run_call(
            "GET",
            f"/v1/classifications/{record.upstream_id}",
            call,
            params={"include_output": "true"},
        )
        return self._answer(run, record.request)

    async def cancel(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        # idempotent at Retab: a finished run comes back unchanged (hazard 25)
        run = await self._run_call("POST", f"/v1/classifications/{record.upstream_id}/cancel", call)
        return self._answer(run, record.request)

    async def delete(self, record: RunRecord, *, call: CallContext) -> None:
        request = self._upstream.build(
            "DELETE", f"/v1/classifications/{record.upstream_id}", call=call
        )
        await self._upstream.send(request)

    async def resolve_file(self, file_id: str, *, call: CallContext) -> canonical.Document:
        """A Retab file id as the document Retab's SDK would send for it (hazard 11)."""
        request = self._upstream.build("GET", f"/v1/files/{file_id}/download-link", call=call)
        response = await self._upstream.send(request)
        return retab.document_from_file_link(
            self._upstream.decode(response, retab.file_link_decoder)
        )

    async def _document(
        self, document: canonical.Document, call: CallContext
    ) -> canonical.Document:
        if not isinstance(document, canonical.FileRefDocument) or document.vendor != "extend":
            return document
        if self._extend_files is None:
            raise UnsupportedFeature(
                "file.id",
                "an Extend file id can reach Retab only through a configured Extend backend",
            )
        resolved: canonical.Document = await self._extend_files(document.file_id, call=call)
        return resolved

    async def _run_call(
        self, method: str, path: str, call: CallContext, **kwargs: Any
    ) -> retab.Classification:
        request: httpx.Request = self._upstream.build(method, path, call=call, **kwargs)
        response = await self._upstream.send(request)
        return self._upstream.decode(response, retab.classification_decoder)

    def _answer(
        self, wire: retab.Classification, request: canonical.ClassifyRequest | None
    ) -> canonical.ClassificationRun:
        try:
            run, _ = retab.response_to_canonical(wire, received_at=datetime.now(UTC))
        except (UnsupportedFeature, InvalidInput) as exc:
            raise self._upstream.untranslatable(exc) from None
        if request is None:
            return run
        names, _ = retab_names(request.config.categories)
        return in_request_terms(run, request, names, by="name")


def _echoed(notes: Notes) -> Notes:
    """The request's notes, less `metadata`: the ledger keeps it and echoes it back."""
    taker = NoteTaker()
    for path in notes.synthesized:
        taker.synthesized(path)
    for path in notes.dropped:
        if path != "metadata":
            taker.dropped(path)
    return taker.notes
