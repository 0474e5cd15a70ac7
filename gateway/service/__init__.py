"""One service per dialect: the decision between relaying a call to a same-vendor backend
and translating it through the canonical model, made once per call (design.md §4, §10).

`DialectService` is built once per surface with its dialect's `DialectRules`; handlers decode,
make one call and render the `Outcome`. Either way, the run ledger is kept.
"""

from gateway.service.dialect import DialectService
from gateway.service.outcome import Deleted, Outcome, Page, Relayed, Served
from gateway.service.rules import EXTEND_RULES, RETAB_RULES, DialectRules

__all__ = [
    "EXTEND_RULES",
    "RETAB_RULES",
    "Deleted",
    "DialectRules",
    "DialectService",
    "Outcome",
    "Page",
    "Relayed",
    "Served",
]
