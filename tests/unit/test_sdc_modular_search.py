"""Unit tests of the modular search (iaptkit.sdc.solver.modular) on hand-made grids.

The patterns are checked by enumerating every integer table consistent with what the attacker
sees (``brute_force_grid_intervals``: no LP code; scipy's ``linprog`` on the whole space where
there are too many tables, exact for 2-D tables with margins), so a wrong move or a wrong prune
would show.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sdc_solver_tables import brute_force_grid_intervals, grid_space, linprog_intervals

from iaptkit.sdc.secondary import secondary_suppression
from iaptkit.sdc.solver.cells import CellSpace
from iaptkit.sdc.solver.hypercube import margins_grid, proven_by_points
from iaptkit.sdc.solver.intervals import required_width
from iaptkit.sdc.solver.modular import ModularSearch

# rows A, B, C; columns 1..3: the 3 (A2) and the 0 (C3) are primary under threshold 10
DIFF = np.array([[25, 3, 40], [12, 30, 18], [50, 15, 0]])


def _with_grid(space: CellSpace, inner_shape: tuple[int, ...]) -> CellSpace:
    shape = tuple(s + 1 for s in inner_shape)
    return dataclasses.replace(space, grids=(margins_grid(shape),))


def _protected_by_enumeration(
    inner_shape: tuple[int, ...], space: CellSpace, mask: np.ndarray, threshold: int
) -> bool:
    got = brute_force_grid_intervals(inner_shape, space, mask)
    if got is None:  # too many tables to enumerate: scipy's linprog on the whole space
        lp = linprog_intervals(space, mask)
        got = {i: (np.ceil(lo - 1e-7), np.floor(hi + 1e-7)) for i, (lo, hi) in lp.items()}
    for i, (lo, hi) in got.items():
        need = threshold if space.primary[i] else 1  # zeros are primary here too
        if hi - lo < need:
            return False
    return True


@pytest.mark.parametrize("grid", [True, False])
def test_differencing_table_gets_the_cheapest_rectangle(grid: bool) -> None:
    space = grid_space(DIFF)
    if grid:
        space = _with_grid(space, (3, 3))
    mask = space.primary.copy()
    search = ModularSearch(space, mask, required_width(space), ~space.structural_zero)
    assert not search.protect_all().any()
    search.prune()
    # the cheapest protection (values 40 and 15, worked out by hand): A3 and C2
    shape = (4, 4)
    expected = {int(np.ravel_multi_index(ix, shape)) for ix in [(0, 2), (2, 1)]}
    assert set(np.flatnonzero(mask & ~space.primary).tolist()) == expected
    assert _protected_by_enumeration((3, 3), space, mask, 10)
    # every suppressed cell is shown protected by the moves kept, each checked on the relations
    need = required_width(space)
    assert (proven_by_points(space, mask, need, search.live_points()) == mask).all()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("rounding", [0, 5])
def test_random_tables_safe_by_enumeration(seed: int, rounding: int) -> None:
    rng = np.random.default_rng(seed)
    inner = rng.choice([0, 2, 5, 8, 12, 20, 35, 60], size=(3, 3))
    space = _with_grid(grid_space(inner, rounding=rounding), (3, 3))
    mask = secondary_suppression(space, method="modular")
    assert (mask >= space.primary).all()
    assert _protected_by_enumeration((3, 3), space, mask, 10)
    # never more information lost than the hypercube method on the same table
    hyper = secondary_suppression(space, method="hypercube")
    assert space.cost[mask].sum() <= space.cost[hyper].sum() + 1e-9


def test_prune_publishes_a_needless_secondary_again() -> None:
    space = _with_grid(grid_space(DIFF), (3, 3))
    mask = space.primary.copy()
    search = ModularSearch(space, mask, required_width(space), ~space.structural_zero)
    search.protect_all()
    search.prune()
    before = mask.copy()
    # suppress B1 on top, with the cells its own protection needs (no primary needs them)
    b1 = int(np.ravel_multi_index((1, 0), (4, 4)))
    mask[b1] = True
    assert search.protect_cell(b1)
    assert (mask & ~before).sum() >= 2
    over = mask.copy()
    assert search.prune() >= 1
    # the prune only ever publishes cells again: a strictly cheaper pattern, still safe
    assert (mask <= over).all()
    assert space.cost[mask].sum() < space.cost[over].sum()
    assert (mask >= space.primary).all()
    assert search.n_failed == 0
    assert _protected_by_enumeration((3, 3), space, mask, 10)
