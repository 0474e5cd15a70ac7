"""Retab's Files API over crosswalk's file store (contracts.md §4.1): `GET /v1/files`,
`GET /v1/files/{id}`, `GET /v1/files/{id}/download-link`, and the upload flow
`POST /v1/files/upload` → `PUT` to its `uploadUrl` → `POST /v1/files/upload/{id}/complete`,
answered as Retab's API would.

Files are crosswalk's whatever the backend, in the one store the Extend surface uses, so a
file uploaded through either surface is listed, read and linked through both by the same key,
and by no other. A download link is signed and keyless; a file's `MIMEData` is crosswalk's
durable reference to it, which its owner's creates read as that file.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from gateway.context import CallContext, provide_retab_call
from gateway.errors import InvalidRequest
from gateway.files.pending import PendingUploads
from gateway.files.store import FileStore
from gateway.service.decoding import decode_body
from gateway.surfaces.files import provide_file_store
from gateway.surfaces.files_uploads import provide_pending_uploads
from gateway.surfaces.options import options_handler
from gateway.surfaces.render import json_response
from mappings.files import is_well_formed
from mappings.retab import files as retab_files

AnyRequest = Request[Any, Any, Any]
Call = NamedDependency[CallContext]
Store = NamedDependency[FileStore]
Uploads = NamedDependency[PendingUploads]

FILES = retab_files.FILES_PATH
ONE = FILES + "/{file_id:str}"
LINK = ONE + "/download-link"
UPLOAD = retab_files.UPLOAD_PATH
COMPLETE = UPLOAD + "/{file_id:str}/complete"
NOT_FOUND = "File not found"


@get(FILES)
async def list_files(request: AnyRequest, call: Call, store: Store) -> Response[bytes]:
    """The caller's files, paged by id cursors as classifications are (contracts.md §2.3)."""
    query, notes = retab_files.file_list_query_to_canonical(request.query_params)
    if query.cursor is not None and not is_well_formed(query.cursor):
        raise InvalidRequest(f"Unknown pagination cursor {query.cursor!r}.", status=400)
    page = await store.list(call.principal.owner, query)
    records = page.records
    before = records[0].id if page.has_more_before and records else None
    after = records[-1].id if page.has_more_after and records else None
    files = (record.file for record in records)
    body = retab_files.file_list_from_canonical(files, before=before, after=after)
    return json_response(body, notes=notes)


@get(ONE)
async def get_file(call: Call, store: Store, file_id: FromPath[str]) -> Response[bytes]:
    """One of the caller's files."""
    record = await store.owned(call.principal.owner, file_id, not_found=NOT_FOUND)
    return json_response(retab_files.file_from_canonical(record.file))


@get(LINK)
async def download_link(call: Call, store: Store, file_id: FromPath[str]) -> Response[bytes]:
    """A signed, keyless download link to the file, and its `MIMEData`."""
    record = await store.owned(call.principal.owner, file_id, not_found=NOT_FOUND)
    link, reference = store.link(record).url, store.links.reference(record.id)
    expires_in = int(store.links.ttl.total_seconds())
    body = retab_files.file_link_from_canonical(
        record.file, link=link, expires_in=expires_in, reference=reference
    )
    return json_response(body)


@post(UPLOAD, status_code=200)
async def create_upload(
    request: AnyRequest, call: Call, store: Store, uploads: Uploads
) -> Response[bytes]:
    """Announce an upload: its file id, and the signed URL to PUT its bytes to."""
    body = decode_body(await request.body(), retab_files.UploadRequest, dialect="retab")
    announcement = retab_files.upload_to_canonical(body)
    announced = await uploads.announce(call.principal.owner, announcement)
    file_id = announced.session.file_id
    answer = retab_files.upload_from_canonical(
        file_id,
        announcement,
        upload_url=announced.upload.url,
        expires_at=announced.upload.expires_at,
        reference=store.links.reference(file_id),
    )
    return json_response(answer)


@post(COMPLETE, status_code=200)
async def complete_upload(
    request: AnyRequest, call: Call, store: Store, uploads: Uploads, file_id: FromPath[str]
) -> Response[bytes]:
    """Check the uploaded bytes against the announcement and keep the file: its `MIMEData`."""
    raw = await request.body()
    body = decode_body(raw or b"{}", retab_files.CompleteUploadRequest, dialect="retab")
    sha256 = retab_files.complete_to_canonical(body)
    record = await uploads.complete(call.principal.owner, file_id, sha256=sha256)
    reference = store.links.reference(record.id)
    return json_response(retab_files.mime_data_from_canonical(record.file, reference=reference))


router = Router(
    path="/",
    route_handlers=[
        options_handler([FILES, ONE, LINK, UPLOAD, COMPLETE], name="retab-files-options"),
        list_files,
        get_file,
        download_link,
        create_upload,
        complete_upload,
    ],
    dependencies={
        "call": Provide(provide_retab_call),
        "store": Provide(provide_file_store),
        "uploads": Provide(provide_pending_uploads),
    },
)
