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


def test_a_postgresql_store_needs_no_shared_dir_with_bytes_and_secret_elsewhere() -> None:
    """With PostgreSQL, `files.dir` is a path every replica shares; it is not needed once
    files' bytes are in the database and the link secret comes from the environment."""
    url = {"url": "postgresql://db.internal/crosswalk"}
    in_database = {"storage": "database", "secret_env": "LINKS"}
    settings = resolve({"store": url, "files": in_database}, {"LINKS": "s3cret"})
    assert settings.files.storage == "database"
    with pytest.raises(ConfigError, match=r"files\.dir: required"):
        resolve({"store": url, "files": {"storage": "database"}}, {})
