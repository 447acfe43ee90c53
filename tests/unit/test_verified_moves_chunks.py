"""verified_moves checks moves in chunks (bounded memory) with the verdicts of one pass."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from iaptkit.sdc.solver import hypercube_moves
from iaptkit.sdc.solver.cells import CellSpace
from iaptkit.sdc.solver.hypercube_moves import verified_moves


def _space() -> CellSpace:
    """x0 + x1 = x2, x3 + x4 = x5, and x0 <= x3 (an inequality, as medians give)."""
    v = np.array([3, 12, 15, 8, 2, 10])
    rel = sparse.csr_matrix(np.array([[1, 1, -1, 0, 0, 0], [0, 0, 0, 1, 1, -1]], dtype=float))
    ineq = sparse.csr_matrix(np.array([[1, 0, 0, -1, 0, 0]], dtype=float))
    return CellSpace(v, rel, v * 1.0, v * 1.0, np.zeros(6), np.full(6, np.inf), v < 10,
                     np.zeros(6, bool), np.full(6, 10.0), v * 1.0, inequalities=ineq)  # fmt: skip


def _moves() -> tuple[list[tuple[np.ndarray, np.ndarray]], list[bool]]:
    i = np.array
    cases = [
        ((i([0, 1]), i([2.0, -2.0])), True),  # keeps x0 + x1, x0 = 5 <= 8
        ((i([0, 1]), i([6.0, -6.0])), False),  # x0 = 9 > x3 = 8: breaks the inequality
        ((i([0]), i([1.0])), False),  # breaks x0 + x1 = x2
        ((i([3, 4]), i([-3.0, 3.0])), True),  # x3 = 5 >= x0 = 3
        ((i([3, 4]), i([-6.0, 6.0])), False),  # x3 = 2 < x0 = 3
        ((i([0, 1]), i([-4.0, 4.0])), False),  # x0 = -1 below its bound 0
        ((i([0, 2, 3, 5]), i([4.0, 4.0, 4.0, 4.0])), True),  # x0 = 7 <= x3 = 12
    ]
    return [m for m, _ in cases], [ok for _, ok in cases]


@pytest.mark.parametrize("entries", [1, 2, 3, 4_000_000])
def test_chunks_give_the_verdicts_of_one_pass(
    entries: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    space = _space()
    moves, expected = _moves()
    lo, hi = space.attacker_bounds(np.ones(6, dtype=bool))
    monkeypatch.setattr(hypercube_moves, "_DENSE_ENTRIES", entries)
    assert verified_moves(space, moves, lo, hi).tolist() == expected
