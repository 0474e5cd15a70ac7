"""The vendor dialects crosswalk speaks: the name of each, as one type for both layers.

Imports only the stdlib.
"""

from __future__ import annotations

from typing import Literal

Dialect = Literal["retab", "extend"]
DIALECTS: tuple[Dialect, ...] = ("retab", "extend")
