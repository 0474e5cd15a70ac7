"""Extend's Files API over crosswalk's file store: `File` and `FileSummary` from a stored
file, the list page, and the query parameters of upload, retrieve and list (contracts.md §4.3).

Pure: imports only the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from msgspec import UNSET, UnsetType

from mappings.errors import InvalidInput
from mappings.extend.common import file_type_from_mime, format_timestamp
from mappings.extend.lists import _order, page_size
from mappings.extend.resources import File, FileMetadata, FileSummary
from mappings.extend.wire import ExtendWire
from mappings.files import FileQuery, StoredFile
from mappings.notes import Notes

FILES_PATH = "/files"
UPLOAD_PATH = "/files/upload"
# what `GET /files/{id}` may ask for that crosswalk does not make: parsed contents (deprecated)
_CONTENT_FLAGS = ("rawText", "markdown", "html")


class FileList(ExtendWire, kw_only=True):
    """`GET /files`: one page of summaries and the opaque forward-only token."""

    object: str = "list"
    data: tuple[FileSummary, ...]
    next_page_token: str | None = None


def file_from_canonical(stored: StoredFile, *, presigned_url: str | None = None) -> File:
    """A stored file as Extend's `File`: with `presignedUrl` when retrieved, and with the
    `parentFileId` and `contents` nulls Extend's upload answer carries when uploaded."""
    summary = file_summary_from_canonical(stored)
    retrieved = presigned_url is not None
    return File(
        id=summary.id,
        name=summary.name,
        type=summary.type,
        parent_file_id=UNSET if retrieved else None,
        metadata=summary.metadata,
        created_at=summary.created_at,
        updated_at=summary.updated_at,
        presigned_url=presigned_url if retrieved else UNSET,
        contents=UNSET if retrieved else None,
    )


def file_summary_from_canonical(stored: StoredFile) -> FileSummary:
    """A stored file as Extend's `FileSummary`; `type` is left out when no Extend type fits
    its MIME type (the SDK reads it as optional), `pageCount` until the pages are counted."""
    file_type: str | UnsetType = file_type_from_mime(stored.mime_type) or UNSET
    page_count = UNSET if stored.page_count is None else stored.page_count
    return FileSummary(
        id=stored.id,
        name=stored.name,
        type=file_type,
        metadata=FileMetadata(page_count=page_count),
        created_at=format_timestamp(stored.created_at),
        updated_at=format_timestamp(stored.updated_at),
    )


def file_list_from_canonical(
    files: Iterable[StoredFile], *, next_page_token: str | None
) -> FileList:
    """A page of stored files as Extend's list; the token is the last file's id."""
    summaries = tuple(file_summary_from_canonical(f) for f in files)
    return FileList(data=summaries, next_page_token=next_page_token)


def file_list_query_to_canonical(params: Mapping[str, str]) -> FileQuery:
    """`GET /files`'s query string as a file query: `nameContains`, `sortDir`,
    `nextPageToken` (a file id, read on from) and `maxPageSize`."""
    return FileQuery(
        limit=page_size(params.get("maxPageSize")),
        order=_order(None, params.get("sortDir")),
        cursor=params.get("nextPageToken") or None,
        direction="after",  # Extend's tokens only page forwards (hazard 21)
        name_contains=params.get("nameContains") or None,
    )


def upload_query_notes(params: Mapping[str, str]) -> Notes:
    """What `POST /files/upload`'s query asks that crosswalk does not do: `convertToPdf`
    (files are kept as they came; Extend would convert Office files and images to PDF)."""
    return Notes(dropped=("convertToPdf",)) if _flag(params, "convertToPdf") else Notes()


def retrieve_query_notes(params: Mapping[str, str]) -> Notes:
    """What `GET /files/{id}`'s query asks that crosswalk does not make: parsed contents."""
    return Notes(dropped=tuple(name for name in _CONTENT_FLAGS if _flag(params, name)))


def file_not_found_message(file_id: str) -> str:
    """Extend's 404 message for an unknown file."""
    return f"File {file_id} not found."


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name)
    if value is None or value in ("", "false"):
        return False
    if value == "true":
        return True
    raise InvalidInput(name, "must be `true` or `false`", location="query")
