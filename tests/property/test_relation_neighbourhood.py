"""The level-at-a-time neighbourhood walk keeps exactly the cells of the plain walk.

The local LPs of the audit and of the modular search take the cells near a cell in the
relation graph, breadth first, up to a cap. The walk is done with array operations a level at a
time; at the cap, which cells are kept depends on the order of the walk, so it is compared here
with the plain one-cell-at-a-time walk on random sparse relation matrices, caps and orders.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from iaptkit.sdc.solver.neighbours import relation_neighbourhood


def _plain_walk(
    i: int,
    depth: int,
    cell_rows: sparse.csr_matrix,
    rows: sparse.csr_matrix,
    allowed: npt.NDArray[np.bool_],
    cap: int,
    first: npt.NDArray[np.bool_] | None,
) -> list[int]:
    """One cell, one row, one column at a time (the walk the local LPs were built on)."""
    seen = {i}
    frontier = [i]
    order = [i]
    for _ in range(depth):
        nxt: list[int] = []
        for c in frontier:
            for r in cell_rows.indices[cell_rows.indptr[c] : cell_rows.indptr[c + 1]]:
                cols = rows.indices[rows.indptr[r] : rows.indptr[r + 1]]
                cols = cols[allowed[cols]]
                if first is not None:
                    cols = cols[np.argsort(~first[cols], kind="stable")]
                for j in cols.tolist():
                    if j not in seen:
                        seen.add(j)
                        nxt.append(j)
                        order.append(j)
                        if len(order) >= cap:
                            return sorted(order)
        frontier = nxt
        if not frontier:
            break
    return sorted(order)


@settings(max_examples=300, deadline=None)
@given(
    n_cells=st.integers(2, 40),
    n_rows=st.integers(1, 25),
    density=st.floats(0.02, 0.4),
    depth=st.integers(1, 4),
    cap=st.integers(2, 45),
    seed=st.integers(0, 2**31 - 1),
    use_first=st.booleans(),
)
def test_the_walk_keeps_the_cells_of_the_plain_walk(
    n_cells: int, n_rows: int, density: float, depth: int, cap: int, seed: int, use_first: bool
) -> None:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_rows, n_cells)) < density) * rng.choice([-1.0, 1.0], (n_rows, n_cells))
    rows = sparse.csr_matrix(dense)
    cell_rows = sparse.csr_matrix(rows.T)
    allowed = rng.random(n_cells) < 0.8
    first = rng.random(n_cells) < 0.4 if use_first else None
    i = int(rng.integers(n_cells))
    got = relation_neighbourhood(i, depth, cell_rows, rows, allowed, cap, first=first)
    want = _plain_walk(i, depth, cell_rows, rows, allowed, cap, first)
    assert got.tolist() == want
    assert got.size <= cap
    assert i in got.tolist()
