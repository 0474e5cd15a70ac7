"""`GET /schema` and `GET /schema/openapi.json` (the OpenAPI document as JSON) and
`GET /schema/docs` (the offline docs UI). No key: the document holds no secret and says
nothing of any caller's runs.

The document is built once per process from the operation table (it depends on the code
alone, not on settings); Litestar's
own generator is off (gateway/app.py), since it cannot see the wire types behind handlers
that answer raw bytes.
"""

from __future__ import annotations

from functools import cache

import msgspec
from litestar import Response, Router, get

from gateway.openapi.docs_page import CONTENT_SECURITY_POLICY, DOCS_PAGE
from gateway.openapi.document import openapi_document
from gateway.openapi.routes import DOCS_PATH, JSON_PATH, SCHEMA_PATH


def router() -> Router:
    """The schema's routes."""
    document = encoded_document()
    page = DOCS_PAGE.encode()

    @get([SCHEMA_PATH, JSON_PATH], name="openapi-json")
    async def openapi_json() -> Response[bytes]:
        """The OpenAPI 3.1 document of both surfaces and crosswalk's own endpoints."""
        return Response(content=document, media_type="application/json")

    @get(DOCS_PATH, name="openapi-docs")
    async def docs() -> Response[bytes]:
        """A page listing every operation, read from the document; no external asset."""
        headers = {"content-security-policy": CONTENT_SECURITY_POLICY}
        return Response(content=page, media_type="text/html", headers=headers)

    return Router(path="/", route_handlers=[openapi_json, docs])


@cache
def encoded_document() -> bytes:
    """The document as JSON bytes; built on first use (tests make hundreds of apps)."""
    return msgspec.json.encode(openapi_document())
