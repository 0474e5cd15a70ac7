"""Every operation crosswalk serves, as the OpenAPI document describes it: Retab's surface,
Extend's surface and crosswalk's own endpoints, each with its body, query, statuses and the
wire type of every answer (design.md §2, §8; contracts.md §2-§7).

A status listed in `errors` is answered in that surface's error envelope; the test in
tests/test_openapi.py drives each operation and checks the server answers as written here.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.compare.listing import ComparisonList
from gateway.openapi.operation import (
    Body,
    Operation,
    Param,
    boolean,
    choice,
    integer,
    string,
    wire,
)
from mappings import canonical, extend, retab
from mappings.extend import batches
from mappings.extend import files as extend_files
from mappings.extend.common import STATUS_TO_CANONICAL as EXTEND_STATUSES
from mappings.extend.lists import MAX_PAGE_SIZE
from mappings.retab import files as retab_files
from mappings.retab.common import STATUS_TO_CANONICAL as RETAB_STATUSES
from mappings.retab.queries import DEFAULT_LIMIT, MAX_LIMIT


class Problem(msgspec.Struct, kw_only=True):
    """crosswalk's own error body, outside both surfaces (gateway/surfaces/render.py)."""

    code: str
    message: str


class Received(msgspec.Struct, kw_only=True):
    """The answer to a webhook delivery taken in."""

    received: bool


# every operation of a surface may answer these: no usable key, an unexpected failure, and
# a backend's vendor failing (502) or not answering in time (504)
COMMON = (401, 500, 502, 504)
# Extend refuses an `x-extend-api-version` it does not serve, and any bad body or query, 400
EXTEND_COMMON = (400, *COMMON)
FILE_BYTES = {"type": "string", "contentMediaType": "application/octet-stream"}
UPLOAD_FORM = {
    "type": "object",
    "properties": {"file": FILE_BYTES, "password": {"type": "string"}},
    "required": ["file"],
}


def _retab_list_query() -> tuple[Param, ...]:
    return (
        integer("Page size.", "limit", low=1, high=MAX_LIMIT, default=DEFAULT_LIMIT),
        choice("Order by creation.", "order", ("asc", "desc"), default="desc"),
        string("Page before this id (not with `after`).", "before"),
        string("Page after this id (not with `before`).", "after"),
        string("Only this exact filename.", "filename"),
        string("From this day (YYYY-MM-DD) or instant (ISO 8601).", "from_date"),
        string("Up to this day (inclusive) or instant.", "to_date"),
    )


