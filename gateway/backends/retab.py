"""The `retab` backend: runs on Retab's API, for clients of either dialect.

Extend file ids are resolved to URLs through a configured Extend backend (hazard 12). A file
of crosswalk's own store goes to Retab as a signed download link when Retab can reach the
gateway's `[server] public_url` (an https URL on a public host): the request stays small
whatever the file's size, and Retab fetches the bytes from `/crosswalk/files/{id}/content`
within the link's lifetime. Otherwise (a loopback or private public_url, as by default) Retab
could not fetch the link, so the bytes go inline as a data URL, which Retab's 32 MiB request
cap bounds (contracts.md §1); the `crosswalk-translation` header names the choice made. The
answer is put back in the caller's own categories (hazard 3) and its metadata, which Retab
does not keep, is echoed from the ledger (hazard 10).
"""

from __future__ import annotations

import msgspec

from gateway.backends.base import Accepted, FileSource
from gateway.backends.stored import stored_field, stored_record
from gateway.backends.upstream import Upstream
from gateway.backends.vendor import VendorBackend
from gateway.clock import Clock, system_clock
from gateway.context import CallContext
from gateway.errors import UpstreamRejected
from gateway.files.errors import FileNotFound
from gateway.files.store import FileStore
from gateway.store.records import RunRecord
from mappings import canonical, retab
from mappings.errors import UnsupportedFeature
from mappings.notes import Notes
from mappings.shared import is_vendor_id

# Retab's hosting layer caps a request at 32 MiB; base64 takes 4 bytes for every 3, and the
# rest of the body (categories, instructions) is kept room for: about 23 MiB of file inline
RETAB_MAX_REQUEST_BYTES = 32 * 1024 * 1024
INLINE_MAX_BYTES = (RETAB_MAX_REQUEST_BYTES - 1024 * 1024) // 4 * 3
SIGNED_LINK_NOTE = "document.url:signed_link"
DATA_URL_NOTE = "document.url:data_url"


class RetabBackend(VendorBackend[retab.Classification]):
    """Implements `Backend` over Retab's classifications API; `public_links` says whether
    Retab can fetch crosswalk's signed download links (`links_reach_vendors`)."""

    dialect = "retab"
    runs_path = retab.RUNS_PATH
    file_field = "file.id"
    decoder = retab.classification_decoder
    to_canonical = retab.response_to_canonical
    in_request_terms = retab.in_request_terms

    def __init__(
        self,
        name: str,
        *,
        upstream: Upstream,
        files: FileSource | None = None,
        stored: FileStore,
        public_links: bool = False,
        clock: Clock = system_clock,
    ) -> None:
        super().__init__(name, upstream=upstream, files=files, stored=stored, clock=clock)
        self._public_links = public_links

    async def create(
        self,
        request: canonical.ClassifyRequest,
        *,
        call: CallContext,
        accepted: Accepted | None = None,  # one call, or no vendor: nothing exists before it ends
    ) -> canonical.ClassificationRun:
        document = request.document
        if isinstance(document, canonical.StoredFileDocument):
            document = await self._stored_document(document, call)
        else:
            document = await self._foreign_document(document, call)
        outbound = retab.request_from_canonical(msgspec.structs.replace(request, document=document))
        call.notes.add(_echoed(outbound.notes))
        run = await self._create_call(self.runs_path, call, outbound.body)
        return self._answer(run, request, outbound.sent)

    async def refresh(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        asked, params = record.upstream_id, {"include_output": "true"}
        run = await self._run_call("GET", self._one(asked), call, asked=asked, params=params)
        return self._answer(run, record.request, first_seen=record.run.created_at)

    async def cancel(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        # idempotent at Retab: a finished run comes back unchanged (hazard 25)
        asked = record.upstream_id
        run = await self._run_call("POST", self._one(asked) + "/cancel", call, asked=asked)
        return self._answer(run, record.request, first_seen=record.run.created_at)

    async def _stored_document(
        self, document: canonical.StoredFileDocument, call: CallContext
    ) -> canonical.UrlDocument | canonical.InlineDocument:
        """A file of crosswalk's store as Retab can take it: its signed link, else its bytes."""
        record = await stored_record(self._stored, document)
        field = stored_field(call)
        if document.password or record.password:
            raise UnsupportedFeature(field, "Retab cannot open encrypted PDFs")
        filename = document.filename or record.file.name
        if self._public_links:
            call.notes.synthesized(SIGNED_LINK_NOTE)
            return canonical.UrlDocument(url=self._stored.link(record).url, filename=filename)
        if record.file.size > INLINE_MAX_BYTES:
            raise UnsupportedFeature(
                field,
                f"the file is {record.file.size} bytes; Retab cannot reach this gateway's "
                "[server] public_url to fetch it, and takes at most "
                f"{INLINE_MAX_BYTES} bytes inline",
            )
        try:
            data = await self._stored.read_bytes(record)
        except FileNotFoundError:  # deleted since it was found
            raise FileNotFound(f"File {record.id} not found.") from None
        call.notes.synthesized(DATA_URL_NOTE)
        return canonical.InlineDocument(
            data=data, filename=filename, mime_type=record.file.mime_type
        )

    async def resolve_file(self, file_id: str, *, call: CallContext) -> canonical.Document:
        """A Retab file id as the document Retab's SDK would send for it (hazard 11)."""
        if not is_vendor_id(file_id):  # never another path, under crosswalk's key
            raise UpstreamRejected(f"File {file_id} not found.", status=404, code="NOT_FOUND")
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
