"""`[files] storage`: where files' bytes are kept, on disk by default or in the ledger."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, resolve


def test_bytes_are_kept_on_disk_unless_told() -> None:
    assert resolve({}, {}).files.storage == "disk"
    assert resolve({"files": {"storage": "database"}}, {}).files.storage == "database"


def test_an_unknown_storage_names_the_key_and_the_value() -> None:
    with pytest.raises(ConfigError, match=r"files\.storage: Invalid enum value 's3'"):
        resolve({"files": {"storage": "s3"}}, {})
