"""The Retab surface's operations (contracts.md §2, §4.1): classifications and files."""

from __future__ import annotations

from gateway.openapi.operation import (
    Operation,
    Param,
    boolean,
    choice,
    integer,
    string,
    wire,
)
from gateway.openapi.routes.common import COMMON, IDEMPOTENCY_KEY, OWN
from mappings import retab
from mappings.retab import files as retab_files
from mappings.retab import queries as retab_queries


def _retab_list_query() -> tuple[Param, ...]:
    return (
        integer(
            "Page size.",
            "limit",
            low=1,
            high=retab_queries.MAX_LIMIT,
            default=retab_queries.DEFAULT_LIMIT,
        ),
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
        errors=(409, 413, 422, *COMMON),
        query=(IDEMPOTENCY_KEY,),
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
            choice("Only runs in this status.", "status", tuple(retab.STATUS_TO_CANONICAL)),
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
        errors=(400, 422, *OWN),
        query=(
            *_retab_list_query(),
            choice("Files are sorted by creation only (another: 422).", "sort_by", ("created_at",)),
            string("Refused (422): files cannot be filtered by type.", "mime_type"),
            boolean(
                "`true` is noted as dropped in `crosswalk-translation`: there are no embeddings.",
                "include_embeddings",
                default=False,
            ),
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
        errors=(404, *OWN),
    ),
    Operation(
        id="retab_file_download_link",
        method="get",
        path=RETAB_FILES + "/{file_id}/download-link",
        surface="retab",
        summary="A signed, keyless download link to the file, and its MIMEData.",
        auth="retab",
        answer=wire(retab.FileLink),
        errors=(404, *OWN),
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
        errors=(413, 422, *OWN),
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
        errors=(404, 422, *OWN),
    ),
)
