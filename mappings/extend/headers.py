"""Extend's paths, key, version and workspace headers (contracts.md §3, hazards 28-29).
Pure: imports only the stdlib and `mappings`."""

from __future__ import annotations

from collections.abc import Mapping

from mappings.shared import bearer_token

API_VERSION = "2026-02-09"
# the paths Extend's API serves under, each alone or with a sub-path (contracts.md §3)
PATH_PREFIXES = ("/classify", "/classify_runs", "/files", "/classifiers", "/batch_runs")
CLASSIFY_PATH = "/classify"  # the sync create
RUNS_PATH = "/classify_runs"  # the classify runs, and their background create
VERSION_HEADER = "x-extend-api-version"
WORKSPACE_HEADER = "x-extend-workspace-id"


def api_version_supported(value: str | None) -> bool:
    """Whether an inbound `x-extend-api-version` names the shapes this gateway serves.

    Other versions use other shapes (legacy `processor_runs`), so they are refused (hazard 28).
    A missing header is read as the current version: Extend itself either refuses it or pins
    the key's legacy version, which the gateway cannot know; the SDK always sends the header.
    """
    return value is None or value.strip() == API_VERSION


def forwarded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The client headers an Extend upstream must see: the workspace id only (hazard 29)."""
    for name, value in headers.items():
        if name.lower() == WORKSPACE_HEADER and value:
            return {WORKSPACE_HEADER: value}
    return {}


def presented_key(headers: Mapping[str, str]) -> str:
    """The API key as Extend's SDK sends it: `Authorization: Bearer <key>`; "" if none."""
    return bearer_token(headers)
