"""Unit tests of the attacker audit (iaptkit.sdc.audit) on hand-made cell spaces."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sdc_solver_tables import (
    brute_force_grid_intervals,
    grid_space,
    linprog_intervals,
)

from iaptkit.sdc.attack import attack
from iaptkit.sdc.audit import audit
from iaptkit.sdc.solver.cells import CellSpace

# rows A, B, C; columns 1..3 (the differencing example of the brief)
DIFF = np.array([[25, 3, 40], [12, 30, 18], [50, 15, 0]])


def _idx(shape: tuple[int, ...], *ix: int) -> int:
    return int(np.ravel_multi_index(ix, shape))


def _by_index(cert):  # type: ignore[no-untyped-def]
    return {c.index: c for c in cert.intervals}


def test_single_suppressed_cell_is_recovered_from_its_row_total() -> None:
    space = grid_space(DIFF)
    shape = (4, 4)
    sup = np.zeros(space.n_cells, dtype=bool)
    a2 = _idx(shape, 0, 1)  # A, column 2: true 3
    sup[a2] = True
    cert = audit(space, sup)
    assert not cert.passed
    (cell,) = cert.intervals
    assert (cell.lower, cell.upper) == (3.0, 3.0)
    assert "exactly" in cell.reason
    assert cert.failures() == (cell,)


def test_primary_only_pattern_of_differencing_table_fails_and_a_rectangle_passes() -> None:
    space = grid_space(DIFF)
    shape = (4, 4)
    sup = space.primary.copy()  # 3 and 0 (zeros suppressed)
    assert sup.sum() == 2
    assert not audit(space, sup).passed
    # rectangle A2, A3, C2, C3 hides both (A3 = 40, C2 = 15 as complements)
    for ix in [(0, 2), (2, 1)]:
        sup[_idx(shape, *ix)] = True
    cert = audit(space, sup)
    got = _by_index(cert)
    # with A2 = t: row A gives A3 = 43 - t, column 2 gives C2 = 18 - t, row C gives
    # C3 = 15 - C2 = t - 3, and every count >= 0, so t in [3, 18]
    assert (got[_idx(shape, 0, 1)].lower, got[_idx(shape, 0, 1)].upper) == (3.0, 18.0)
    assert (got[_idx(shape, 0, 2)].lower, got[_idx(shape, 0, 2)].upper) == (25.0, 40.0)
    assert (got[_idx(shape, 2, 1)].lower, got[_idx(shape, 2, 1)].upper) == (0.0, 15.0)
    assert (got[_idx(shape, 2, 2)].lower, got[_idx(shape, 2, 2)].upper) == (0.0, 15.0)
    assert cert.passed
    assert cert.n_suppressed == 4


def test_rounding_intervals_widen_a_singleton() -> None:
    # one row: a (3, suppressed), b = 12 -> shown 10 means [10, 12], c = 40 -> [38, 42],
    # total 55 -> [53, 57]; so a = T - b - c lies in [53 - 12 - 42, 57 - 10 - 38] = [-1, 9]
    space = grid_space(np.array([3, 12, 40]), rounding=5)
    sup = np.zeros(space.n_cells, dtype=bool)
    sup[0] = True
    cert = audit(space, sup)
    (cell,) = cert.intervals
    assert (cell.lower, cell.upper) == (0.0, 9.0)
    assert not cell.passed  # width 9 < 10
    assert "width 9" in cell.reason


def test_audit_matches_brute_force_integer_enumeration_on_tiny_2d_tables() -> None:
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(25):
        inner = rng.integers(0, 9, size=(2, 3))
        space = grid_space(inner, threshold=4)
        sup = space.primary | (rng.random(space.n_cells) < 0.3)
        sup[-1] = False  # grand total published: every cell bounded
        expected = brute_force_grid_intervals((2, 3), space, sup)
        if expected is None:
            continue
        got = _by_index(audit(space, sup))
        assert set(got) == set(expected)
        for i, (lo, hi) in expected.items():
            assert (got[i].lower, got[i].upper) == (lo, hi), space.label(i)
            checked += 1
    assert checked > 40


def test_audit_matches_brute_force_with_rounding() -> None:
    inner = np.array([[3, 12, 11], [14, 6, 25]])
    space = grid_space(inner, threshold=10, rounding=5)
    sup = space.primary.copy()
    sup[1] = True  # a secondary partner in row 1
    sup[5] = True
    expected = brute_force_grid_intervals((2, 3), space, sup)
    assert expected is not None
    got = _by_index(audit(space, sup))
    assert {i: (got[i].lower, got[i].upper) for i in expected} == expected


def test_audit_equals_independent_lp_on_a_3d_table() -> None:
    rng = np.random.default_rng(3)
    inner = rng.integers(0, 30, size=(3, 3, 2))
    space = grid_space(inner, rounding=5)
    sup = space.primary | (rng.random(space.n_cells) < 0.2)
    expected = linprog_intervals(space, sup)
    got = _by_index(audit(space, sup))
    assert set(got) == set(expected)
    for i, (lo, hi) in expected.items():
        assert got[i].lower == np.ceil(lo - 1e-7)
        assert got[i].upper == (np.floor(hi + 1e-7) if np.isfinite(hi) else np.inf)


def test_structural_zero_suppressed_is_flagged() -> None:
    sz = np.array([[False, False], [False, True]])
    space = grid_space(np.array([[20, 30], [40, 0]]), structural_zero=sz)
    sup = np.zeros(space.n_cells, dtype=bool)
    sup[_idx((3, 3), 1, 1)] = True
    cert = audit(space, sup)
    assert not cert.passed
    assert "structural zero" in cert.intervals[0].reason


def _chain_space(inequalities: sparse.csr_matrix | None) -> CellSpace:
    # x0 + x1 = x2 (total 20, published); x3 = 6 published; inequality (optional) x0 <= x3
    v = np.array([5, 15, 20, 6])
    return CellSpace(
        values=v,
        relations=sparse.csr_matrix([[1.0, 1.0, -1.0, 0.0]]),
        published_lower=v.astype(float),
        published_upper=v.astype(float),
        suppressed_lower=np.zeros(4),
        suppressed_upper=np.full(4, np.inf),
        primary=np.array([True, False, False, False]),
        structural_zero=np.zeros(4, dtype=bool),
        protection_width=np.full(4, 3.0),
        cost=v.astype(float),
        inequalities=inequalities,
    )


def test_inequalities_are_known_to_the_attacker() -> None:
    sup = np.array([True, True, False, False])
    free = _by_index(audit(_chain_space(None), sup))
    assert (free[0].lower, free[0].upper) == (0.0, 20.0)
    assert (free[1].lower, free[1].upper) == (0.0, 20.0)
    bounded = _by_index(audit(_chain_space(sparse.csr_matrix([[1.0, 0.0, 0.0, -1.0]])), sup))
    assert (bounded[0].lower, bounded[0].upper) == (0.0, 6.0)
    assert (bounded[1].lower, bounded[1].upper) == (14.0, 20.0)


def test_linked_tables_sharing_a_cell_are_attacked_jointly() -> None:
    # table 1: a + b = T (by sex); table 2: c + d = T (by age); T is one shared cell
    v = np.array([4, 26, 18, 12, 30])  # a, b, c, d, T
    rel = sparse.csr_matrix([[1.0, 1.0, 0.0, 0.0, -1.0], [0.0, 0.0, 1.0, 1.0, -1.0]])

    def space(rows: sparse.csr_matrix) -> CellSpace:
        return CellSpace(
            values=v,
            relations=rows,
            published_lower=v.astype(float),
            published_upper=v.astype(float),
            suppressed_lower=np.zeros(5),
            suppressed_upper=np.full(5, np.inf),
            primary=v < 10,
            structural_zero=np.zeros(5, dtype=bool),
            protection_width=np.full(5, 10.0),
            cost=v.astype(float),
            labels=("a", "b", "c", "d", "T"),
        )

    sup = np.array([True, False, False, False, True])  # a and T hidden in table 1
    alone = audit(space(rel[:1]), sup)
    assert alone.passed
    assert _by_index(alone)[0].upper == np.inf
    joint = audit(space(rel), sup)
    assert not joint.passed
    got = _by_index(joint)
    assert (got[0].lower, got[0].upper) == (4.0, 4.0)
    assert (got[4].lower, got[4].upper) == (30.0, 30.0)
    assert got[0].label == "a"


def test_export_dict_hides_primary_flags_and_true_values() -> None:
    space = grid_space(DIFF)
    sup = space.primary.copy()
    cert = audit(space, sup)
    public = cert.to_dict()
    text = json.dumps(public)
    assert "is_primary" not in text
    assert "true_value" not in text
    assert "reason" not in text
    assert public["passed"] is False
    assert public["n_suppressed"] == 2
    assert public["method"] == "highs-lp-exact"
    internal = cert.to_dict(internal=True)
    assert {c["true_value"] for c in internal["intervals"]} == {3, 0}
    assert all(c["is_primary"] for c in internal["intervals"])


def test_unbounded_upper_is_json_null() -> None:
    space = grid_space(np.array([3, 25]))
    sup = np.array([True, False, True])  # a cell and the total: 3 + 25 = T, T unknown
    cert = audit(space, sup)
    assert json.loads(json.dumps(cert.to_dict()))["intervals"][0]["upper"] is None


def test_inconsistent_space_is_rejected() -> None:
    space = grid_space(np.array([[25, 3], [12, 30]]), rounding=5)
    bad = CellSpace(
        values=space.values,
        relations=space.relations,
        published_lower=space.published_lower + 100,
        published_upper=space.published_upper + 100,
        suppressed_lower=space.suppressed_lower,
        suppressed_upper=space.suppressed_upper,
        primary=space.primary,
        structural_zero=space.structural_zero,
        protection_width=space.protection_width,
        cost=space.cost,
    )
    with pytest.raises(ValueError, match="inconsistent"):
        audit(bad, space.primary)


def test_sufficient_mode_reports_inner_bounds_that_prove_the_same_verdict() -> None:
    rng = np.random.default_rng(5)
    inner = rng.integers(0, 60, size=(4, 3, 3))
    space = grid_space(inner, rounding=5)
    sup = space.primary | (rng.random(space.n_cells) < 0.25)
    exact = attack(space, sup)
    quick = attack(space, sup, sufficient=True)
    need = np.where(space.primary, 10.0, 1.0)
    idx = np.flatnonzero(sup)
    # inner bounds lie inside the exact LP interval (never wider than the attacker's)
    assert (quick.lower[idx] >= exact.lower[idx]).all()
    assert (quick.upper[idx] <= exact.upper[idx]).all()
    # and both give the same pass/fail verdict per cell
    ok_exact = exact.upper[idx] - exact.lower[idx] >= need[idx]
    ok_quick = quick.upper[idx] - quick.lower[idx] >= need[idx]
    assert (ok_exact == ok_quick).all()
    assert quick.n_lp <= exact.n_lp
    assert exact.exact[idx].all()
