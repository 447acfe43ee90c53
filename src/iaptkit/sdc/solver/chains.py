"""Chain moves: a quick safe completion for cells a search had no time to protect.

On a grid with totals, a category together with every total above it (its *chain*) can move by
the same amount ``+t`` without changing any sum of its dimension. The product of one chain per
dimension through a cell (the cell, its margins and the grand total: ``2^k`` cells in a table of
``k`` dimensions with one level of totals) is therefore a move of the whole table: every one of
its cells goes up (or down) by ``t`` together. Once all of them are suppressed, the attacker
cannot rule out any such ``t`` within their a-priori bounds, so the cell's interval is as wide
as those bounds allow.

This is the costly, always-available protection that :mod:`iaptkit.sdc.secondary` uses when a
deadline stops the hypercube method before every cell is protected: the cells left get their
chains suppressed, instead of every cell of the table (the always-safe fallback). The points it
returns are proposals; the caller verifies them on the full relations
(:func:`iaptkit.sdc.solver.hypercube.proven_by_points`) and the audit decides.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from iaptkit.sdc.solver.cells import AxisMoves, CellSpace
from iaptkit.sdc.solver.hypercube_moves import Move, grid_locations

__all__ = ["chain_completion"]

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _chain(axis: AxisMoves, node: int) -> IntArray | None:
    """``node`` and every total above it on one axis (``None`` if the axis has no such chain)."""
    for row in axis.nodes[axis.chains]:
        nodes = row[row >= 0]
        hit = np.flatnonzero(nodes == node)
        if hit.size:
            return np.asarray(nodes[int(hit[0]) :], dtype=np.int64)
    return None


def chain_completion(
    space: CellSpace,
    mask: BoolArray,
    need: FloatArray,
    eligible: BoolArray,
    cells: npt.ArrayLike,
) -> tuple[BoolArray, list[Move]] | None:
    """Suppress the chain product through each of ``cells``; the points that protect them.

    Parameters
    ----------
    space
        The cell space (with ``grids``).
    mask
        ``bool`` ``(n,)``: the cells suppressed so far (not changed).
    need
        Required width per cell (:func:`iaptkit.sdc.solver.intervals.required_width`).
    eligible
        Cells that may be suppressed (not structural zeros).
    cells
        The suppressed cells to protect.

    Returns
    -------
    tuple or None
        The new mask (``mask`` plus every chain cell) and, per cell, the points moving its
        chain product up and down within the attacker's bounds (together at least its
        width); ``None`` when some cell lies on no grid, its chain product holds a cell that
        may not be suppressed, or the bounds leave less than its width.

    Notes
    -----
    Criterion: ``docs/disclosure-control.md`` ("The attacker"). Every chain cell is covered by
    the same move as its cell, by at least that cell's width (at least 1), so the new
    secondary cells are not exact either.

    Examples
    --------
    A 2 x 2 table with margins: the chain product of the small cell is its row total, its
    column total and the grand total.

    >>> import numpy as np
    >>> from scipy import sparse
    >>> from iaptkit.sdc.solver.hypercube import margins_grid
    >>> v = np.array([3, 20, 23, 30, 40, 70, 33, 60, 93])
    >>> rel = sparse.csr_matrix(np.array([
    ...     [1, 1, -1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, -1, 0, 0, 0],
    ...     [0, 0, 0, 0, 0, 0, 1, 1, -1], [1, 0, 0, 1, 0, 0, -1, 0, 0],
    ...     [0, 1, 0, 0, 1, 0, 0, -1, 0], [0, 0, 1, 0, 0, 1, 0, 0, -1]], dtype=float))
    >>> sp = CellSpace(v, rel, v * 1.0, v * 1.0, np.zeros(9), np.full(9, np.inf), v < 10,
    ...                np.zeros(9, bool), np.full(9, 10.0), v * 1.0, grids=(margins_grid((3, 3)),))
    >>> new, points = chain_completion(sp, sp.primary.copy(), np.full(9, 10.0),
    ...                                np.ones(9, bool), [0])
    >>> np.flatnonzero(new).tolist(), [p[1].tolist() for p in points]
    ([0, 2, 6, 8], [[10.0, 10.0, 10.0, 10.0]])
    """
    todo = np.asarray(cells, dtype=np.int64).ravel()
    new = np.asarray(mask, dtype=bool).copy()
    if todo.size == 0:
        return new, []
    if not space.grids:
        return None
    _, where = grid_locations(space)
    products: list[IntArray] = []
    for i in todo.tolist():
        found = None
        for gi, xy in where.get(i, []):
            grid = space.grids[gi]
            chains = [_chain(axis, int(xy[k])) for k, axis in enumerate(grid.axes)]
            if any(c is None for c in chains):
                continue
            corners = grid.index[np.ix_(*[c for c in chains if c is not None])].ravel()
            if bool(np.all(eligible[corners])):
                found = np.asarray(corners, dtype=np.int64)
                break
        if found is None:
            return None
        new[found] = True
        products.append(found)
    v = space.values.astype(np.float64)
    lo, hi = space.attacker_bounds(new)
    points: list[Move] = []
    for i, corners in zip(todo.tolist(), products, strict=True):
        w = float(need[i])
        room_up = float(np.min(hi[corners] - v[corners]))
        room_dn = float(np.min(v[corners] - lo[corners]))
        up = min(max(room_up, 0.0), w)
        down = min(max(room_dn, 0.0), w - up)
        if up + down < w - 1e-9:
            return None
        for amount in (up, -down):
            if amount:
                points.append((corners, np.full(corners.size, amount)))
    return new, points
