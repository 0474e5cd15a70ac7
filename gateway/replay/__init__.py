"""`crosswalk replay`: a folder of documents sent through several backends, each document's
answers recorded as a comparison in the ledger, then the comparison report (design.md §7).

`inputs` reads the folder (leaving out what `kept_out` names, showing names as `names`
escapes them), the category file and the expected labels; `identity` names each document's
comparison so that a rerun finds it; `comparer` sends one document to every backend that has
not answered it yet; `progress` shows how far it got, on `output` (best-effort); `lock` keeps
to one replay per ledger; `command` runs it all.
"""

from gateway.replay.command import run_replay
from gateway.replay.inputs import ReplayError, ReplayOptions

__all__ = ["ReplayError", "ReplayOptions", "run_replay"]
