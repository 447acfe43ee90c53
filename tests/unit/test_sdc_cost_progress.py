"""Information-loss cost a site chooses, value mass reported, progress per stage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iaptkit.errors import ConfigError
from iaptkit.sdc import protect
from iaptkit.sdc.solve import cell_costs

FRAME = pd.DataFrame(
    {
        "r": list("aaabbbccc"),
        "c": list("xyz") * 3,
        "n": [3, 40, 55, 30, 60, 70, 20, 25, 200],
    }
)


def test_cell_costs_named_and_weighted() -> None:
    v = np.array([0, 9, 89])
    lev = np.array([0, 0, 1])
    assert cell_costs(v, lev, "value").tolist() == [1.0, 10.0, 180.0]
    assert cell_costs(v, lev, "cells").tolist() == [1.0, 1.0, 2.0]
    # weight 1 = cells, weight 0 = value mass scaled by its mean (1 + v = 1, 10, 90: mean 101/3)
    assert cell_costs(v, lev, 1.0).tolist() == [1.0, 1.0, 2.0]
    np.testing.assert_allclose(cell_costs(v, lev, "0"), [3 / 101, 30 / 101, 2 * 270 / 101])
    with pytest.raises(ConfigError, match="between 0 and 1"):
        cell_costs(v, lev, 1.5)
    with pytest.raises(ConfigError, match="value, cells"):
        cell_costs(v, lev, "cheap")


@pytest.mark.parametrize("cost", ["value", "cells", 0.5])
def test_cost_choice_protects_and_reports_value_mass(cost: str | float) -> None:
    pt = protect(FRAME, ["r", "c"], "n", policy="sdap", cost=cost)
    assert pt.certificate.passed
    cells = pt.cells
    sec = cells["status"] == "secondary"
    sup = cells["status"].isin(["primary", "secondary"])
    assert pt.info_loss["secondary_value"] == cells.loc[sec, "value"].sum()
    assert pt.info_loss["suppressed_value"] == cells.loc[sup, "value"].sum()
    assert pt.info_loss["suppressed_secondary"] == sec.sum()


def test_cells_cost_never_hides_more_cells_than_value_cost_here() -> None:
    by_cells = protect(FRAME, ["r", "c"], "n", policy="sdap", cost="cells").info_loss
    by_value = protect(FRAME, ["r", "c"], "n", policy="sdap", cost="value").info_loss
    assert by_cells["suppressed_secondary"] <= by_value["suppressed_secondary"]
    assert by_value["secondary_value"] <= by_cells["secondary_value"]


def test_progress_reports_each_stage_to_the_end() -> None:
    seen: list[tuple[str, int, int]] = []
    protect(FRAME, ["r", "c"], "n", policy="sdap", progress=lambda *a: seen.append(a))
    stages = [s for s, _, _ in seen]
    assert "audit" in stages
    last_audit = [x for x in seen if x[0] == "audit"][-1]
    assert last_audit[1] == last_audit[2]


def test_timeout_ends_with_a_safe_pattern_never_an_unsafe_one() -> None:
    """timeout=0: the search stops at once; the always-safe fallback is published, audited."""
    pt = protect(FRAME, ["r", "c"], "n", policy="sdap", timeout=0.0)
    assert pt.info_loss["timed_out"] == 1.0
    assert pt.info_loss["fallback"] == 1.0
    assert pt.certificate.passed
    assert (pt.cells["display"] == "*").all()
    for iv in pt.certificate.intervals:
        if iv.is_primary:
            assert iv.upper - iv.lower >= 10


def test_generous_timeout_changes_nothing() -> None:
    with_t = protect(FRAME, ["r", "c"], "n", policy="sdap", timeout=600.0)
    without = protect(FRAME, ["r", "c"], "n", policy="sdap")
    assert with_t.info_loss["timed_out"] == 0.0
    assert with_t.published_long().equals(without.published_long())
