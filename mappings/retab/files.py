"""Retab's Files API over crosswalk's file store (contracts.md §4.1): the `File` object and
its list page, the list's query, `FileLink` with its `MIMEData`, and the bodies of the upload
flow (`POST /v1/files/upload`, then `POST /v1/files/upload/{id}/complete`).

A file's `MIMEData` is crosswalk's durable reference to it (`LinkSigner.reference`), as
Retab's is a `storage.retab.com` URL: it never expires, and a create that gives it as its
document reads that very file, so the run names it by its id. Retab's SDK sends it for a
`FileRef` it resolves. Pure: imports only the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import msgspec
from msgspec import UNSET, UnsetType

from mappings.errors import InvalidInput, UnsupportedFeature
from mappings.files import FileQuery, StoredFile
from mappings.notes import Notes
from mappings.retab.queries import list_query_to_canonical
from mappings.retab.wire import FileLink, ListMetadata, MIMEData, RetabWire
from mappings.uploads import Announcement, sha256_hex

FILES_PATH = "/v1/files"
UPLOAD_PATH = "/v1/files/upload"
# the list parameters `GET /v1/classifications` shares, read by its own rules
_SHARED_PARAMS = ("limit", "order", "before", "after", "filename", "from_date", "to_date")
_SORTED_BY = "created_at"  # the one order the store keeps files in
_FLAG_VALUES = {"true": True, "1": True, "false": False, "0": False}


class File(RetabWire, kw_only=True):
    """Retab's file object, as `GET /v1/files[/{id}]` answer it."""

    object: str = "file"
    id: str
    filename: str
    mime_type: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    page_count: int | None = None


class FileList(RetabWire, kw_only=True):
    """`GET /v1/files`: the envelope of `GET /v1/classifications` (contracts.md §2.3)."""

    data: tuple[File, ...]
    list_metadata: ListMetadata


class UploadRequest(RetabWire, forbid_unknown_fields=True, kw_only=True):
    """Body of `POST /v1/files/upload`. Unknown keys are rejected."""

    filename: str
    size_bytes: int
    content_type: str | UnsetType | None = UNSET
    sha256: str | UnsetType | None = UNSET


class CompleteUploadRequest(RetabWire, forbid_unknown_fields=True, kw_only=True):
    """Body of `POST /v1/files/upload/{id}/complete`. Unknown keys are rejected."""

    sha256: str | UnsetType | None = UNSET


class UploadResponse(msgspec.Struct, kw_only=True, rename="camel"):
    """`POST /v1/files/upload`'s answer, camelCase unlike the rest of Retab's API (§4.1)."""

    file_id: str
    upload_url: str
    upload_method: str = "PUT"
    upload_headers: dict[str, str]
    mime_data: MIMEData | None
    expires_at: datetime


def file_from_canonical(stored: StoredFile) -> File:
    """A stored file as Retab's `File`; `page_count` is null until the pages are counted."""
    return File(
        id=stored.id,
        filename=stored.name,
        mime_type=stored.mime_type,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
        page_count=stored.page_count,
    )


def file_list_from_canonical(
    files: Iterable[StoredFile], *, before: str | None, after: str | None
) -> FileList:
    """A page of stored files as Retab's list, its cursors the ids at either end."""
    data = tuple(file_from_canonical(stored) for stored in files)
    return FileList(data=data, list_metadata=ListMetadata(before=before, after=after))


def file_list_query_to_canonical(params: Mapping[str, str]) -> tuple[FileQuery, Notes]:
    """`GET /v1/files`'s query as a file query. `limit`, `order`, `before`, `after`,
    `filename` (exact) and the dates are read as for classifications; `sort_by` other than
    `created_at` and `mime_type` are refused; `include_embeddings=true` is noted as dropped
    (crosswalk has none). Other parameters are ignored, as Retab's FastAPI ignores them."""
    shared = {name: params[name] for name in _SHARED_PARAMS if name in params}
    runs = list_query_to_canonical(shared)
    if params.get("mime_type"):
        raise UnsupportedFeature("mime_type", "files cannot be filtered by type", location="query")
    if params.get("sort_by", _SORTED_BY) != _SORTED_BY:
        reason = f"files are sorted by `{_SORTED_BY}` only"
        raise UnsupportedFeature("sort_by", reason, location="query")
    embeddings = _flag(params.get("include_embeddings", "false"), "include_embeddings")
    query = FileQuery(
        limit=runs.limit,
        order=runs.order,
        cursor=runs.cursor,
        direction=runs.direction,
        name=runs.filename,
        created_from=runs.created_from,
        created_to=runs.created_to,
    )
    return query, Notes(dropped=("include_embeddings",) if embeddings else ())


def mime_data_from_canonical(stored: StoredFile, *, reference: str) -> MIMEData:
    """The file as `MIMEData`: its name and its durable `reference`."""
    return MIMEData(filename=stored.name, url=reference)


def file_link_from_canonical(
    stored: StoredFile, *, link: str, expires_in: int, reference: str
) -> FileLink:
    """`GET /v1/files/{id}/download-link`: the signed link, its lifetime in seconds written
    as Retab writes it (`"900s"`), and the file's `MIMEData`."""
    return FileLink(
        download_url=link,
        expires_in=f"{expires_in}s",
        filename=stored.name,
        mime_data=mime_data_from_canonical(stored, reference=reference),
    )


def upload_to_canonical(body: UploadRequest) -> Announcement:
    """What `POST /v1/files/upload` announces: a name, a size and maybe a SHA-256 (hex)."""
    if not body.filename.strip():
        raise InvalidInput("filename", "must not be empty")
    if body.size_bytes < 0:
        raise InvalidInput("size_bytes", "Input should be greater than or equal to 0")
    content_type = body.content_type if isinstance(body.content_type, str) else None
    return Announcement(
        name=body.filename,
        size=body.size_bytes,
        sha256=_sha256(body.sha256),
        content_type=content_type or None,
    )


def upload_from_canonical(
    file_id: str,
    announced: Announcement,
    *,
    upload_url: str,
    expires_at: datetime,
    reference: str,
) -> UploadResponse:
    """The answer to an announcement: where to PUT the bytes, until when, and with what
    headers (the announced `Content-Type`, if any); its `mimeData` is the durable reference
    to the file, which names it once the upload is completed."""
    headers = {} if announced.content_type is None else {"Content-Type": announced.content_type}
    return UploadResponse(
        file_id=file_id,
        upload_url=upload_url,
        upload_headers=headers,
        mime_data=MIMEData(filename=announced.name, url=reference),
        expires_at=expires_at,
    )


def complete_to_canonical(body: CompleteUploadRequest) -> str | None:
    """The SHA-256 a complete checks the bytes against (lowercase hex), if it gives one."""
    return _sha256(body.sha256)


def _sha256(value: str | UnsetType | None) -> str | None:
    if not isinstance(value, str):
        return None
    digest = sha256_hex(value)
    if digest is None:
        raise InvalidInput("sha256", "must be a SHA-256 digest: 64 hexadecimal digits")
    return digest


def _flag(raw: str, name: str) -> bool:
    try:
        return _FLAG_VALUES[raw.lower()]
    except KeyError:
        raise InvalidInput(name, "Input should be a valid boolean", location="query") from None
