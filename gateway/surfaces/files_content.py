"""`GET /crosswalk/files/{id}/content?expires=…&signature=…`: a stored file's bytes through a
signed, expiring link, with no key (what Extend's `presignedUrl` and Retab's download link
point at).

The link is checked before the file is looked up, so a refused link says nothing about
whether the file exists or whose it is: expired or altered links are a 403, a valid link to a
deleted file a 404. Bytes are streamed from the store.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Stream

from gateway.files.errors import FileNotFound, LinkRefused
from gateway.files.signing import CONTENT_PATH
from gateway.files.store import FileStore
from gateway.surfaces.files import download, provide_file_store

AnyRequest = Request[Any, Any, Any]
Store = NamedDependency[FileStore]
CONTENT = CONTENT_PATH.replace("{file_id}", "{file_id:str}")


@get(CONTENT, include_in_schema=False)
async def file_content(request: AnyRequest, store: Store, file_id: FromPath[str]) -> Stream:
    """The file's bytes, for whoever holds a valid link to it."""
    params = request.query_params
    if not store.links.valid(file_id, params.get("expires"), params.get("signature")):
        raise LinkRefused("This download link is invalid or has expired.")
    record = await store.find(file_id)
    if record is None:
        raise FileNotFound("The file this link points to no longer exists.")
    try:
        chunks = await store.stream(record)
    except FileNotFoundError:  # deleted between the lookup and the open
        raise FileNotFound("The file this link points to no longer exists.") from None
    return download(record, chunks)


router = Router(
    path="/",
    route_handlers=[file_content],
    dependencies={"store": Provide(provide_file_store)},
)
