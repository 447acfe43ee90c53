"""Cells, margins, hierarchies and relations (iaptkit.sdc.tables)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from iaptkit.errors import ConfigError
from iaptkit.sdc.counts import inner_counts
from iaptkit.sdc.linking import merge_cells
from iaptkit.sdc.tables import TOTAL, build_cells, dim_structure


def _table(sizes: tuple[int, ...], seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(seed)
    dims = [f"d{k}" for k in range(len(sizes))]
    keys = list(itertools.product(*[[f"v{i}" for i in range(s)] for s in sizes]))
    frame = pd.DataFrame(keys, columns=dims)
    frame["value"] = rng.integers(0, 50, size=len(keys))
    return frame, dims


@pytest.mark.parametrize("sizes", [(3,), (2, 3), (2, 2, 3), (2, 2, 2, 2)])
def test_every_margin_is_the_sum_of_its_inner_cells(sizes: tuple[int, ...]) -> None:
    frame, dims = _table(sizes)
    structures = [dim_structure(d, frame[d].unique(), margins=True) for d in dims]
    t = build_cells(inner_counts(frame, dims, "value"), structures)
    assert t.n_cells == int(np.prod([s + 1 for s in sizes]))
    # Independently: each cell's value is the sum over the inner rows matching its labels.
    for rec, v in zip(t.keys.to_dict("records"), t.values, strict=True):
        match = np.ones(len(frame), dtype=bool)
        for d in dims:
            if rec[d] != TOTAL:
                match &= (frame[d] == rec[d]).to_numpy()
        assert v == frame.loc[match, "value"].sum()
    # The relations hold for the truth, one per (dim, other cells' labels).
    assert np.abs(t.relations @ t.values).max() == 0
    expected_rows = sum(
        int(np.prod([s + 1 for j, s in enumerate(sizes) if j != k])) for k in range(len(sizes))
    )
    assert t.relations.shape[0] == expected_rows
    # is_margin <=> some label is Total; 'inner' rows pick exactly the inner cells summed.
    is_total = t.keys.eq(TOTAL).any(axis=1).to_numpy()
    assert (t.is_margin == is_total).all()
    assert t.inner is not None
    assert (t.inner @ np.where(t.is_margin, 0, t.values) == t.values).all()


def test_without_margins_there_are_no_relations() -> None:
    frame, dims = _table((2, 3))
    structures = [dim_structure(d, frame[d].unique(), margins=False) for d in dims]
    t = build_cells(inner_counts(frame, dims, "value"), structures)
    assert t.n_cells == 6
    assert t.relations.shape[0] == 0


def test_hierarchy_with_several_roots_gets_a_total() -> None:
    s = dim_structure(
        "org", ["A", "B", "C"], margins=True, hierarchy={"A": "X", "B": "X", "C": "Y"}
    )
    assert s.top == TOTAL
    assert s.children[TOTAL] == ("X", "Y")
    assert dict(s.depth) == {"A": 0, "B": 0, "C": 0, "X": 1, "Y": 1, TOTAL: 2}
    no_total = dim_structure(
        "org", ["A", "B", "C"], margins=False, hierarchy={"A": "X", "B": "X", "C": "Y"}
    )
    assert no_total.top is None


def test_hierarchy_cycle_and_parent_in_data() -> None:
    with pytest.raises(ConfigError, match="no root"):
        dim_structure("org", ["B"], margins=True, hierarchy={"B": "X", "X": "Y", "Y": "X"})
    cyc = {"B": "X", "X": "Y", "Y": "X", "C": "R"}
    with pytest.raises(ConfigError, match="cycle"):
        dim_structure("org", ["B", "C"], margins=True, hierarchy=cyc)
    with pytest.raises(ConfigError, match="are parents"):
        dim_structure("org", ["A", "X"], margins=True, hierarchy={"A": "X"})


def test_hierarchy_relations_hold() -> None:
    hier = {"P1": "ICB1", "P2": "ICB1", "P3": "ICB2", "ICB1": "Region", "ICB2": "Region"}
    frame = pd.DataFrame(
        {"org": ["P1", "P2", "P3"] * 2, "sex": ["F"] * 3 + ["M"] * 3, "value": [5, 6, 7, 8, 9, 10]}
    )
    structures = [
        dim_structure("org", ["P1", "P2", "P3"], margins=True, hierarchy=hier),
        dim_structure("sex", ["F", "M"], margins=True),
    ]
    t = build_cells(inner_counts(frame, ["org", "sex"], "value"), structures)
    got = {
        (r["org"], r["sex"]): v for r, v in zip(t.keys.to_dict("records"), t.values, strict=True)
    }
    assert got[("ICB1", "F")] == 11
    assert got[("Region", "Total")] == 45
    assert got[("ICB2", "Total")] == 17
    assert np.abs(t.relations @ t.values).max() == 0


def test_merge_shares_cells_and_checks_agreement() -> None:
    a_frame = pd.DataFrame({"x": ["p", "q"], "value": [3, 4]})
    b_frame = pd.DataFrame({"y": ["r", "s"], "value": [5, 2]})
    a = build_cells(
        inner_counts(a_frame, ["x"], "value"), [dim_structure("x", ["p", "q"], margins=True)]
    )
    b = build_cells(
        inner_counts(b_frame, ["y"], "value"), [dim_structure("y", ["r", "s"], margins=True)]
    )
    merged, pos = merge_cells([a, b], ["x", "y"], {"x": TOTAL, "y": TOTAL})
    assert merged.n_cells == 5  # p, q, r, s and one shared grand total
    assert pos[0][2] == pos[1][2]
    assert merged.relations.shape == (2, 5)
    assert np.abs(merged.relations @ merged.values).max() == 0
    c_frame = pd.DataFrame({"y": ["r", "s"], "value": [5, 3]})
    c = build_cells(
        inner_counts(c_frame, ["y"], "value"), [dim_structure("y", ["r", "s"], margins=True)]
    )
    with pytest.raises(ConfigError, match="disagree"):
        merge_cells([a, c], ["x", "y"], {"x": TOTAL, "y": TOTAL})