RETAB_RUNS = retab.RUNS_PATH
RETAB_ONE = RETAB_RUNS + "/{classification_id}"
RETAB_FILES = retab_files.FILES_PATH
RETAB: tuple[Operation, ...] = (
    Operation(
        id="retab_create_classification",
        method="post",
        path=RETAB_RUNS,
        surface="retab",
        summary="Classify a document; `background: true` answers at once with a queued run.",
        auth="retab",
        ok=201,
        body=wire(retab.ClassificationRequest),
        answer=wire(retab.Classification),
        errors=(413, 422, *COMMON),
    ),
    Operation(
        id="retab_list_classifications",
        method="get",
        path=RETAB_RUNS,
        surface="retab",
        summary="The caller's classifications, paged by id cursors.",
        auth="retab",
        answer=wire(retab.ClassificationList),
        errors=(400, 422, *COMMON),
        query=(
            *_retab_list_query(),
            choice("Only runs in this status.", "status", tuple(RETAB_STATUSES)),
        ),
    ),
    Operation(
        id="retab_get_classification",
        method="get",
        path=RETAB_ONE,
        surface="retab",
        summary="One classification.",
        auth="retab",
        answer=wire(retab.Classification),
        errors=(404, 422, *COMMON),
        query=(boolean("Include the run's output.", "include_output", default=True),),
    ),
    Operation(
        id="retab_delete_classification",
        method="delete",
        path=RETAB_ONE,
        surface="retab",
        summary="Delete a classification: 204 with no body.",
        auth="retab",
        ok=204,
        errors=(404, *COMMON),
    ),
    Operation(
        id="retab_cancel_classification",
        method="post",
        path=RETAB_ONE + "/cancel",
        surface="retab",
        summary="Cancel a classification; a finished one is answered as is.",
        auth="retab",
        answer=wire(retab.Classification),
        errors=(404, *COMMON),
    ),
    Operation(
        id="retab_list_files",
        method="get",
        path=RETAB_FILES,
        surface="retab",
        summary="The caller's files, paged by id cursors.",
        auth="retab",
        answer=wire(retab_files.FileList),
        errors=(400, 422, *COMMON),
        query=(
            *_retab_list_query(),
            choice("Files are sorted by creation only.", "sort_by", ("created_at",)),
            boolean("Refused: crosswalk keeps no embeddings.", "include_embeddings", default=False),
        ),
    ),
    Operation(
        id="retab_get_file",
        method="get",
        path=RETAB_FILES + "/{file_id}",
        surface="retab",
        summary="One of the caller's files.",
        auth="retab",
        answer=wire(retab_files.File),
        errors=(404, *COMMON),
    ),
    Operation(
        id="retab_file_download_link",
        method="get",
        path=RETAB_FILES + "/{file_id}/download-link",
        surface="retab",
        summary="A signed, keyless download link to the file, and its MIMEData.",
        auth="retab",
        answer=wire(retab.FileLink),
        errors=(404, *COMMON),
    ),
    Operation(
        id="retab_create_upload",
        method="post",
        path=retab_files.UPLOAD_PATH,
        surface="retab",
        summary="Announce an upload: its file id and the signed URL to PUT its bytes to.",
        auth="retab",
        body=wire(retab_files.UploadRequest),
        answer=wire(retab_files.UploadResponse),
        errors=(413, 422, *COMMON),
    ),
    Operation(
        id="retab_complete_upload",
        method="post",
        path=retab_files.UPLOAD_PATH + "/{file_id}/complete",
        surface="retab",
        summary="Check the uploaded bytes against the announcement and keep the file.",
        auth="retab",
        body=wire(retab_files.CompleteUploadRequest),
        answer=wire(retab.MIMEData),
        errors=(404, 422, *COMMON),
    ),
)

EXTEND_ONE = extend.RUNS_PATH + "/{run_id}"
EXTEND_FILES = extend_files.FILES_PATH
PAGE_TOKEN = string("The `nextPageToken` of the previous page.", "nextPageToken")
PAGE_SIZE = integer(
    "Page size.", "maxPageSize", low=1, high=MAX_PAGE_SIZE, default=canonical.ListQuery().limit
)
SORT_DIR = choice("Sort direction.", "sortDir", ("asc", "desc"), default="desc")


def _create(path: str, summary: str, body: Any) -> Operation:
    return Operation(
        id="extend_classify" if path == extend.CLASSIFY_PATH else "extend_create_classify_run",
        method="post",
        path=path,
        surface="extend",
        summary=summary,
        auth="extend",
        body=wire(body),
        answer=wire(extend.ClassifyRun),
        errors=(404, 413, 422, *EXTEND_COMMON),
    )


