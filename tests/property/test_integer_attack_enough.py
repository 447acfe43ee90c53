"""Property: the attacker's shortcut (``enough``) never changes a check's verdict.

On random two-way tables (rows, columns and their margins adding up, some cells suppressed,
published cells known exactly), :func:`iaptkit.sdc.integer_attack.integer_intervals` with a
width that is ``enough`` gives, for every target, either the exact interval (when that is
narrower than the width) or an interval at least that wide inside the exact one.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from iaptkit.sdc.integer_attack import integer_intervals


def _grid(values: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Cells of an r x c table with row, column and grand totals; ``A @ x == 0``."""
    r, c = values.shape
    cells = [*values.ravel(), *values.sum(axis=1), *values.sum(axis=0), values.sum()]
    n = len(cells)
    rows = []
    for i in range(r):  # row i: inner cells - row total
        row = np.zeros(n)
        row[i * c : (i + 1) * c] = 1.0
        row[r * c + i] = -1.0
        rows.append(row)
    for j in range(c):
        row = np.zeros(n)
        row[[i * c + j for i in range(r)]] = 1.0
        row[r * c + r + j] = -1.0
        rows.append(row)
    row = np.zeros(n)
    row[r * c : r * c + r] = 1.0
    row[-1] = -1.0
    rows.append(row)
    return sparse.csr_matrix(np.array(rows)), np.array(cells, dtype=float)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(st.integers(2, 4), st.integers(2, 4)),
    seed=st.integers(0, 10_000),
    width=st.integers(1, 12),
)
def test_enough_keeps_every_verdict(shape: tuple[int, int], seed: int, width: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 15, size=shape)
    rel, truth = _grid(values)
    n = truth.size
    hidden = rng.random(n) < 0.4
    lower = np.where(hidden, 0.0, truth)
    upper = np.where(hidden, np.inf, truth)
    need = np.full(n, float(width))
    lo, hi = integer_intervals(rel, None, lower, upper, hidden)
    lo_e, hi_e = integer_intervals(rel, None, lower, upper, hidden, enough=need)
    for i in np.flatnonzero(hidden):
        assert lo[i] <= truth[i] <= hi[i]
        if hi[i] - lo[i] < width:
            assert (lo_e[i], hi_e[i]) == (lo[i], hi[i])
        else:
            assert hi_e[i] - lo_e[i] >= width
            assert lo[i] <= lo_e[i]
            assert hi_e[i] <= hi[i]
