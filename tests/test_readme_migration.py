"""The README's migration guide ("Moving from one vendor to the other") describes configs
crosswalk accepts and routes as the guide says: the starting config with both vendors, each
step's `[routing]` on top of it, the rollback, and the report's screenshot it shows."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from PIL import Image

from gateway.config import VENDOR_KINDS, Settings, resolve

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
GUIDE = README.split("\n## Moving from one vendor to the other\n", 1)[1].split("\n## ", 1)[0]
ENVIRON = {
    "CROSSWALK_API_KEYS": "gw-1",
    "RETAB_API_KEY": "sk-retab-secret",
    "EXTEND_API_KEY": "sk-extend-secret",
}
SURFACES = VENDOR_KINDS


def _blocks(info: str) -> list[dict[str, Any]]:
    return [tomllib.loads(b) for b in re.findall(rf"```{info}\n(.*?)```", GUIDE, re.DOTALL)]


(BASE,) = _blocks("toml")
STEPS = _blocks("toml step")
(ROLLBACK,) = _blocks("toml rollback")


def _with_routing(routing: dict[str, Any]) -> Settings:
    """The starting config with `routing` as its `[routing]`, resolved as at start-up."""
    assert set(routing) == {"routing"}, "a step changes only [routing]"
    return resolve({**BASE, **routing}, ENVIRON)


def test_both_vendors_are_configured_and_nothing_routes_to_the_new_one() -> None:
    settings = resolve(BASE, ENVIRON)
    assert set(settings.backends) == {"extend", "retab"}
    assert all(settings.backends_for(surface) == ("extend",) for surface in SURFACES)
    assert settings.prices() == {"extend": 0.01, "retab": 0.02}


def test_the_steps_shadow_then_split_then_cut_over() -> None:
    shadow, split, cut_over = STEPS
    assert shadow["routing"] == {"default": "extend", "shadow": ["retab"]}
    shadowing = _with_routing(shadow)
    assert shadowing.shadow == ("retab",)
    assert all(shadowing.backends_for(surface) == ("extend",) for surface in SURFACES)

    splitting = _with_routing(split)
    assert splitting.split == {"extend": 90, "retab": 10}
    assert all(splitting.backends_for(s) == ("extend", "retab") for s in SURFACES)

    after = _with_routing(cut_over)
    assert all(after.backends_for(surface) == ("retab",) for surface in SURFACES)
    assert set(after.backends) == {"extend", "retab"}, "old ids need both backends kept"


def test_a_rollback_restores_the_step_before() -> None:
    assert STEPS[1] == ROLLBACK
    assert _with_routing(ROLLBACK).default_backend == "extend"


def test_the_guide_names_the_tools_and_shows_the_report() -> None:
    assert "crosswalk replay ./samples --config crosswalk.toml --categories cats.json" in GUIDE
    assert "--backends extend,retab" in GUIDE
    for named in ("crosswalk compare", "GET /crosswalk/comparisons", "GET /crosswalk/report"):
        assert named in GUIDE
    assert "![The comparison report](docs/report.png)" in GUIDE
    with Image.open(ROOT / "docs" / "report.png") as shot:
        assert (shot.format, shot.size) == ("PNG", (1280, 2000))
