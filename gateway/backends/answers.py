"""What a vendor's answer must be before crosswalk acts on it: a new run that crosswalk can
address, the very run a read or a cancel asked for, and a yes to crosswalk's own key.

Anything else is the vendor's failure (a 502 in the client's dialect, raised before the ledger
is touched), never a 500 or a row that no public id can name (mappings/ids.py).
"""

from __future__ import annotations

import re

import structlog

from gateway.errors import UpstreamFailed
from mappings import ids
from mappings.dialects import DIALECTS, Dialect

# a run id goes into the vendor's paths as one segment: nothing that ends or escapes it
_UNSAFE = re.compile(r"[^\x21-\x7e]|[/?#%\\]")
_SHOWN = 64  # characters of a bad id quoted in an error: enough to recognise it
log = structlog.get_logger("crosswalk.upstream")


def addressable(backend: str, run_id: str) -> bool:
    """True if a run id can be sent back to the vendor and shown on every surface."""
    if not run_id or _UNSAFE.search(run_id):
        return False
    try:
        for surface in DIALECTS:  # the wrapped form is the longest a surface shows
            ids.encode(surface, backend, None, run_id)
    except ValueError:
        return False
    return True


def check_new_run(backend: str, run_id: str) -> None:
    """Raise unless the vendor's new run has an id crosswalk can record and address."""
    if not run_id:
        raise UpstreamFailed(f"Backend {backend} answered a new run with no id.")
    if not addressable(backend, run_id):
        raise UpstreamFailed(
            f"Backend {backend} answered a new run with an id crosswalk cannot address "
            f"({_shown(run_id)})."
        )


def check_same_run(backend: str, asked: str, answered: str) -> None:
    """Raise unless the vendor answered about the run it was asked about."""
    if answered != asked:
        raise UpstreamFailed(
            f"Backend {backend} was asked for run {_shown(asked)} and answered with "
            f"{_shown(answered) if answered else 'a run with no id'}."
        )


def key_refused(backend: str, dialect: Dialect, status: int) -> UpstreamFailed:
    """The error for a vendor refusing the key crosswalk holds for `backend`: the operator's
    misconfiguration, not the client's key, so a 502 that says which backend to fix."""
    log.warning("upstream.key_refused", backend=backend, upstream_status=status)
    return UpstreamFailed(
        f"The upstream {dialect} API refused the key of backend {backend} (HTTP {status}): "
        "the gateway's own key for it is wrong or lacks access; the client's key is not at "
        "fault.",
        retryable=False,
    )


def _shown(run_id: str) -> str:
    return repr(run_id if len(run_id) <= _SHOWN else run_id[:_SHOWN] + "…")
