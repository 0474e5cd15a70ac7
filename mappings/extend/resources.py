"""Extend response wire types: runs, summaries, files, lists, errors and webhook events.

All decode leniently: unknown keys are ignored, because Extend adds fields (style.md §2).
Keys the vendor's examples leave out (the seed omits `config`, `dashboardUrl` and the
timestamps, contracts.md §12 #9) are `UNSET`-able so truncated bodies still decode; the
mapping always fills them when emitting. Timestamps stay `str` so they re-encode byte for byte.
Field order follows the signed webhook example, so a decoded body re-encodes identically.
Imports only the stdlib, msgspec and `mappings.nesting`.
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET, UnsetType

from mappings.extend.wire import ClassifyConfig, ExtendWire
from mappings.nesting import JsonDecoder

Number = int | float  # kept apart so `"credits": 2` re-encodes as 2, not 2.0


class Insight(ExtendWire, kw_only=True):
    """One explanation of an output; only `reasoning` exists today."""

    type: str = "reasoning"
    content: str


class ClassifyOutput(ExtendWire, kw_only=True):
    """The category a run chose: `{id, type, confidence, insights}`, all required."""

    id: str
    type: str
    confidence: Number
    insights: tuple[Insight, ...] = ()


class ClassifierSummary(ExtendWire, kw_only=True):
    """The saved classifier a run used (`classifier`)."""

    object: str = "classifier"
    id: str
    name: str
    created_at: str | UnsetType = UNSET
    updated_at: str | UnsetType = UNSET


class CreatedBy(ExtendWire, kw_only=True):
    """Who published a classifier version: `{type:"user", email}` or `{type:"api_key", name}`."""

    type: str
    email: str | UnsetType = UNSET
    name: str | UnsetType = UNSET


class ClassifierVersionSummary(ExtendWire, kw_only=True):
    """The saved classifier version a run used (`classifierVersion`)."""

    object: str = "classifier_version"
    id: str
    description: str | UnsetType | None = UNSET
    version: str
    classifier_id: str
    created_at: str | UnsetType = UNSET
    created_by: CreatedBy | UnsetType | None = UNSET


class FileMetadata(ExtendWire, kw_only=True):
    """`file.metadata`: page count and, for split children, the opaque parent split."""

    page_count: Number | UnsetType | None = UNSET
    parent_split: dict[str, Any] | UnsetType | None = UNSET


class FileSummary(ExtendWire, kw_only=True):
    """The file a run read, as embedded in runs (contracts.md §4.3)."""

    object: str = "file"
    id: str
    name: str
    type: str | UnsetType | None = UNSET
    parent_file_id: str | UnsetType | None = UNSET
    metadata: FileMetadata | UnsetType = UNSET
    created_at: str | UnsetType = UNSET
    updated_at: str | UnsetType = UNSET


class File(FileSummary, kw_only=True):
    """A file from the Files API: a summary plus `presignedUrl` (GET only) and the
    deprecated opaque `contents`."""

    presigned_url: str | UnsetType | None = UNSET
    contents: Any | UnsetType = UNSET


class RunUsage(ExtendWire, kw_only=True):
    """What a run cost in Extend credits; `breakdown` is kept opaque (contracts.md §5.2)."""

    credits: Number
    total_credits: Number | UnsetType | None = UNSET
    breakdown: list[dict[str, Any]] | UnsetType | None = UNSET


class ClassifyRun(ExtendWire, kw_only=True):
    """A classify run (contracts.md §5.2): the body of classify, create, get and cancel.

    `status` is a plain string so an unknown value decodes and the mapping can name it.
    """

    object: str = "classify_run"
    id: str
    status: str
    output: ClassifyOutput | UnsetType | None = UNSET
    classifier: ClassifierSummary | UnsetType | None = UNSET
    classifier_version: ClassifierVersionSummary | UnsetType | None = UNSET
    initial_output: ClassifyOutput | UnsetType | None = UNSET
    reviewed_output: ClassifyOutput | UnsetType | None = UNSET
    failure_reason: str | UnsetType | None = UNSET
    failure_message: str | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType | None = UNSET
    reviewed: bool = False
    edited: bool = False
    config: ClassifyConfig | UnsetType = UNSET
    file: FileSummary | UnsetType | None = UNSET
    parse_run_id: str | UnsetType | None = UNSET
    dashboard_url: str | UnsetType = UNSET
    usage: RunUsage | UnsetType | None = UNSET
    created_at: str | UnsetType = UNSET
    updated_at: str | UnsetType = UNSET


class ClassifyRunSummary(ExtendWire, kw_only=True):
    """A list item: a run without `output`, `initialOutput`, `reviewedOutput` or `config`."""

    object: str = "classify_run"
    id: str
    classifier: ClassifierSummary | UnsetType | None = UNSET
    classifier_version: ClassifierVersionSummary | UnsetType | None = UNSET
    status: str
    failure_reason: str | UnsetType | None = UNSET
    failure_message: str | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType | None = UNSET
    reviewed: bool = False
    edited: bool = False
    file: FileSummary | UnsetType | None = UNSET
    parse_run_id: str | UnsetType | None = UNSET
    dashboard_url: str | UnsetType = UNSET
    created_at: str | UnsetType = UNSET
    updated_at: str | UnsetType = UNSET
    usage: RunUsage | UnsetType | None = UNSET


class ClassifyRunList(ExtendWire, kw_only=True):
    """`GET /classify_runs`: one page of summaries and the opaque forward-only token."""

    object: str = "list"
    data: tuple[ClassifyRunSummary, ...]
    next_page_token: str | UnsetType | None = UNSET


class DeleteResponse(ExtendWire, kw_only=True):
    """`DELETE /classify_runs/{id}`: a 2xx carrying the id, not a 204 (hazard 24)."""

    id: str


class ApiError(ExtendWire, kw_only=True):
    """Extend's error body (contracts.md §7.2)."""

    code: str
    message: str
    retryable: bool = False
    request_id: str | UnsetType | None = UNSET
    doc_url: str | UnsetType | None = UNSET
    run_id: str | UnsetType | None = UNSET


class WebhookEvent(ExtendWire, kw_only=True):
    """A classify webhook delivery: `{eventId, eventType, payload: ClassifyRun}` (§8)."""

    event_id: str
    event_type: str
    payload: ClassifyRun


class SignedDataUrl(ExtendWire, kw_only=True):
    """A large payload delivered by reference; `object` must be present for the SDK (§8)."""

    object: str = "signed_data_url"
    id: str
    data: str
    metadata: dict[str, Any] | UnsetType | None = UNSET


class SignedWebhookEvent(ExtendWire, kw_only=True):
    """A webhook delivery whose payload is a signed URL to the run."""

    event_id: str
    event_type: str
    payload: SignedDataUrl


run_decoder = JsonDecoder(ClassifyRun)
run_list_decoder = JsonDecoder(ClassifyRunList)
file_decoder = JsonDecoder(File)
delete_decoder = JsonDecoder(DeleteResponse)
error_decoder = JsonDecoder(ApiError)
webhook_decoder = JsonDecoder(WebhookEvent)
signed_webhook_decoder = JsonDecoder(SignedWebhookEvent)
