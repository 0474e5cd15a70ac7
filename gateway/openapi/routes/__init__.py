"""Every operation crosswalk serves, as the OpenAPI document describes it: Retab's surface,
Extend's surface and crosswalk's own endpoints, each with its body, query, statuses and the
wire type of every answer (design.md §2, §8; contracts.md §2-§7).

A status listed in `errors` is answered in that surface's error envelope; the test in
tests/test_openapi.py drives each operation and checks the server answers as written here.
"""

from __future__ import annotations

from gateway.openapi.operation import Operation
from gateway.openapi.routes.common import Problem
from gateway.openapi.routes.crosswalk import (
    CROSSWALK,
    DOCS_PATH,
    HEALTH,
    JSON_PATH,
    SCHEMA,
    SCHEMA_PATH,
)
from gateway.openapi.routes.extend import EXTEND
from gateway.openapi.routes.retab import RETAB

OPERATIONS: tuple[Operation, ...] = (*RETAB, *EXTEND, *CROSSWALK, *HEALTH, *SCHEMA)

__all__ = ["DOCS_PATH", "JSON_PATH", "OPERATIONS", "SCHEMA_PATH", "Problem"]
