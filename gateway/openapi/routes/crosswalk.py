"""crosswalk's own operations: comparisons and their report, Extend's webhooks taken in, the
signed links of stored files, the health and metrics probes, and this document with its docs
page (design.md §8)."""

from __future__ import annotations

from gateway.compare.listing import ComparisonList
from gateway.openapi.operation import (
    Body,
    Operation,
    Param,
    integer,
    string,
    wire,
)
from gateway.openapi.routes.common import FILE_BYTES, Health, Readiness, Received
from gateway.surfaces import health
from mappings import extend

SIGNED = (
    string(
        "When the link expires (Unix seconds).",
        "expires",
    ),
    string("The link's signature.", "signature"),
)
CROSSWALK: tuple[Operation, ...] = (
    Operation(
        id="crosswalk_list_comparisons",
        method="get",
        path="/crosswalk/comparisons",
        surface="crosswalk",
        summary="A page of the caller's A/B comparisons, oldest first.",
        auth="crosswalk",
        answer=wire(ComparisonList),
        errors=(400, 401, 500),
        query=(
            integer("Page size.", "limit", low=1, high=1000, default=100),
            Param(
                name="after",
                schema={"type": "integer", "minimum": 0},
                description="The `next` of the previous page.",
            ),
            string("From this day or instant.", "since"),
        ),
    ),
    Operation(
        id="crosswalk_report",
        method="get",
        path="/crosswalk/report",
        surface="crosswalk",
        summary="The report of the caller's comparisons, as one self-contained page.",
        auth="crosswalk",
        answer=Body(schema={"type": "string"}, media_type="text/html"),
        errors=(400, 401, 500),
        query=(
            string("From this day or instant.", "since"),
            string("Two backends, comma-separated: side a, side b.", "backends"),
        ),
    ),
    Operation(
        id="crosswalk_take_extend_event",
        method="post",
        path="/crosswalk/webhooks/extend",
        surface="crosswalk",
        summary="Where an operator points Extend's own webhook.",
        auth="extend-signature",
        body=wire(extend.WebhookEvent),
        answer=wire(Received),
        errors=(400, 401, 413, 500),
    ),
    Operation(
        id="crosswalk_file_content",
        method="get",
        path="/crosswalk/files/{file_id}/content",
        surface="crosswalk",
        summary="A stored file's bytes, through a signed expiring link.",
        auth="signed-link",
        query=SIGNED,
        errors=(403, 404, 500),
        answer=Body(schema=FILE_BYTES, media_type="*/*"),  # the file's own type
    ),
    Operation(
        id="crosswalk_upload_content",
        method="put",
        path="/crosswalk/uploads/{file_id}",
        surface="crosswalk",
        summary="The bytes of an announced upload (Retab's `uploadUrl`).",
        auth="signed-link",
        query=SIGNED,
        errors=(403, 404, 413, 500),
        body=Body(schema=FILE_BYTES, media_type="application/octet-stream"),
    ),
)

HEALTH: tuple[Operation, ...] = (
    Operation(
        id="crosswalk_healthz",
        method="get",
        path=health.HEALTHZ,
        surface="crosswalk",
        summary="The process answers (no I/O): for a load balancer's liveness probe.",
        auth="none",
        answer=wire(Health),
        errors=(500,),
    ),
    Operation(
        id="crosswalk_readyz",
        method="get",
        path=health.READYZ,
        surface="crosswalk",
        summary="The store answers a read; each backend's circuit state (no vendor called).",
        auth="none",
        answer=wire(Readiness),
        others=((503, wire(Readiness)),),
        errors=(500,),
    ),
    Operation(
        id="crosswalk_metrics",
        method="get",
        path=health.METRICS,
        surface="crosswalk",
        summary="Every metric of every worker, in Prometheus' text format.",
        auth="none",
        answer=Body(schema={"type": "string"}, media_type="text/plain"),
        errors=(500,),
    ),
)

SCHEMA_PATH = "/schema"
JSON_PATH = SCHEMA_PATH + "/openapi.json"
DOCS_PATH = SCHEMA_PATH + "/docs"
SCHEMA: tuple[Operation, ...] = tuple(
    Operation(
        id=f"crosswalk_{name}",
        method="get",
        path=path,
        surface="crosswalk",
        summary=summary,
        auth="none",
        answer=answer,
        errors=(500,),
    )
    for name, path, summary, answer in (
        ("schema", SCHEMA_PATH, "This document.", Body(schema={"type": "object"})),
        ("openapi_json", JSON_PATH, "This document.", Body(schema={"type": "object"})),
        (
            "docs",
            DOCS_PATH,
            "A page listing every operation of this document; no external asset.",
            Body(schema={"type": "string"}, media_type="text/html"),
        ),
    )
)
