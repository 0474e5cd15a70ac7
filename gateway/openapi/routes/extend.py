"""The Extend surface's operations (contracts.md §3-§5): classify runs, batches, files and
saved classifiers."""

from __future__ import annotations

from typing import Any

from gateway.openapi.operation import (
    Body,
    Operation,
    boolean,
    choice,
    integer,
    string,
    wire,
)
from gateway.openapi.routes.common import EXTEND_COMMON, EXTEND_OWN, IDEMPOTENCY_KEY, UPLOAD_FORM
from mappings import canonical, extend
from mappings.extend import batches
from mappings.extend import common as extend_common
from mappings.extend import files as extend_files
from mappings.extend import lists as extend_lists

EXTEND_ONE = extend.RUNS_PATH + "/{run_id}"
EXTEND_FILES = extend_files.FILES_PATH
PAGE_TOKEN = string("The `nextPageToken` of the previous page.", "nextPageToken")
PAGE_SIZE = integer(
    "Page size.",
    "maxPageSize",
    low=1,
    high=extend_lists.MAX_PAGE_SIZE,
    default=canonical.ListQuery().limit,
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
        errors=(409, 404, 413, 422, *EXTEND_COMMON),
        query=(IDEMPOTENCY_KEY,),
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
            choice("Only runs in this status.", "status", tuple(extend_common.STATUS_TO_CANONICAL)),
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
            string("With `batchId`: a batch's runs have source `BATCH_PROCESSOR_RUN`.", "source"),
            string("With `batchId`: a batch's runs have its id as source id.", "sourceId"),
            string(
                "Relayed to an Extend backend as given; not applied to the runs crosswalk "
                "lists from its own ledger.",
                "classifierId",
            ),
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
        errors=(409, 404, 413, 422, *EXTEND_COMMON),
        query=(IDEMPOTENCY_KEY,),
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
        errors=(413, *EXTEND_OWN),
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
        errors=EXTEND_OWN,
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
        errors=(404, *EXTEND_OWN),
    ),
    Operation(
        id="extend_delete_file",
        method="delete",
        path=EXTEND_FILES + "/{file_id}",
        surface="extend",
        summary="Delete a file and its bytes; answered with its id.",
        auth="extend",
        answer=wire(extend.DeleteResponse),
        errors=(404, *EXTEND_OWN),
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
