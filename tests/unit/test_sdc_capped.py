"""Capped hypercube candidates (big tables) and audit hints: fewer candidates, never less safety."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sdc_solver_tables import grid_space

from iaptkit.sdc.attack import attack
from iaptkit.sdc.audit import audit
from iaptkit.sdc.guided import attacker_pass
from iaptkit.sdc.solver.cells import CellSpace
from iaptkit.sdc.solver.hypercube import (
    hypercube_bounds,
    margins_grid,
    points_range,
    proven_by_points,
)
from iaptkit.sdc.solver.hypercube_cap import axis_budget, capped_through
from iaptkit.sdc.solver.hypercube_moves import Move, grid_locations, hypercubes_through
from iaptkit.sdc.solver.hypercube_select import hypercube_secondary
from iaptkit.sdc.solver.intervals import required_width


def _space(inner: np.ndarray) -> CellSpace:
    """A margined 4-D grid (threshold 10, nearest-5 rounding) with its hypercube grid."""
    space = grid_space(inner, rounding=5)
    shape = tuple(int(s) + 1 for s in np.shape(inner))
    return replace(space, grids=(margins_grid(shape),))


def _inner(seed: int, shape: tuple[int, ...] = (5, 4, 3, 3)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson(rng.choice([4.0, 25.0, 90.0], size=shape))


def test_capped_hypercubes_are_hypercubes_through_the_cell() -> None:
    sp = _space(_inner(0))
    views, where = grid_locations(sp)
    score = np.append(np.where(sp.primary, 0.0, sp.cost), 0.0)
    for i in np.flatnonzero(sp.primary)[:10].tolist():
        full = {
            (tuple(c.tolist()), tuple(s.tolist()))
            for cells, signs in hypercubes_through(views, where, i)
            for c, s in zip(cells, signs, strict=True)
        }
        capped = [
            (tuple(c.tolist()), tuple(s.tolist()))
            for cells, signs in capped_through(views, where, i, score, cap_above=0, keep=64)
            for c, s in zip(cells, signs, strict=True)
        ]
        # 4 axes with 5, 4, 3, 3 moves; 64 corners = 4 hypercubes of 16 corners: one per axis
        # except one axis with 2 (the product stays within the budget)
        assert 1 <= len(capped) <= 4
        assert set(capped) <= full
        for c, s in capped:
            assert c[s.index(1)] == i or i in c  # the cell itself is a corner
            assert s[c.index(i)] == 1


def test_axis_budget_gives_few_moved_axes_their_share() -> None:
    assert axis_budget([120, 7, 3, 5, 8], 256) == [3, 3, 3, 3, 3]
    assert axis_budget([3, 3], 1000) == [3, 3]  # small axes keep everything
    assert axis_budget([50, 1], 10) == [10, 1]
    keep = axis_budget([40, 6, 2, 4], 300)
    assert np.prod(keep) <= 300
    assert keep[2] == 2
    assert keep[0] >= keep[1]


@pytest.mark.parametrize("seed", range(2))
def test_capped_hypercube_pattern_passes_the_exact_audit(seed: int) -> None:
    sp = _space(_inner(seed))
    need = required_width(sp)
    eligible = ~sp.structural_zero
    mask = sp.primary.copy()
    points: list[Move] = []
    left = hypercube_secondary(sp, mask, need, eligible, points=points, cap_above=0, keep=64)
    # what the capped pass shows protected is protected under the exact attacker
    shown = proven_by_points(sp, mask, need, points)
    exact = attack(sp, mask)
    width = exact.upper - exact.lower
    assert shown.any()
    assert (width[shown] >= need[shown] - 1e-9).all()
    # every primary the pass did not leave over is shown protected by verified points
    assert shown[sp.primary & ~left].all()
    # the attacker pass repairs the rest; the exact audit accepts the pattern, every primary
    # has an interval at least the policy's width (10) and published cells stay published
    attacker_pass(sp, mask, need, eligible, None, mask & ~shown)
    cert = audit(sp, mask, mode="exact")
    assert cert.passed
    for iv in cert.intervals:
        if sp.primary[iv.index]:
            assert iv.upper - iv.lower >= 10
    assert mask[sp.primary].all()
    assert not mask[sp.structural_zero].any()


@pytest.mark.parametrize("seed", range(2))
def test_capped_audit_bounds_lie_inside_the_exact_interval(seed: int) -> None:
    sp = _space(_inner(seed + 10))
    mask = sp.primary.copy()
    hypercube_secondary(sp, mask, required_width(sp), ~sp.structural_zero)
    targets = np.flatnonzero(mask)
    lo, hi = hypercube_bounds(sp, mask, targets, cap_above=0, keep=64)
    exact = attack(sp, mask)
    assert (lo[targets] >= exact.lower[targets] - 1e-6).all()
    assert (hi[targets] <= exact.upper[targets] + 1e-6).all()
    assert (hi[targets] - lo[targets] > 0).any()


def test_audit_hints_are_verified_and_never_change_a_verdict() -> None:
    sp = _space(_inner(3))
    need = required_width(sp)
    mask = sp.primary.copy()
    points: list[Move] = []
    hypercube_secondary(sp, mask, need, ~sp.structural_zero, points=points)
    attacker_pass(sp, mask, need, ~sp.structural_zero, None)
    plain = audit(sp, mask, mode="sufficient")
    hinted = audit(sp, mask, mode="sufficient", hints=points)
    assert plain.passed
    assert hinted.passed
    # a forged hint (breaks a relation: one cell moved alone) proves nothing
    i = int(np.flatnonzero(sp.primary)[0])
    forged: Move = (np.array([i], dtype=np.int64), np.array([50.0]))
    low, high = points_range(sp, mask, [forged])
    assert low[i] == high[i] == sp.values[i]
    # an unprotected pattern (primaries alone) fails with or without hints, forged or not
    alone = sp.primary.copy()
    assert not audit(sp, alone, mode="sufficient").passed
    assert not audit(sp, alone, mode="sufficient", hints=[*points, forged]).passed
    # every interval the hinted audit reports lies inside the exact one
    exact = attack(sp, mask)
    for iv in hinted.intervals:
        assert iv.lower >= exact.lower[iv.index] - 1e-6
        assert iv.upper <= exact.upper[iv.index] + 1e-6


def test_modular_quick_check_keeps_the_pattern_safe() -> None:
    from iaptkit.sdc.solver.modular import ModularSearch

    sp = _space(_inner(5))
    need = required_width(sp)
    mask = sp.primary.copy()
    search = ModularSearch(sp, mask, need, ~sp.structural_zero, quick=True)
    left = search.protect_all()
    plain = ModularSearch(sp, sp.primary.copy(), need, ~sp.structural_zero)
    plain.protect_all()
    assert search.n_lp < plain.n_lp  # some cells were protected without their LPs
    shown = proven_by_points(sp, mask, need, search.live_points())
    assert not left.any()
    exact = attack(sp, mask)
    assert ((exact.upper - exact.lower)[shown] >= need[shown] - 1e-9).all()
    assert shown[sp.primary].all()