EXTEND: tuple[Operation, ...] = (
    _create(
        extend.CLASSIFY_PATH,
        "Classify a file and answer with the finished run.",
        extend.ClassifyRequest,
    ),
    _create(
        extend.RUNS_PATH,
        "Start a classify run; it is answered at once, processing.",
        extend.ClassifyRunCreateRequest,
    ),
    Operation(
        id="extend_list_classify_runs",
        method="get",
        path=extend.RUNS_PATH,
        surface="extend",
        summary="The caller's classify runs as summaries, newest first.",
        auth="extend",
        answer=wire(extend.ClassifyRunList),
        errors=(422, *EXTEND_COMMON),
        query=(
            choice("Only runs in this status.", "status", tuple(EXTEND_STATUSES)),
            string("Only runs whose file name contains this.", "fileNameContains"),
            choice(
                "Sort key; `updatedAt` is refused (422).",
                "sortBy",
                ("createdAt", "updatedAt"),
                default="createdAt",
            ),
            SORT_DIR,
            PAGE_TOKEN,
            PAGE_SIZE,
            string("Only the runs of this batch.", "batchId"),
        ),
    ),
    Operation(
        id="extend_get_classify_run",
        method="get",
        path=EXTEND_ONE,
        surface="extend",
        summary="One classify run.",
        auth="extend",
        answer=wire(extend.ClassifyRun),
        errors=(404, *EXTEND_COMMON),
    ),
    Operation(
        id="extend_delete_classify_run",
        method="delete",
        path=EXTEND_ONE,
        surface="extend",
        summary="Delete a classify run; answered with its id.",
        auth="extend",
        answer=wire(extend.DeleteResponse),
        errors=(404, *EXTEND_COMMON),
    ),
    Operation(
        id="extend_cancel_classify_run",
        method="post",
        path=EXTEND_ONE + "/cancel",
        surface="extend",
        summary="Cancel a run still processing; a finished run is a 400.",
        auth="extend",
        answer=wire(extend.ClassifyRun),
        errors=(404, *EXTEND_COMMON),
    ),
    Operation(
        id="extend_create_batch",
        method="post",
        path=batches.BATCH_PATH,
        surface="extend",
        summary="One classify run per input with a saved classifier; answered at once.",
        auth="extend",
        body=wire(extend.BatchCreateRequest),
        answer=wire(extend.BatchRun),
        errors=(404, 413, 422, *EXTEND_COMMON),
    ),
    Operation(
        id="extend_get_batch_run",
        method="get",
        path=batches.BATCH_RUNS_PATH + "/{batch_id}",
        surface="extend",
        summary="A batch's status and run count.",
        auth="extend",
        answer=wire(extend.BatchRun),
        errors=(404, *EXTEND_COMMON),
    ),
    Operation(
        id="extend_upload_file",
        method="post",
        path=extend_files.UPLOAD_PATH,
        surface="extend",
        summary="Upload a file: multipart part `file`, optional `password`.",
        auth="extend",
        body=Body(schema=UPLOAD_FORM, media_type="multipart/form-data"),
        answer=wire(extend.File),
        errors=(413, *EXTEND_COMMON),
        query=(boolean("Not done: files are kept as sent.", "convertToPdf", default=False),),
    ),
    Operation(
        id="extend_list_files",
        method="get",
        path=EXTEND_FILES,
        surface="extend",
        summary="The caller's files as summaries, newest first.",
        auth="extend",
        answer=wire(extend_files.FileList),
        errors=EXTEND_COMMON,
        query=(
            string("Only files whose name contains this.", "nameContains"),
            SORT_DIR,
            PAGE_TOKEN,
            PAGE_SIZE,
        ),
    ),
    Operation(
        id="extend_get_file",
        method="get",
        path=EXTEND_FILES + "/{file_id}",
        surface="extend",
        summary="A file, with a signed download link as its `presignedUrl`.",
        auth="extend",
        answer=wire(extend.File),
        errors=(404, *EXTEND_COMMON),
    ),
    Operation(
        id="extend_delete_file",
        method="delete",
        path=EXTEND_FILES + "/{file_id}",
        surface="extend",
        summary="Delete a file and its bytes; answered with its id.",
        auth="extend",
        answer=wire(extend.DeleteResponse),
        errors=(404, *EXTEND_COMMON),
    ),
    Operation(
        id="extend_list_classifiers",
        method="get",
        path="/classifiers",
        surface="extend",
        summary="The saved classifiers: the config's, then an Extend backend's.",
        auth="extend",
        answer=wire(extend.ClassifierList),
        errors=EXTEND_COMMON,
        query=(
            choice("Sort key.", "sortBy", ("createdAt", "updatedAt"), default="createdAt"),
            SORT_DIR,
            PAGE_TOKEN,
            PAGE_SIZE,
        ),
    ),
    Operation(
        id="extend_get_classifier",
        method="get",
        path="/classifiers/{classifier_id}",
        surface="extend",
        summary="One saved classifier with its draft version.",
        auth="extend",
        answer=wire(extend.Classifier),
        errors=(404, *EXTEND_COMMON),
    ),
)

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

OPERATIONS: tuple[Operation, ...] = (*RETAB, *EXTEND, *CROSSWALK, *SCHEMA)
