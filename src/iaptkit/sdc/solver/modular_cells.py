"""The cells of one modular LP: the subtables through a primary, or its nearby cells.

Used by :class:`iaptkit.sdc.solver.modular.ModularSearch` to choose the cells its local
linear program may move (``docs/disclosure-control.md``, "Secondary suppression methods").
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import sparse

from iaptkit.sdc.solver.hypercube_moves import GridView
from iaptkit.sdc.solver.neighbours import relation_neighbourhood

__all__ = ["nearby_cells", "subgrid_cells"]

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def subgrid_cells(
    view: GridView,
    index: npt.NDArray[np.int64],
    xy: npt.NDArray[np.int64],
    mask: BoolArray,
    cost: FloatArray,
    movable: BoolArray,
    cap: int,
) -> IntArray:
    """A product of node sets through the cell at ``xy``: its chains to the totals and partners.

    Per axis, the hypercube rows through the cell's node (:class:`GridView`) are its chain to
    the totals (signs all ``+1``) and its pairs with other categories; partners are ranked by
    the cost of the cell they give on the cell's line (suppressed: free), and as many are
    taken, round robin over the axes, as keep the product within ``cap`` cells.

    Parameters
    ----------
    view, index
        The grid prepared for lookups, and its cell index (one axis per dimension).
    xy
        The cell's node on each axis.
    mask, cost, movable
        Per cell: suppressed so far, cost of suppressing, whether it can move at all.
    cap
        Cells at most in the product (the chains are always kept).

    Returns
    -------
    numpy.ndarray
        The cells of the product.
    """
    ndim = index.ndim
    base: list[set[int]] = []
    ranked: list[list[list[int]]] = []
    for k in range(ndim):
        n_nodes = index.shape[k]
        nodes, signs = view.through[k][int(xy[k])]
        keep = {int(xy[k])}
        options: list[tuple[float, int, list[int]]] = []
        for r in range(nodes.shape[0]):
            row = [int(x) for x in nodes[r] if x < n_nodes]
            if (signs[r][nodes[r] < n_nodes] > 0).all():
                keep.update(row)
                continue
            neg = [int(x) for x, sg in zip(nodes[r], signs[r], strict=True) if sg < 0]
            score = 0.0
            for x in neg:
                pos = [int(c) for c in xy]
                pos[k] = x
                c = int(index[tuple(pos)])
                if mask[c]:
                    continue
                score += cost[c] if movable[c] else np.inf
            options.append((score, r, row))
        options.sort()
        base.append(keep)
        ranked.append([row for score, _, row in options if np.isfinite(score)])
    chosen = [set(b) for b in base]
    taken = [0] * ndim
    grew = True
    while grew:
        grew = False
        for k in range(ndim):
            if taken[k] >= len(ranked[k]):
                continue
            trial = chosen[k] | set(ranked[k][taken[k]])
            size = len(trial) * int(np.prod([len(c) for q, c in enumerate(chosen) if q != k]))
            if size > cap:
                continue
            chosen[k] = trial
            taken[k] += 1
            grew = True
    sub = index[np.ix_(*[np.array(sorted(c), dtype=np.intp) for c in chosen])]
    return np.asarray(sub.reshape(-1), dtype=np.intp)


def nearby_cells(
    rows: sparse.csr_matrix,
    cell_rows: sparse.csr_matrix,
    movable: BoolArray,
    i: int,
    depth: int,
    cap: int,
) -> IntArray:
    """Cells within ``depth`` relation steps of ``i`` (at most ``cap``), sorted.

    Parameters
    ----------
    rows, cell_rows
        The relations (and inequalities) by row, and their transpose (rows of each cell).
    movable
        Cells that can move at all (others are not taken).
    i
        The cell.
    depth, cap
        Relation steps, and cells at most.

    Returns
    -------
    numpy.ndarray
        The cells, ``i`` included.
    """
    return relation_neighbourhood(i, depth, cell_rows, rows, movable, cap)
