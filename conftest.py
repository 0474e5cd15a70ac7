"""What tests/ and contract_tests/ share: the harness's fixtures and a Hypothesis profile.

Hypothesis runs without deadlines: under CPU load one example can take longer than the default
200 ms without anything being wrong (tests/test_ids.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import settings

# --import-mode=importlib puts no directory on sys.path, and tests/harness.py is shared by
# both test trees: make the repository root importable once, here
sys.path.insert(0, str(Path(__file__).parent))

from tests.harness import make_gateway

__all__ = ["make_gateway"]

settings.register_profile("crosswalk", deadline=None)
settings.load_profile("crosswalk")
