"""Hypercube moves: fast audit proofs and secondary suppression for tables laid out on a grid.

In a table with totals, moving ``+t`` on some cells and ``-t`` on others keeps every sum when
the moved cells are the corners of a *hypercube*: along each dimension either two categories
(``+1``/``-1``: their total does not change) or a category and its total (``+1``/``+1``), or
more generally one row of :class:`~iaptkit.sdc.solver.cells.AxisMoves` per dimension (a path up
and down a hierarchy). ``v + t d`` stays inside the attacker's knowledge of
``docs/disclosure-control.md`` ("The attacker") while every corner stays within its
bounds (a suppressed corner in ``[0, inf)``, a published one within its rounding interval), so
each such point is feasible and the range of ``x_i`` over them is an **inner** bound of the
attacker's interval for cell ``i``: if it is at least the required width, the cell is proven
protected without solving a linear program. Every move used is checked on the space's full
relations and inequalities (so a grid that does not describe the space only loses proofs, it
never gives a wrong one).

* :func:`hypercube_bounds` proves suppressed cells for the audit
  (:func:`iaptkit.sdc.attack.attack` in sufficient mode).
* :mod:`iaptkit.sdc.solver.hypercube_select` chooses secondary suppressions with the same moves, the
  way tau-Argus' hypercube method (GHMITER; Repsilber, 1994; Giessing, 2004) does.

Both use the moves of :mod:`iaptkit.sdc.solver.hypercube_moves`, vectorised over the hypercubes
through one cell (``prod(m_k)`` candidates of ``prod(L_k)`` corners).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from iaptkit.sdc.solver.cells import AxisMoves, CellGrid, CellSpace
from iaptkit.sdc.solver.hypercube_cap import (
    CAP_ABOVE,
    KEEP_CORNERS,
    capped_through,
    room_score,
)
from iaptkit.sdc.solver.hypercube_moves import (
    BoolArray,
    FloatArray,
    IntArray,
    Move,
    as_move,
    grid_locations,
    push,
    rooms,
    verified_moves,
)

__all__ = [
    "Move",
    "axis_moves",
    "hypercube_bounds",
    "margins_grid",
    "points_range",
    "proven_by_points",
]


def axis_moves(n_nodes: int, children: Mapping[int, Sequence[int]]) -> AxisMoves:
    """The elementary moves of one dimension from its ``total -> parts`` structure.

    Parameters
    ----------
    n_nodes
        Number of nodes (categories and totals) of the dimension.
    children
        For each total node, its direct parts (node positions). Empty: the dimension has no
        totals, so any single node may move alone.

    Returns
    -------
    AxisMoves
        For every leaf ``a``: the chain ``a`` + all its totals (``+1`` each); for every pair of
        leaves ``a < b`` (when there are totals): the chain of ``a`` minus the chain of ``b``
        (shared totals cancel).

    Notes
    -----
    Each row ``u`` satisfies every relation of the dimension (``total = sum of parts``), so the
    outer product of one row per dimension keeps every relation of the table
    (``docs/disclosure-control.md``: the attacker knows all totals and subtotals).

    Examples
    --------
    Two categories and their total (node 2):

    >>> m = axis_moves(3, {2: [0, 1]})
    >>> m.nodes.tolist(), m.signs.tolist()
    ([[0, 2], [1, 2], [0, 1]], [[1, 1], [1, 1], [1, -1]])
    """
    parent: dict[int, int] = {}
    for p, kids in children.items():
        for c in kids:
            parent[int(c)] = int(p)
    leaves = [x for x in range(n_nodes) if x not in children]

    def chain(a: int) -> list[int]:
        out = [a]
        while out[-1] in parent:
            out.append(parent[out[-1]])
        return out

    rows: list[list[tuple[int, int]]] = [[(x, 1) for x in chain(a)] for a in leaves]
    if children:
        for ia, a in enumerate(leaves):
            ca = chain(a)
            for b in leaves[ia + 1 :]:
                cb = chain(b)
                common = set(ca) & set(cb)
                rows.append(
                    [(x, 1) for x in ca if x not in common]
                    + [(x, -1) for x in cb if x not in common]
                )
    width = max((len(r) for r in rows), default=1)
    nodes = np.full((len(rows), width), -1, dtype=np.int64)
    signs = np.zeros((len(rows), width), dtype=np.int8)
    for k, r in enumerate(rows):
        nodes[k, : len(r)] = [x for x, _ in r]
        signs[k, : len(r)] = [s for _, s in r]
    return AxisMoves(nodes=nodes, signs=signs)


def margins_grid(shape: Sequence[int], index: IntArray | None = None) -> CellGrid:
    """The grid of a table with all marginal totals, the total last on each axis.

    Parameters
    ----------
    shape
        Nodes per dimension (categories + 1 for the total).
    index
        Cell index of each node combination (default: C order, ``arange``).

    Returns
    -------
    CellGrid

    Examples
    --------
    >>> g = margins_grid((3, 2))
    >>> g.index.tolist(), [a.nodes.shape for a in g.axes]
    ([[0, 1], [2, 3], [4, 5]], [(3, 2), (1, 2)])
    """
    shape = tuple(int(s) for s in shape)
    if index is None:
        index = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    axes = tuple(axis_moves(s, {s - 1: list(range(s - 1))}) for s in shape)
    return CellGrid(index=np.asarray(index, dtype=np.int64), axes=axes)


def hypercube_bounds(
    space: CellSpace,
    suppressed: BoolArray,
    targets: npt.NDArray[np.intp],
    need: FloatArray | None = None,
    *,
    max_steps: int = 12,
    progress: Callable[[str, int, int], None] | None = None,
    cap_above: int = CAP_ABOVE,
    keep: int = KEEP_CORNERS,
) -> tuple[FloatArray, FloatArray]:
    """Inner bounds of the attacker's interval for ``targets`` from verified hypercube moves.

    Parameters
    ----------
    space
        The cell space (its ``grids`` give the hypercubes; none: nothing is proven).
    suppressed
        ``bool`` ``(n,)``: cells shown as ``*``.
    targets
        The suppressed cells to bound.
    need
        Width to reach per cell (default: unlimited, i.e. as far as ``max_steps`` moves go);
        the search stops once a cell's bounds are that far apart.
    max_steps
        Hypercube moves combined per direction.
    progress
        Optional callback ``("audit", done, total)`` per target (it may raise to stop).
    cap_above, keep
        Big grids: a cell with more hypercube corners through it than ``cap_above`` gets the
        moves per axis whose corners on its lines are suppressed or have the most rounding
        room, about ``keep`` corners (:func:`iaptkit.sdc.solver.hypercube_cap.capped_through`).
        Fewer candidates can only prove fewer cells (left to the LPs), never a wrong bound.

    Returns
    -------
    lower, upper
        ``float64`` ``(n,)``: for each target, the lowest and the highest value of the cell
        over two verified feasible points (other cells keep their true value), so the
        attacker's interval contains ``[lower, upper]``.

    Notes
    -----
    Attacker model: ``docs/disclosure-control.md``, "The attacker". The downward
    point is found first (whole-number moves of the hypercube through the cell that can go
    furthest, then the next one from there, as in augmenting paths of a network flow), then
    the upward point for the remaining width. Each point is checked on the full relations,
    inequalities and bounds; an unverified point proves nothing.

    Examples
    --------
    A 2 x 2 table with margins, its four inner cells suppressed (exact knowledge elsewhere):
    the rectangle moves cell 0 from 0 up to 3 + 20.

    >>> import numpy as np
    >>> from iaptkit.sdc.solver.cells import CellSpace
    >>> g = margins_grid((3, 3))
    >>> v = np.array([3, 20, 23, 30, 40, 70, 33, 60, 93])
    >>> from scipy import sparse
    >>> rel = sparse.csr_matrix(np.array([
    ...     [1, 1, -1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, -1, 0, 0, 0],
    ...     [0, 0, 0, 0, 0, 0, 1, 1, -1], [1, 0, 0, 1, 0, 0, -1, 0, 0],
    ...     [0, 1, 0, 0, 1, 0, 0, -1, 0], [0, 0, 1, 0, 0, 1, 0, 0, -1]], dtype=float))
    >>> sp = CellSpace(v, rel, v * 1.0, v * 1.0, np.zeros(9), np.full(9, np.inf), v < 10,
    ...                np.zeros(9, bool), np.full(9, 10.0), v * 1.0, grids=(g,))
    >>> sup = np.isin(np.arange(9), [0, 1, 3, 4])
    >>> lo, hi = hypercube_bounds(sp, sup, np.array([0]))
    >>> float(lo[0]), float(hi[0])
    (0.0, 23.0)
    """
    v = space.values.astype(np.float64)
    lower, upper = v.copy(), v.copy()
    if not space.grids or len(targets) == 0:
        return lower, upper
    suppressed = np.asarray(suppressed, dtype=bool)
    lo, hi = space.attacker_bounds(suppressed)
    up, dn = rooms(space, lo, hi)
    score = room_score(suppressed, up, dn)
    views, where = grid_locations(space)
    goal = np.full(v.shape[0], np.inf) if need is None else np.asarray(need, dtype=np.float64)
    points: list[Move] = []
    seen_lo, seen_hi = v.copy(), v.copy()
    # second round, for cells still short: upward point first (greedy moves depend on order)
    tlist = np.asarray(targets, dtype=np.int64).tolist()
    for down_first in (True, False):
        for k, i in enumerate(tlist):
            if progress is not None:
                progress("audit", k, len(tlist))
            if seen_hi[i] - seen_lo[i] >= goal[i] - 1e-9:
                continue  # points found for earlier cells already move this one far enough
            blocks = capped_through(views, where, i, score, cap_above=cap_above, keep=keep)
            for direction in (-1.0, 1.0) if down_first else (1.0, -1.0):
                have = seen_hi[i] - seen_lo[i]
                if have >= goal[i] - 1e-9:
                    break
                reach = seen_hi[i] - v[i] if direction < 0 else v[i] - seen_lo[i]
                fwd, back = (dn, up) if direction < 0 else (up, dn)
                steps = max_steps if down_first else 4 * max_steps
                moved, delta = push(blocks, fwd, back, goal[i] - reach, steps)
                if moved > 0:
                    cells, disp = as_move(delta, direction)
                    points.append((cells, disp))
                    np.minimum.at(seen_lo, cells, v[cells] + disp)
                    np.maximum.at(seen_hi, cells, v[cells] + disp)
    ok = verified_moves(space, points, lo, hi)
    for (cells, disp), good in zip(points, ok, strict=True):
        if good:
            np.minimum.at(lower, cells, v[cells] + disp)
            np.maximum.at(upper, cells, v[cells] + disp)
    return lower, upper


def proven_by_points(
    space: CellSpace, suppressed: BoolArray, need: FloatArray, points: list[Move]
) -> BoolArray:
    """Suppressed cells shown protected by verified points (``v + displacement``).

    Parameters
    ----------
    space, suppressed
        The cell space and the suppression pattern.
    need
        Required width per cell.
    points
        Candidate points as ``(cells, displacement)``; each is checked on the full relations,
        inequalities and the bounds of ``suppressed`` before it counts.

    Returns
    -------
    numpy.ndarray
        ``bool`` ``(n,)``: suppressed cells whose range over the verified points (the truth
        included) is at least ``need``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from iaptkit.sdc.solver.cells import CellSpace
    >>> v = np.array([3, 12, 15])
    >>> sp = CellSpace(v, sparse.csr_matrix([[1.0, 1.0, -1.0]]), v * 1.0, v * 1.0,
    ...                np.zeros(3), np.full(3, np.inf), v < 10, np.zeros(3, bool),
    ...                np.full(3, 10.0), v * 1.0)
    >>> sup = np.array([True, True, False])
    >>> move = (np.array([0, 1]), np.array([9.0, -9.0]))
    >>> proven_by_points(sp, sup, np.array([10.0, 1.0, 1.0]), [move]).tolist()
    [False, True, False]
    >>> down = (np.array([0, 1]), np.array([-3.0, 3.0]))
    >>> proven_by_points(sp, sup, np.array([10.0, 1.0, 1.0]), [move, down]).tolist()
    [True, True, False]
    """
    low, high = points_range(space, suppressed, points)
    out: BoolArray = np.asarray(suppressed, dtype=bool) & (high - low >= need - 1e-9)
    return out


def points_range(
    space: CellSpace, suppressed: BoolArray, points: list[Move]
) -> tuple[FloatArray, FloatArray]:
    """The range of every cell over the truth and the verified ones of ``points``.

    Parameters
    ----------
    space, suppressed
        The cell space and the suppression pattern.
    points
        Candidate points ``(cells, displacement)``, from anywhere (a search, an earlier
        audit): each is checked with :func:`verified_moves` on the full relations,
        inequalities and the bounds of ``suppressed``, and counts only if it holds.

    Returns
    -------
    low, high
        ``float64`` ``(n,)``: per cell the lowest and highest value over the verified points
        (and the true table), an inner bound of the attacker's interval.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from iaptkit.sdc.solver.cells import CellSpace
    >>> v = np.array([3, 12, 15])
    >>> sp = CellSpace(v, sparse.csr_matrix([[1.0, 1.0, -1.0]]), v * 1.0, v * 1.0,
    ...                np.zeros(3), np.full(3, np.inf), v < 10, np.zeros(3, bool),
    ...                np.full(3, 10.0), v * 1.0)
    >>> sup = np.array([True, True, False])
    >>> ok, bad = (np.array([0, 1]), np.array([9.0, -9.0])), (np.array([0]), np.array([5.0]))
    >>> low, high = points_range(sp, sup, [ok, bad])
    >>> low.tolist(), high.tolist()
    ([3.0, 3.0, 15.0], [12.0, 12.0, 15.0])
    """
    v = space.values.astype(np.float64)
    lo, hi = space.attacker_bounds(np.asarray(suppressed, dtype=bool))
    ok = verified_moves(space, points, lo, hi)
    low, high = v.copy(), v.copy()
    for (cells, disp), good in zip(points, ok, strict=True):
        if good:
            np.minimum.at(low, cells, v[cells] + disp)
            np.maximum.at(high, cells, v[cells] + disp)
    return low, high
