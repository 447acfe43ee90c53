"""Capped hypercube candidates: the few best partners per axis instead of every hypercube.

Through a cell of a table with ``d`` dimensions there are ``prod(m_k)`` hypercubes (``m_k`` moves
of axis ``k`` through the cell's node): on a 5-D national table (120 providers x 7 age bands x 3
genders x 5 ethnic groups x 8 months) that is about 100,000 hypercubes of 32 corners for every
cell, so listing them all takes most of a second per cell and the hypercube pass hours.
:func:`capped_through` keeps, on each axis, only the moves whose corners on the line through the
cell (the cell's own row, column, ...) score best, e.g. cost nothing because they are suppressed
already, and forms the hypercubes of those: at most about :data:`KEEP_CORNERS` corners per
cell. The moves are picked from the line's cells by one sort per axis, never by listing the
hypercubes.

Capping only removes candidates: every hypercube kept is still a true hypercube of the grid,
each point built from it is still verified on the full relations
(:func:`iaptkit.sdc.solver.hypercube_moves.verified_moves`), and whatever the capped moves do
not prove is left to the linear programs of the attacker pass and of the audit
(``docs/disclosure-control.md``, "The attacker"). So the cap can cost proofs (more LPs, or more
secondary cells), never safety. Cells with at most :data:`CAP_ABOVE` corners of hypercubes
through them (every cell of a 4-D table of 8,000 cells) keep all their hypercubes.
"""

from __future__ import annotations

import math

import numpy as np

from iaptkit.sdc.solver.hypercube_moves import (
    Block,
    FloatArray,
    GridView,
    IntArray,
    Locations,
)

__all__ = ["CAP_ABOVE", "KEEP_CORNERS", "axis_budget", "capped_through", "room_score"]

#: Cells whose hypercubes have more corners than this in all get capped candidates.
CAP_ABOVE = 1 << 17
#: Corners kept per cell (over its capped hypercubes) when capped.
KEEP_CORNERS = 1 << 13


def axis_budget(sizes: list[int], hypercubes: float) -> list[int]:
    """Moves to keep per axis so that their product stays within ``hypercubes``.

    Axes with few moves keep all of them and leave their share to the others.

    Parameters
    ----------
    sizes
        Moves through the cell's node on each axis.
    hypercubes
        Hypercubes allowed (at least 1 move per axis is always kept).

    Returns
    -------
    list of int
        Moves kept per axis (each between 1 and its size).

    Examples
    --------
    >>> axis_budget([120, 7, 3, 5, 8], 256)
    [3, 3, 3, 3, 3]
    >>> axis_budget([120, 2, 2], 40)
    [10, 2, 2]
    """
    keep = [0] * len(sizes)
    left = max(float(hypercubes), 1.0)
    order = sorted(range(len(sizes)), key=lambda k: (sizes[k], k))
    for done, k in enumerate(order):
        share = left ** (1.0 / (len(sizes) - done))
        keep[k] = max(1, min(sizes[k], math.floor(share + 1e-9)))
        left /= keep[k]
    return keep


def room_score(suppressed: np.ndarray, up: FloatArray, dn: FloatArray) -> FloatArray:
    """Score of each cell as a hypercube corner for proofs: suppressed 0, else less with room.

    Parameters
    ----------
    suppressed
        ``bool`` ``(n,)``: the pattern.
    up, dn
        ``(n + 1,)`` rooms (:func:`iaptkit.sdc.solver.hypercube_moves.rooms`).

    Returns
    -------
    numpy.ndarray
        ``float64`` ``(n + 1,)``: 0 for suppressed cells and the sentinel, else
        ``1 / (1 + max(up, down))`` (a published cell with a wide rounding range first).

    Examples
    --------
    >>> import numpy as np
    >>> room_score(np.array([True, False]), np.array([9.0, 2.0, np.inf]),
    ...            np.array([3.0, 2.0, np.inf])).tolist()
    [0.0, 0.3333333333333333, 0.0]
    """
    n = suppressed.shape[0]
    score = 1.0 / (1.0 + np.maximum(up[:n], dn[:n]))
    out: FloatArray = np.append(np.where(suppressed, 0.0, score), 0.0)
    return out


