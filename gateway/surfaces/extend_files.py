"""Extend's Files API over crosswalk's file store (contracts.md §4.3): `POST /files/upload`,
`GET /files/{id}`, `GET /files` and `DELETE /files/{id}`, answered as Extend's API would.

Files are crosswalk's whatever the backend: an upload streams to disk as it arrives (never
held whole), retrieving one gives a signed keyless download link as its `presignedUrl`, and
every call is scoped to the caller's key. `router(settings.files)` builds the router, since
the upload route's body limit is the configured file limit, not the server's.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from gateway.config import FilesConfig
from gateway.context import CallContext, provide_extend_call
from gateway.errors import InvalidRequest
from gateway.files.errors import FileNotFound
from gateway.files.multipart import FormPart, MalformedForm, PartEnd, boundary_of, form_events
from gateway.files.records import FileRecord
from gateway.files.store import FileStore, Upload
from gateway.surfaces.files import provide_file_store, upload_body_limit
from gateway.surfaces.options import options_handler
from gateway.surfaces.render import json_response
from mappings import canonical, extend
from mappings.extend import files as extend_files
from mappings.files import is_well_formed

AnyRequest = Request[Any, Any, Any]
Call = NamedDependency[CallContext]
Store = NamedDependency[FileStore]

UPLOAD = extend_files.UPLOAD_PATH
FILES = extend_files.FILES_PATH
ONE = FILES + "/{file_id:str}"
FILE_FIELD = "file"
PASSWORD_FIELD = "password"
MAX_FIELD_BYTES = 4096  # a password, or any other small field sent beside the file


def _upload_handler(files: FilesConfig) -> HTTPRouteHandler:
    @post(UPLOAD, status_code=200, request_max_body_size=upload_body_limit(files))
    async def upload_file(request: AnyRequest, call: Call, store: Store) -> Response[bytes]:
        """Upload a file: multipart part `file`, optional part `password`."""
        notes = extend_files.upload_query_notes(request.query_params)
        record = await _receive(request, store, call.principal.owner)
        return json_response(extend_files.file_from_canonical(record.file), notes=notes)

    return upload_file


@get(ONE)
async def retrieve_file(
    request: AnyRequest, call: Call, store: Store, file_id: FromPath[str]
) -> Response[bytes]:
    """A file, with a signed download link valid for the configured TTL (15 minutes)."""
    notes = extend_files.retrieve_query_notes(request.query_params)
    message = extend_files.file_not_found_message(file_id)
    record = await store.owned(call.principal.owner, file_id, not_found=message)
    link = store.link(record)
    body = extend_files.file_from_canonical(record.file, presigned_url=link.url)
    return json_response(body, notes=notes)


@get(FILES)
async def list_files(request: AnyRequest, call: Call, store: Store) -> Response[bytes]:
    """The caller's files as summaries, newest first unless asked otherwise."""
    query = extend_files.file_list_query_to_canonical(request.query_params)
    if query.cursor is not None and not is_well_formed(query.cursor):
        raise InvalidRequest(f"Unknown pagination cursor {query.cursor!r}.", status=400)
    page = await store.list(call.principal.owner, query)
    token = page.records[-1].id if page.has_more_after and page.records else None
    files = (record.file for record in page.records)
    return json_response(extend_files.file_list_from_canonical(files, next_page_token=token))


@delete(ONE, status_code=200)
async def delete_file(call: Call, store: Store, file_id: FromPath[str]) -> Response[bytes]:
    """Delete a file and its bytes; Extend answers with its id."""
    if await store.delete(call.principal.owner, file_id) is None:
        raise FileNotFound(extend_files.file_not_found_message(file_id))
    return json_response(extend.DeleteResponse(id=file_id))


async def _receive(request: AnyRequest, store: FileStore, owner: str) -> FileRecord:
    """The form's `file` part streamed into the store, its `password` beside it."""
    try:
        boundary = boundary_of(request.headers.get("content-type"))
        async with store.receiving() as upload:
            file_part, fields = await _read_form(request, boundary, upload)
            if file_part is None:
                raise _invalid(FILE_FIELD, "Field required")
            password = fields.get(PASSWORD_FIELD, b"").decode("utf-8", errors="replace")
            name = file_part.filename or FILE_FIELD
            return await upload.commit(owner, name=name, password=password or None)
    except MalformedForm as exc:
        raise InvalidRequest(f"Invalid multipart/form-data body: {exc}.", status=400) from None


async def _read_form(
    request: AnyRequest, boundary: str, upload: Upload
) -> tuple[FormPart | None, dict[str, bytes]]:
    """The file part's headers (its body written to `upload`) and the small fields."""
    file_part: FormPart | None = None
    current: FormPart | None = None
    fields: dict[str, bytearray] = {}
    async for event in form_events(request.stream(), boundary):
        if isinstance(event, FormPart):
            current = event
            if event.name == FILE_FIELD and file_part is not None:
                raise _invalid(FILE_FIELD, "only one file can be uploaded at a time")
            if event.name == FILE_FIELD:
                file_part = event
            else:
                fields.setdefault(event.name, bytearray())
        elif isinstance(event, PartEnd):
            current = None
        elif current is not None and current.name == FILE_FIELD:
            await upload.write(event)
        elif current is not None:
            field = fields[current.name]
            field += event
            if len(field) > MAX_FIELD_BYTES:
                raise _invalid(current.name, f"longer than {MAX_FIELD_BYTES} bytes")
    return file_part, {name: bytes(value) for name, value in fields.items()}


def _invalid(field: str, message: str) -> InvalidRequest:
    problem = canonical.FieldProblem(loc=("body", field), message=message)
    return InvalidRequest(
        f"{field}: {message}", status=extend.INVALID_BODY_STATUS, fields=(problem,)
    )


def router(files: FilesConfig) -> Router:
    """The Extend Files API, its upload limited to `files.max_bytes`."""
    return Router(
        path="/",
        route_handlers=[
            options_handler([UPLOAD, FILES, ONE], name="extend-files-options"),
            _upload_handler(files),
            retrieve_file,
            list_files,
            delete_file,
        ],
        dependencies={
            "call": Provide(provide_extend_call),
            "store": Provide(provide_file_store),
        },
    )
