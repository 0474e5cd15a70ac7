"""Routing: which backend gets a new run on each surface, and which owns a public run id
(design.md §5). The backends here are named stand-ins: routing reads only names and dialects."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import msgspec
import pytest

from gateway.errors import UpstreamRejected
from gateway.routing import Routing
from mappings import ids
from mappings.dialects import Dialect

GATEWAY = Path(__file__).resolve().parent.parent / "gateway"


class Named(msgspec.Struct, frozen=True):
    """Stands for a configured backend: routing needs nothing else of one."""

    name: str
    dialect: Dialect | None
    relay: None = None

    async def create(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError  # never called by routing

    refresh = cancel = delete = create

    def circuit_state(self) -> Any:
        raise NotImplementedError  # never read by routing


LOCAL, RETAB, EXTEND = Named("local", None), Named("retab_eu", "retab"), Named("ext", "extend")


def _routing(*backends: Named, default: str = "local", **surfaces: str) -> Routing:
    by_surface: dict[Dialect, str] = {}
    for surface, name in surfaces.items():
        assert surface in ("retab", "extend")
        by_surface["retab" if surface == "retab" else "extend"] = name
    return Routing({b.name: b for b in backends}, default=default, surfaces=by_surface)


def test_creates_go_to_the_default_unless_a_surface_has_its_own_route() -> None:
    routing = _routing(LOCAL, RETAB, EXTEND, retab="ext")
    assert routing.for_create("retab") is EXTEND
    assert routing.for_create("extend") is LOCAL


@pytest.mark.parametrize("surface", ["retab", "extend"])
def test_a_public_id_routes_back_to_the_backend_that_issued_it(surface: Dialect) -> None:
    """A foreign run's public id names its backend and upstream id, on either surface."""
    routing = _routing(LOCAL, RETAB, EXTEND)
    for backend in (LOCAL, RETAB, EXTEND):
        public = routing.public_id(surface, backend, "run-42")
        located = routing.locate(public, surface)
        assert located is not None
        assert (located.backend, located.upstream_id) == (backend, "run-42")


def test_native_ids_belong_to_the_surfaces_own_vendor() -> None:
    """An old Retab id keeps resolving on the Retab surface during a migration."""
    routing = _routing(LOCAL, RETAB, EXTEND)
    assert routing.locate("cls_01J0ABC", "retab") == (RETAB, "cls_01J0ABC")
    assert routing.locate("clr_Xy12", "extend") == (EXTEND, "clr_Xy12")


def test_the_routed_backend_of_the_vendor_wins_for_native_ids() -> None:
    other = Named("retab_us", "retab")
    routing = _routing(LOCAL, RETAB, other, retab="retab_us")
    assert routing.locate("cls_01J0ABC", "retab") == (other, "cls_01J0ABC")


def test_an_id_no_backend_can_own_is_not_located() -> None:
    """Malformed ids, and native ids with no backend of that vendor, name no run."""
    routing = _routing(LOCAL)
    assert routing.locate("cls_01J0ABC", "retab") is None
    assert routing.locate("not an id", "retab") is None
    assert routing.locate(routing.public_id("retab", LOCAL, "r1")[:-2], "retab") is None


def test_an_id_naming_a_backend_no_longer_configured_belongs_to_the_native_vendor() -> None:
    """A crosswalk upstream's own `xw1` ids look like ours: they are that vendor's ids."""
    foreign = ids.encode("extend", "elsewhere", None, "r1")
    routing = _routing(LOCAL, EXTEND)
    assert routing.locate(foreign, "extend") == (EXTEND, foreign)


def test_errors_take_every_field_in_their_constructor() -> None:
    """No error is changed after it is made: a vendor's verdict is given when it is built."""
    error = UpstreamRejected(
        "slow down", status=429, code="RATE_LIMIT_EXCEEDED", retryable=True,
        headers={"retry-after": "3"},
    )  # fmt: skip
    problem = error.problem()
    assert (problem.status, problem.code, problem.retryable) == (429, "RATE_LIMIT_EXCEEDED", True)
    assert error.headers == {"retry-after": "3"}
    default = UpstreamRejected("no")
    assert (default.status, default.code, default.retryable) == (502, "UPSTREAM_ERROR", False)


def _mapping_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mappings"):
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("mappings")]
    return found


def test_the_gateway_uses_only_the_mappings_public_names() -> None:
    """No gateway module reaches into a vendor mapping's internals (design.md §10): each
    vendor package's top level is its whole interface."""
    internal = [
        f"{path.relative_to(GATEWAY.parent)}: {module}"
        for path in sorted(GATEWAY.rglob("*.py"))
        for module in _mapping_imports(path)
        if module.startswith(("mappings.retab.", "mappings.extend."))
    ]
    assert internal == []
