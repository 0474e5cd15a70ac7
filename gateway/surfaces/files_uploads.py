"""`PUT /crosswalk/uploads/{id}?expires=…&signature=…`: the bytes of an announced upload
(Retab's `uploadUrl`), sent with no key, as to a storage bucket's signed URL.

The URL is checked before anything else, so a refused one says nothing about the upload:
expired or altered URLs are a 403. The body streams to disk as it arrives, never held whole;
more than was announced (or than `[files] max_bytes`) is a 413, and nothing is kept. The
answer is a 200 whose `ETag` is the bytes' SHA-256; the upload is completed through the
Retab surface.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from gateway.config import FilesConfig
from gateway.files.errors import LinkRefused
from gateway.files.pending import UPLOAD_PATH, PendingUploads

AnyRequest = Request[Any, Any, Any]
Uploads = NamedDependency[PendingUploads]
CONTENT = UPLOAD_PATH.replace("{file_id}", "{file_id:str}")


async def provide_pending_uploads(state: State) -> PendingUploads:
    """The app's announced uploads (opened in its lifespan, beside its file store)."""
    uploads: PendingUploads = state.uploads
    return uploads


def _put_handler(files: FilesConfig) -> HTTPRouteHandler:
    @put(CONTENT, status_code=200, request_max_body_size=files.max_bytes, include_in_schema=False)
    async def upload_content(
        request: AnyRequest, uploads: Uploads, file_id: FromPath[str]
    ) -> Response[bytes]:
        """The upload's bytes, for whoever holds its valid upload URL."""
        params = request.query_params
        if not uploads.links.valid(file_id, params.get("expires"), params.get("signature")):
            raise LinkRefused("This upload URL is invalid or has expired.")
        length = request.content_length
        received = await uploads.receive(file_id, request.stream(), length=length)
        etag = {"etag": f'"{received.sha256}"'}
        return Response(content=b"", status_code=200, media_type="text/plain", headers=etag)

    return upload_content


def router(files: FilesConfig) -> Router:
    """The upload URLs' route, its body limited to `files.max_bytes`."""
    return Router(
        path="/",
        route_handlers=[_put_handler(files)],
        dependencies={"uploads": Provide(provide_pending_uploads)},
    )
