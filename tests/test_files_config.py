"""`[files]`: where uploads are kept, how large they may be, and the link secret's source."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, FilesConfig, resolve


def test_files_default_to_a_folder_beside_the_ledger() -> None:
    settings = resolve({"store": {"url": "sqlite:///data/gw.db"}}, {})
    assert settings.files == FilesConfig()
    assert settings.files.max_bytes == 512 * 1024 * 1024
    assert settings.files.link_ttl == 900.0
    assert settings.files_dir == "data/gw.db-files"
    assert settings.files_key_path == "data/gw.db-files-key"
    assert settings.files_secret is None


def test_the_files_table_is_read_with_its_secret() -> None:
    raw = {"files": {"dir": "/srv/files", "max_bytes": 1024, "secret_env": "LINK_SECRET"}}
    settings = resolve(raw, {"LINK_SECRET": " s3cret "})
    assert settings.files_dir == "/srv/files"
    assert settings.files.max_bytes == 1024
    assert settings.files_secret is not None
    assert settings.files_secret.reveal() == "s3cret"
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("files", "environ", "message"),
    [
        ({"secret_env": "LINK_SECRET"}, {}, "files.secret_env: the environment variable"),
        ({"max_bytes": 0}, {}, "files.max_bytes"),
        ({"link_ttl": -1}, {}, "files.link_ttl"),
        ({"maxbytes": 1}, {}, "files.maxbytes: unknown key"),
    ],
)
def test_mistakes_in_files_name_the_key(
    files: dict[str, object], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve({"files": files}, environ)
