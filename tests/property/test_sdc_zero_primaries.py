"""Property: under every policy no primary, zero or not, is narrower than the protection width.

The attacker here is independent of the project's audit: from each protected table's published
bounds and relations it solves mixed-integer programs (whole numbers) for the interval of every
suppressed cell. Zeros are primaries where the policy suppresses them (``nhs-sde``,
``nhs-talking-therapies``, ``sdap``), so the tables are drawn with many zeros.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iaptkit.sdc import load_policy, protect
from iaptkit.sdc.integer_attack import integer_intervals

POLICIES = ("nhs-sde", "nhs-talking-therapies", "nhs-hes", "opensafely", "sdap")


@st.composite
def zero_heavy_tables(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str]]:
    n_dims = draw(st.integers(1, 3))
    sizes = [draw(st.integers(2, 4 if n_dims == 1 else 3)) for _ in range(n_dims)]
    dims = [f"d{k}" for k in range(n_dims)]
    keys = list(itertools.product(*[[f"v{i}" for i in range(s)] for s in sizes]))
    cell = st.one_of(st.just(0), st.integers(0, 12), st.integers(10, 60))
    values = draw(st.lists(cell, min_size=len(keys), max_size=len(keys)))
    frame = pd.DataFrame(keys, columns=dims)
    frame["n"] = values
    return frame, dims


def _attack(policy_id: str, frame: pd.DataFrame, dims: list[str]) -> None:
    pol = load_policy(policy_id)
    pt = protect(frame, dims, "n", policy=pol)
    cells = pt.cells
    sup = (cells["display"] == "*").to_numpy()
    if not sup.any():
        return
    lo, hi = integer_intervals(
        pt.relations,
        pt.inequalities,
        cells["attacker_lower"].to_numpy(dtype=np.float64),
        cells["attacker_upper"].to_numpy(dtype=np.float64),
        sup,
    )
    truth = cells["value"].to_numpy()
    primary = (cells["status"] == "primary").to_numpy()
    for i in np.flatnonzero(sup):
        assert lo[i] <= truth[i] <= hi[i]
        assert hi[i] - lo[i] >= 1, f"{policy_id}: cell {i} determined exactly"
        if primary[i]:
            assert hi[i] - lo[i] >= pol.protection_width, (
                f"{policy_id}: primary {i} (true {truth[i]}) in [{lo[i]}, {hi[i]}]"
            )
    if pol.zeros_suppressed:
        zeros = (truth == 0) & (cells["status"] != "structural_zero").to_numpy()
        if pol.margins == "sum_of_rounded":
            zeros &= ~cells["is_margin"].to_numpy(dtype=bool)
        assert primary[zeros].all()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(table=zero_heavy_tables(), policy=st.sampled_from(POLICIES))
def test_no_primary_narrower_than_width_integer_attacker(
    table: tuple[pd.DataFrame, list[str]], policy: str
) -> None:
    _attack(policy, *table)


@pytest.mark.parametrize("policy", POLICIES)
def test_zero_next_to_big_cells_gets_full_width(policy: str) -> None:
    """A lone zero in a row of large counts: the case the old audit let through ([0, 6])."""
    frame = pd.DataFrame(
        {"r": ["a", "a", "a", "b", "b", "b"], "c": ["x", "y", "z"] * 2, "n": [0, 40, 55, 30, 6, 70]}
    )
    _attack(policy, frame, ["r", "c"])
