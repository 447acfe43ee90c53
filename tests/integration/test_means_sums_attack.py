"""Means and sums of sessions read with the counts, on a synthetic extract (nhs-sde).

The measures of families 1 and 7 by provider and provider x age band, protected: an attacker
written apart from iaptkit (``tests/measures_sums_attacker.py``: courses, their sessions,
``sum_sessions_finished`` and ``mean_sessions_finished``, the rounding boxes, providers adding
up to England and age bands to their provider) narrows no suppressed course count below its
width; with the means iaptkit withheld published again, it does.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from measures_bands_attacker import narrowed as bands_narrowed
from measures_sums_attacker import narrowed

from iaptkit.data import load_extract
from iaptkit.measures import published_measures
from iaptkit.sdc import load_policy, protect_measures
from iaptkit.sdc.rates import fmt
from iaptkit.synth.generate import write_synthetic

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def protected(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder: Path = tmp_path_factory.mktemp("means") / "extract"
    write_synthetic(folder, pathways=1500, start="2023-04", months=12, providers=5, seed=3)
    ex = load_extract(folder)
    try:
        table = published_measures(
            ex,
            date(2023, 4, 1),
            date(2024, 3, 31),
            by=["england", "provider", "provider x age_band"],
            families=[1, 7],
        )
    finally:
        ex.close()
    return protect_measures(table, "nhs-sde").cells


def _export(cells: pd.DataFrame) -> pd.DataFrame:
    return cells[["breakdown", "group", "measure", "display"]].rename(columns={"display": "value"})


def _truth(cells: pd.DataFrame) -> pd.DataFrame:
    return cells[cells["measure"] == "finished_treatment"][["breakdown", "group", "true_value"]]


def test_no_suppressed_course_count_is_narrowed(protected: pd.DataFrame) -> None:
    pol = load_policy("nhs-sde")
    width = float(pol.protection_width or pol.threshold)
    found = narrowed(_export(protected), _truth(protected), 5, pol.threshold, width)
    assert found == []
    # what is published is the rounded truth (England's courses to the nearest 5)
    eng = protected.set_index(["breakdown", "measure"]).loc[("england", "finished_treatment")]
    assert int(eng["display"]) == 5 * int(float(eng["true_value"]) / 5 + 0.5)


def test_the_withheld_means_would_have_narrowed_some(protected: pd.DataFrame) -> None:
    pol = load_policy("nhs-sde")
    withheld = protected["reason"].str.startswith("withheld")
    assert int(withheld.sum()) > 0
    assert set(protected.loc[withheld, "measure"]) <= {
        m for m in protected["measure"] if str(m).startswith("mean_")
    }
    before = protected.copy()
    before.loc[withheld, "display"] = [fmt(float(v), 1) for v in before.loc[withheld, "true_value"]]
    found = narrowed(_export(before), _truth(protected), 5, pol.threshold, float(pol.threshold))
    assert found, "publishing the withheld means again narrows no count"


def test_no_suppressed_wait_band_is_narrowed_by_its_total_or_median(
    protected: pd.DataFrame,
) -> None:
    # family 1: the bands add up to those entering treatment, and the median bounds them
    pol = load_policy("nhs-sde")
    width = float(pol.protection_width or pol.threshold)
    cells = protected[["breakdown", "group", "measure", "display", "true_value"]]
    assert bands_narrowed(cells, 5, pol.threshold, width) == []
    medians = protected[protected["measure"] == "median_wait_entered"]
    assert (medians["display"] != "*").sum() > 0  # some medians are published and read
    # published again beside what iaptkit hid (where the count is not small), the medians and
    # totals narrow some bands
    before = cells.copy()
    total = before[before["measure"] == "entered_treatment"].set_index(["breakdown", "group"])
    big = {k for k, v in total["true_value"].items() if float(v) >= pol.threshold}
    for measure in ("median_wait_entered", "entered_treatment"):
        hidden = (
            (before["measure"] == measure)
            & (before["display"] == "*")
            & np.array([k in big for k in zip(before["breakdown"], before["group"], strict=True)])
        )
        values = before.loc[hidden, "true_value"].astype(float)
        if measure == "entered_treatment":
            before.loc[hidden, "display"] = [str(5 * int(v / 5 + 0.5)) for v in values]
        else:
            before.loc[hidden, "display"] = [fmt(v, 1) for v in values]
    assert bands_narrowed(before, 5, pol.threshold, width) != []
