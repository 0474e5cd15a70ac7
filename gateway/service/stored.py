"""Creates that name a file of crosswalk's own store (gateway/files): by its id, or by one of
crosswalk's own signed download links among document URLs (what Retab's SDK sends for a
FileRef it resolved, or an Extend `presignedUrl` handed back).

Such a file is the caller's or it does not exist: another key's file is a 404, as an unknown
one is. Its run is always translated, never relayed, also on a backend of the client's own
vendor: the vendor knows the file only by the id of its own copy (hazard 13), and the client
only by crosswalk's, so a later read of the run is translated too (`reads_translated`).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from gateway.context import CallContext
from gateway.files.store import FileStore
from gateway.store.records import RunRecord, never_created
from mappings import canonical


class StoredFiles:
    """The file store as one dialect's creates use it; `not_found` words its 404."""

    def __init__(self, store: FileStore, *, not_found: Callable[[str], str]) -> None:
        self._store = store
        self._not_found = not_found

    def own_link(self, url: str) -> str | None:
        """The file a document URL is one of crosswalk's own valid links to, else None."""
        return self._store.links.file_id_of(url)

    async def owned(
        self, request: canonical.ClassifyRequest, call: CallContext
    ) -> canonical.ClassifyRequest:
        """`request` with its stored file checked to be the caller's (FileNotFound if not),
        and the file's name and type where the client gave none, so that every backend and
        the ledger know what the run reads."""
        document = request.document
        if not isinstance(document, canonical.StoredFileDocument):
            return request
        file_id, owner = document.file_id, call.principal.owner
        record = await self._store.owned(owner, file_id, not_found=self._not_found(file_id))
        named = msgspec.structs.replace(
            document,
            filename=document.filename or record.file.name,
            mime_type=document.mime_type or record.file.mime_type,
        )
        return msgspec.structs.replace(request, document=named)


def names_stored_file(request: canonical.ClassifyRequest | None) -> bool:
    """Whether a create names a file of crosswalk's store."""
    return request is not None and isinstance(request.document, canonical.StoredFileDocument)


def reads_translated(record: RunRecord | None) -> bool:
    """Whether a run is read through the canonical model even on a backend of its client's
    vendor: one whose create named a stored file shows crosswalk's id for it, and one no
    backend made (a batch input refused) is known to the ledger alone."""
    return record is not None and (names_stored_file(record.request) or never_created(record))
