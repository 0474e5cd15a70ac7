"""A backend's price must be a finite number: `usd_per_credit = inf` (TOML reads it) is refused
naming the key, and a chart handed a non-finite figure anyway draws no bar for it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from gateway.compare.charts import Group, Series, bar_chart
from gateway.compare.formats import usd
from gateway.config import ConfigError, load_prices, load_settings
from tests.test_compare_render import parse

CONFIG = """
[backends.extend]
kind = "extend"
base_url = "https://api.extend.test"
api_key_env = "CROSSWALK_TEST_UNSET_EXTEND_KEY"
usd_per_credit = {price}

[routing]
default = "extend"
"""


@pytest.mark.parametrize("price", ["inf", "+inf", "nan", "-1.0"])
def test_a_price_that_is_not_a_finite_number_is_refused(tmp_path: Path, price: str) -> None:
    """Both readers of the price (the gateway's settings and `crosswalk compare`'s) refuse it."""
    path = tmp_path / "crosswalk.toml"
    path.write_text(CONFIG.format(price=price), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^backends\.extend\.usd_per_credit: "):
        load_prices(path)
    with pytest.raises(ConfigError, match=r"^backends\.extend\.usd_per_credit: "):
        load_settings(path, {"CROSSWALK_TEST_UNSET_EXTEND_KEY": "k"})


def test_a_finite_price_is_read(tmp_path: Path) -> None:
    path = tmp_path / "crosswalk.toml"
    path.write_text(CONFIG.format(price="0.01"), encoding="utf-8")
    assert load_prices(path) == {"extend": 0.01}


@pytest.mark.parametrize("odd", [math.inf, -math.inf, math.nan])
def test_a_chart_draws_no_bar_for_a_value_that_is_not_finite(odd: float) -> None:
    """The finite bar still spans the whole area; the odd one is a dash, never inf or nan."""
    svg = bar_chart(
        "cost-chart",
        "Cost",
        (Series(name="cost", colour="#059669"),),
        (Group(label="a", values=(odd,)), Group(label="b", values=(20.0,))),
        usd,
    )
    bars = parse(svg).find_all("rect")
    assert [float(bar.attrs["width"]) for bar in bars] == [0.0, 360.0]
    labels = [text.text for text in parse(svg).find_all("text")]
    assert labels == ["a", "-", "b", "$20.00"]
