"""protect(..., categories=...): every category of a breakdown is a row, absent ones as zeros."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from iaptkit.definitions import load_definitions
from iaptkit.definitions.labels import FINISHED_OUTCOME, breakdown_categories, months
from iaptkit.errors import ConfigError
from iaptkit.sdc import protect


def test_absent_categories_are_zero_cells_protected_like_any_other() -> None:
    data = pd.DataFrame({"outcome": ["recovered"] * 30 + ["not recovered"] * 25})
    pt = protect(data, ["outcome"], policy="nhs-sde", categories={"outcome": FINISHED_OUTCOME})
    cells = pt.cells.set_index("outcome")
    assert set(cells.index) == {*FINISHED_OUTCOME, "Total"}
    assert cells.loc["not at caseness", "value"] == 0
    assert cells.loc["not at caseness", "status"] == "primary"  # nhs-sde suppresses zeros
    assert cells.loc["Total", "value"] == 55
    # without the list, the row is simply not there
    assert "not at caseness" not in set(protect(data, ["outcome"]).cells["outcome"])


def test_a_label_outside_the_list_or_a_list_for_another_dim_is_refused() -> None:
    data = pd.DataFrame({"outcome": ["recovered"] * 30 + ["lost"] * 25})
    with pytest.raises(ConfigError, match=r"'outcome'.*found 1 other\(s\).*'lost'"):
        protect(data, ["outcome"], categories={"outcome": FINISHED_OUTCOME})
    with pytest.raises(ConfigError, match="categories given for"):
        protect(data, ["outcome"], categories={"month": ("2024-01",)})


def test_label_sets_come_from_the_definitions() -> None:
    rules = load_definitions().breakdowns
    assert breakdown_categories(rules, "age_band") == (
        "Under 18", "18-25", "26-64", "65-74", "75-89", "90+", "Unknown",
    )  # fmt: skip
    assert len(breakdown_categories(rules, "imd_decile")) == 11
    assert breakdown_categories(rules, "ethnic_group")[-1] == "Not stated"
    with pytest.raises(KeyError, match="provider"):
        breakdown_categories(rules, "provider")
    assert months(date(2023, 4, 1), date(2024, 3, 31))[::11] == ("2023-04", "2024-03")
