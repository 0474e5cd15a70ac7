"""The README's operational facts match the code: the Python it needs is pyproject's, the
raw-HTTP section names the headers the surfaces read, and every `[server]` key is documented."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from gateway.config import ServerConfig
from mappings import extend

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_python_version_is_pyprojects() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    required = pyproject["project"]["requires-python"]
    assert f'`requires-python = "{required}"`' in _section("Quickstart")
    assert f"Python {required.removeprefix('>=')} or newer" in _section("Quickstart")


def test_raw_http_names_each_surfaces_auth_and_version_headers() -> None:
    raw = _section("Raw HTTP")
    assert "-H 'Api-Key: my-key'" in raw
    assert "-H 'Authorization: Bearer my-key'" in raw
    assert f"-H '{extend.VERSION_HEADER}: {extend.API_VERSION}'" in raw
    for path in ("/v1/classifications", "/classify_runs"):
        assert re.search(rf"curl -s -X POST \$B{path} ", raw), path


def test_every_server_key_is_in_the_configuration_table() -> None:
    table = _section("Configuration")
    for key in ServerConfig.__struct_fields__:
        assert f"| `server.{key}` |" in table, key


def test_operations_lists_the_health_endpoints_and_every_error_status() -> None:
    ops = _section("Operations") if "\n## Operations\n" in README else ""
    for endpoint in ("/healthz", "/readyz", "/metrics"):
        assert f"`GET {endpoint}`" in ops
    for status in (400, 401, 404, 409, 413, 422, 429, 502, 503, 504):
        assert f"\n| {status} |" in ops, status