def capped_through(
    views: list[GridView],
    where: Locations,
    i: int,
    score: FloatArray,
    *,
    cap_above: int = CAP_ABOVE,
    keep: int = KEEP_CORNERS,
) -> list[Block]:
    """Hypercubes through cell ``i``: all of them, or the best few per axis on big grids.

    Parameters
    ----------
    views, where
        From :func:`iaptkit.sdc.solver.hypercube_moves.grid_locations`.
    i
        The cell.
    score
        ``float64`` ``(n + 1,)``: how bad each cell is as a corner (e.g. the cost of
        suppressing it, 0 when suppressed already; the sentinel ``n`` scores 0). An axis move
        scores the sum over its corners on the line through ``i``, ``i`` itself left out.
    cap_above
        Cells whose hypercubes have at most this many corners in all keep every hypercube.
    keep
        Corners kept per grid location when capped (:func:`axis_budget`).

    Returns
    -------
    list of Block
        As :func:`iaptkit.sdc.solver.hypercube_moves.hypercubes_through` (cell ``i`` at sign
        ``+1``), a subset of them when capped: on each axis the best-scoring moves (ties: the
        first move).

    Examples
    --------
    A 3 x 3 table with margins (cells 0-3 inner, 4 and 5 totals of the rows...): keeping one
    move per axis gives one hypercube, the one through the cheapest partners.

    >>> import numpy as np
    >>> from scipy import sparse
    >>> from iaptkit.sdc.solver.cells import CellSpace
    >>> from iaptkit.sdc.solver.hypercube import margins_grid
    >>> from iaptkit.sdc.solver.hypercube_moves import grid_locations
    >>> g = margins_grid((4, 4))
    >>> v = np.arange(16)
    >>> sp = CellSpace(v, sparse.csr_matrix((0, 16)), v * 1.0, v * 1.0, np.zeros(16),
    ...                np.full(16, np.inf), v < 1, np.zeros(16, bool), np.full(16, 1.0),
    ...                v * 1.0, grids=(g,))
    >>> views, where = grid_locations(sp)
    >>> score = np.append(np.where(np.isin(v, [2, 8]), 0.0, 5.0), 0.0)
    >>> [c.shape for c, _ in capped_through(views, where, 0, score)]
    [(9, 4)]
    >>> blocks = capped_through(views, where, 0, score, cap_above=0, keep=4)
    >>> sorted(blocks[0][0][0].tolist())
    [0, 2, 8, 10]
    """
    out: list[Block] = []
    for gi, coords in where.get(i, []):
        view = views[gi]
        parts = [view.through[k][int(x)] for k, x in enumerate(coords)]
        sizes = [int(p[0].shape[0]) for p in parts]
        corners = math.prod(int(p[0].shape[1]) for p in parts)
        if math.prod(sizes) * corners <= cap_above:
            out.extend(view.candidates(coords))
            continue
        budget = axis_budget(sizes, keep / max(corners, 1))
        rows: list[IntArray | None] = []
        for k, (nodes, _signs) in enumerate(parts):
            if budget[k] >= sizes[k]:
                rows.append(None)
                continue
            index: list[int | slice] = [int(x) for x in coords]
            index[k] = slice(None)
            line = view.padded[tuple(index)]
            own = nodes == int(coords[k])
            row_score = np.where(own, 0.0, score[line[nodes]]).sum(axis=1)
            order = np.lexsort((np.arange(nodes.shape[0]), row_score))[: budget[k]]
            rows.append(np.sort(order).astype(np.int64))
        out.extend(view.candidates(coords, rows))
    return out
