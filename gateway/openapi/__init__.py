"""crosswalk's OpenAPI document, generated from the vendors' msgspec wire types, and the
routes that serve it with an offline docs UI (design.md §8)."""

from gateway.openapi.document import openapi_document, schema_name
from gateway.openapi.routes import OPERATIONS
from gateway.openapi.serve import router

__all__ = ["OPERATIONS", "openapi_document", "router", "schema_name"]
