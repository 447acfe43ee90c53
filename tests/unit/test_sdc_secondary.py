"""Unit tests of secondary suppression (iaptkit.sdc.secondary) on hand-made cell spaces."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sdc_solver_tables import brute_force_grid_intervals, grid_space, linprog_intervals

from iaptkit.errors import AuditFailedError
from iaptkit.sdc.audit import audit
from iaptkit.sdc.secondary import secondary_suppression
from iaptkit.sdc.solver.cells import CellSpace

# rows A, B, C; columns 1..3 (the differencing example of the brief)
DIFF = np.array([[25, 3, 40], [12, 30, 18], [50, 15, 0]])


def _idx(*ix: int) -> int:
    return int(np.ravel_multi_index(ix, (4, 4)))


def _brute_force_passes(
    inner_shape: tuple[int, ...], space: CellSpace, mask: np.ndarray, threshold: int
) -> bool:
    """The protection criterion checked by integer enumeration (no LP)."""
    got = brute_force_grid_intervals(inner_shape, space, mask)
    assert got is not None
    for i, (lo, hi) in got.items():
        need = threshold if space.primary[i] and space.values[i] >= 1 else 1
        if hi - lo < need:
            return False
    return True


def test_differencing_table_gets_the_cheapest_rectangle() -> None:
    space = grid_space(DIFF)  # threshold 10, no rounding: 3 and 0 are primary
    mask = secondary_suppression(space)
    assert set(np.flatnonzero(mask & ~space.primary)) == {_idx(0, 2), _idx(2, 1)}  # A3, C2
    assert audit(space, mask).passed
    assert _brute_force_passes((3, 3), space, mask, 10)
    # without the secondaries the table is not protected (checked without the LP too)
    assert not _brute_force_passes((3, 3), space, space.primary, 10)


def test_differencing_table_with_rounding() -> None:
    space = grid_space(DIFF, rounding=5)
    mask = secondary_suppression(space)
    assert (mask >= space.primary).all()
    assert audit(space, mask).passed
    # checked again with scipy's linprog on the whole space (independent of the solver's LPs)
    for i, (lo, hi) in linprog_intervals(space, mask).items():
        need = 10 if space.primary[i] and space.values[i] >= 1 else 1
        assert np.floor(hi + 1e-7) - np.ceil(lo - 1e-7) >= need, space.label(i)


def test_single_recoverable_cell_gets_protected() -> None:
    inner = np.array([[40, 30, 25], [35, 4, 50], [60, 45, 70]])
    space = grid_space(inner)
    assert not audit(space, space.primary).passed
    mask = secondary_suppression(space)
    assert audit(space, mask).passed
    assert _brute_force_passes((3, 3), space, mask, 10)
    assert int((mask & ~space.primary).sum()) == 3  # a rectangle: the minimum in 2-D


def test_structural_zeros_are_never_suppressed() -> None:
    # the zero next to the 4 would be the cheapest partner if it were not structural
    inner = np.array([[4, 0, 30, 22], [26, 0, 41, 33], [18, 0, 27, 35]])
    sz = np.zeros(inner.shape, dtype=bool)
    sz[:, 1] = True
    space = grid_space(inner, structural_zero=sz)
    mask = secondary_suppression(space)
    assert not (mask & space.structural_zero).any()
    assert mask[space.primary].all()
    assert audit(space, mask).passed


def _linked(values: list[int]) -> CellSpace:
    # table 1: a + b = T (by sex); table 2: c + d = T (by age); T is one shared cell
    v = np.array(values)
    return CellSpace(
        values=v,
        relations=sparse.csr_matrix([[1.0, 1.0, 0.0, 0.0, -1.0], [0.0, 0.0, 1.0, 1.0, -1.0]]),
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


def test_linked_tables_prefer_a_shared_cell_that_protects_both() -> None:
    space = _linked([4, 26, 5, 25, 30])  # a and c primary in two tables sharing T
    mask = secondary_suppression(space)
    assert np.flatnonzero(mask).tolist() == [0, 2, 4]  # T hides both (cost 30 < 26 + 25)
    assert audit(space, mask).passed


def test_linked_tables_single_primary_takes_its_own_partner() -> None:
    space = _linked([4, 26, 18, 12, 30])
    mask = secondary_suppression(space)
    assert np.flatnonzero(mask).tolist() == [0, 1]  # b (26) is cheaper than T (30)
    assert audit(space, mask).passed


def test_inequalities_force_an_extra_suppression() -> None:
    # a + b = T (T published); a <= d is known; a = 5 primary needs width 10
    v = np.array([5, 15, 20, 6])
    space = CellSpace(
        values=v,
        relations=sparse.csr_matrix([[1.0, 1.0, -1.0, 0.0]]),
        published_lower=v.astype(float),
        published_upper=v.astype(float),
        suppressed_lower=np.zeros(4),
        suppressed_upper=np.full(4, np.inf),
        primary=np.array([True, False, False, False]),
        structural_zero=np.zeros(4, dtype=bool),
        protection_width=np.full(4, 10.0),
        cost=v.astype(float),
        inequalities=sparse.csr_matrix([[1.0, 0.0, 0.0, -1.0]]),
    )
    mask = secondary_suppression(space)
    assert mask[0]
    assert mask[3]  # without hiding d the attacker knows a <= 6
    assert mask[1] or mask[2]
    cert = audit(space, mask)
    assert cert.passed
    assert cert.intervals[0].upper - cert.intervals[0].lower >= 10


def test_impossible_protection_raises_a_clear_error() -> None:
    # suppressed cells are known to lie in [0, 5]: no pattern gives a width of 10
    v = np.array([3, 2, 5])
    space = CellSpace(
        values=v,
        relations=sparse.csr_matrix([[1.0, 1.0, -1.0]]),
        published_lower=v.astype(float),
        published_upper=v.astype(float),
        suppressed_lower=np.zeros(3),
        suppressed_upper=np.full(3, 5.0),
        primary=np.array([True, False, False]),
        structural_zero=np.zeros(3, dtype=bool),
        protection_width=np.full(3, 10.0),
        cost=v.astype(float),
        labels=("small", "other", "total"),
    )
    with pytest.raises(AuditFailedError, match="cannot protect small"):
        secondary_suppression(space)


def test_no_primaries_means_nothing_suppressed() -> None:
    space = grid_space(np.array([[20, 30], [40, 50]]))
    assert not secondary_suppression(space).any()


def test_progress_is_reported_and_result_is_deterministic() -> None:
    rng = np.random.default_rng(11)
    inner = rng.integers(0, 40, size=(4, 3, 3))
    space = grid_space(inner, rounding=5)
    calls: list[tuple[str, int, int]] = []
    first = secondary_suppression(space, progress=lambda s, d, t: calls.append((s, d, t)))
    second = secondary_suppression(space)
    assert (first == second).all()
    assert calls
    assert calls[-1][0] in {"secondary", "cleanup"}
    assert any(stage == "secondary" and still_failing == 0 for stage, _, still_failing in calls)
    assert audit(space, first).passed


def test_the_attacks_points_prove_every_suppressed_cell_for_the_audit() -> None:
    # the lp method on a table without a grid (676 cells, no clean-up): the feasible points
    # of its attacks are the search's proofs, handed to the audit as hints
    from iaptkit.sdc.secondary import SearchOutcome
    from iaptkit.sdc.solver.hypercube import proven_by_points
    from iaptkit.sdc.solver.intervals import required_width

    rng = np.random.default_rng(11)
    space = grid_space(rng.poisson(rng.choice([3.0, 15.0], size=(12, 12, 3))), rounding=5)
    assert not space.grids
    out = SearchOutcome()
    mask = secondary_suppression(space, method="lp", outcome=out)
    assert len(out.points) > 0
    need = required_width(space)
    assert proven_by_points(space, mask, need, out.points)[mask].all()
    cert = audit(space, mask, mode="sufficient", hints=out.points)
    assert cert.passed
    exact = audit(space, mask, mode="exact")
    assert exact.passed
    for c in exact.intervals:
        assert c.upper - c.lower >= need[c.index] - 1e-9
