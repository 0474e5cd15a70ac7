"""Retab's dialect: wire Structs mirroring its JSON and the pure translations to and from the
canonical model (contracts.md §2, §4.1, §7.1, §10). No I/O; imports only the stdlib, msgspec
and `mappings`. Every translation returns `(value, Notes)` except the error renderers.
"""

from mappings.retab.common import STATUS_FROM_CANONICAL, STATUS_TO_CANONICAL
from mappings.retab.headers import PATH_PREFIXES, RUNS_PATH, presented_key
from mappings.retab.lists import list_from_canonical, list_to_canonical
from mappings.retab.problems import (
    INVALID_BODY_STATUS,
    error_from_canonical,
    error_to_canonical,
    file_not_found_message,
    not_found_message,
)
from mappings.retab.queries import flag, list_query_to_canonical
from mappings.retab.requests import (
    document_from_file_link,
    request_from_canonical,
    request_to_canonical,
)
from mappings.retab.responses import (
    in_request_terms,
    response_from_canonical,
    response_to_canonical,
)
from mappings.retab.wire import (
    Category,
    CategoryInput,
    Classification,
    ClassificationConsensus,
    ClassificationDecision,
    ClassificationList,
    ClassificationRequest,
    ErrorBody,
    ErrorDetail,
    FileLink,
    FileRef,
    ListMetadata,
    MIMEData,
    PrimitiveError,
    RequestDocument,
    RetabUsage,
    ValidationIssue,
    classification_decoder,
    classification_list_decoder,
    error_body_decoder,
    file_link_decoder,
    request_decoder,
)

__all__ = [
    "INVALID_BODY_STATUS",
    "PATH_PREFIXES",
    "RUNS_PATH",
    "STATUS_FROM_CANONICAL",
    "STATUS_TO_CANONICAL",
    "Category",
    "CategoryInput",
    "Classification",
    "ClassificationConsensus",
    "ClassificationDecision",
    "ClassificationList",
    "ClassificationRequest",
    "ErrorBody",
    "ErrorDetail",
    "FileLink",
    "FileRef",
    "ListMetadata",
    "MIMEData",
    "PrimitiveError",
    "RequestDocument",
    "RetabUsage",
    "ValidationIssue",
    "classification_decoder",
    "classification_list_decoder",
    "document_from_file_link",
    "error_body_decoder",
    "error_from_canonical",
    "error_to_canonical",
    "file_link_decoder",
    "file_not_found_message",
    "flag",
    "in_request_terms",
    "list_from_canonical",
    "list_query_to_canonical",
    "list_to_canonical",
    "not_found_message",
    "presented_key",
    "request_decoder",
    "request_from_canonical",
    "request_to_canonical",
    "response_from_canonical",
    "response_to_canonical",
]
