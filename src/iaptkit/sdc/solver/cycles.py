"""Fast, sound *inner* bounds for the attacker audit: feasible moves in small neighbourhoods.

The attacker's feasible set ``{x : A x = 0, G x <= 0, lo <= x <= hi}`` of
``docs/disclosure-control.md`` ("The attacker") contains the true table ``v``. Any
direction ``d`` with ``A d = 0`` that keeps ``G (v + t d) <= 0`` and the cells' bounds for
``t`` in ``[t_lo, t_hi]`` gives feasible points ``v + t d``; the classical example is the
hypercube (a rectangle in 2-D, a 2x2x2 cube in 3-D: ``+1``/``-1`` on the corners, each relation
row meets two corners of opposite sign). Every feasible point lies inside the attacker's
polyhedron, so for a cell ``i`` the range of ``x_i`` over any set of feasible points (their
convex hull is feasible too) is an **inner** bound of the attacker's interval: if that range is
already at least the required width, the cell is proven protected without a full LP.

This module finds such moves generically (margins, hierarchies, linked tables, inequalities):
for a suppressed cell ``i`` it takes a small neighbourhood ``S`` of free cells around ``i`` in
the cell-relation graph (breadth first, capped), fixes every other cell at its true value and
solves the *local* LP ``min/max x_i`` over ``S`` (a few dozen or hundred variables instead of
the whole table). Any hypercube or alternating cycle inside ``S`` is one of its feasible
moves. Each optimum ``x`` is verified on the full sparse matrices (``|A x| <= 1e-7``,
``G x <= 1e-7``, bounds) before it is used, and then serves every cell of ``S``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

from iaptkit.sdc.solver.cells import CellSpace
from iaptkit.sdc.solver.hypercube_moves import Move
from iaptkit.sdc.solver.intervals import proven
from iaptkit.sdc.solver.lp import IntervalLP, new_highs
from iaptkit.sdc.solver.neighbours import relation_neighbourhood

__all__ = ["InnerBounds", "inner_bounds"]

_FEAS_TOL = 1e-7
_DEPTHS = (2, 3)


@dataclass
class InnerBounds:
    """Range of each cell over verified feasible points (the truth included).

    ``lower``/``upper``: ``float64`` ``(n,)``, the per-cell minimum and maximum over the
    feasible points found (each is an inner bound of the attacker's interval). ``proven``:
    suppressed cells whose range is already at least the required width. ``n_lp``: local
    LPs solved.
    """

    lower: npt.NDArray[np.float64]
    upper: npt.NDArray[np.float64]
    proven: npt.NDArray[np.bool_]
    n_lp: int = 0


def _verified(
    x_s: npt.NDArray[np.float64],
    s: npt.NDArray[np.intp],
    values: npt.NDArray[np.float64],
    a_cols: sparse.csr_matrix,
    g_cols: sparse.csr_matrix | None,
    g_slack: npt.NDArray[np.float64] | None,
    lo: npt.NDArray[np.float64],
    hi: npt.NDArray[np.float64],
) -> bool:
    """``v`` with ``x_s`` on ``s`` satisfies relations, inequalities and bounds (tolerance)."""
    delta = x_s - values[s]
    if np.any(x_s < lo[s] - 1e-9) or np.any(x_s > hi[s] + 1e-9):
        return False
    if np.abs(a_cols @ delta).max(initial=0.0) > _FEAS_TOL:
        return False
    # G (v + delta) = G v + G delta <= 0
    return not (
        g_cols is not None and g_slack is not None and np.any(g_cols @ delta + g_slack > _FEAS_TOL)
    )


def inner_bounds(
    space: CellSpace,
    suppressed: npt.NDArray[np.bool_],
    targets: npt.NDArray[np.intp],
    need: npt.NDArray[np.float64],
    *,
    cap: int = 600,
    depths: tuple[int, ...] = _DEPTHS,
    give_up: tuple[int, float] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    points: list[Move] | None = None,
) -> InnerBounds:
    """Prove suppressed cells protected from feasible points found by small local LPs.

    Parameters
    ----------
    space, suppressed
        The cell space and the suppression pattern (as for :func:`iaptkit.sdc.audit.audit`).
    targets
        Indices of the suppressed cells to try to prove.
    need
        Required width per cell (:func:`iaptkit.sdc.solver.intervals.required_width`).
    cap
        Largest neighbourhood (cells) of one local LP.
    depths
        Neighbourhood radii tried in turn (relation steps) until the cell is proven.
    give_up
        Optional ``(k, rate)``: after ``k`` targets, stop trying (leave the rest unproven)
        when fewer than ``rate`` of them were proven - the moves do not pay off here.
    progress
        Optional callback ``("audit", done, total)`` per target (it may raise to stop).
    points
        Optional list that receives every verified point found, as ``(cells,
        displacement)`` (e.g. for a later audit's hints).

    Returns
    -------
    InnerBounds
        ``lower``/``upper`` are sound inner bounds: the attacker's interval of every cell
        contains ``[lower, upper]`` (up to the simplex's ``1e-7`` feasibility tolerance).

    Notes
    -----
    Attacker model: ``docs/disclosure-control.md``, "The attacker". Every point
    used is checked on the full relations, inequalities and bounds; a move along a hypercube
    of suppressed cells (the classical cycle argument of Cox, 1980, for 2-D tables) is one
    of the points the local LP can reach.

    Examples
    --------
    A 2 x 2 table with margins, all four inner cells suppressed: the rectangle moves them.

    >>> import numpy as np
    >>> from scipy import sparse
    >>> from iaptkit.sdc.solver.cells import CellSpace
    >>> v = np.array([3, 20, 23, 30, 40, 70, 33, 60, 93])
    >>> rel = sparse.csr_matrix(np.array([
    ...     [1, 1, -1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, -1, 0, 0, 0],
    ...     [0, 0, 0, 0, 0, 0, 1, 1, -1], [1, 0, 0, 1, 0, 0, -1, 0, 0],
    ...     [0, 1, 0, 0, 1, 0, 0, -1, 0], [0, 0, 1, 0, 0, 1, 0, 0, -1]], dtype=float))
    >>> sp = CellSpace(v, rel, v * 1.0, v * 1.0, np.zeros(9), np.full(9, np.inf), v < 10,
    ...                np.zeros(9, bool), np.full(9, 10.0), v * 1.0)
    >>> sup = np.isin(np.arange(9), [0, 1, 3, 4])
    >>> res = inner_bounds(sp, sup, np.array([0]), np.full(9, 10.0))
    >>> bool(res.proven[0]), float(res.upper[0])
    (True, 23.0)
    """
    n = space.n_cells
    suppressed = np.asarray(suppressed, dtype=bool)
    lo, hi = space.attacker_bounds(suppressed)
    values = space.values.astype(np.float64)
    free = lo < hi
    a = sparse.csr_matrix(space.relations, dtype=np.float64)
    g = None if space.inequalities is None else sparse.csr_matrix(space.inequalities)
    n_eq = a.shape[0]
    rows = a if g is None else sparse.vstack([a, g], format="csr")
    rows_csc = rows.tocsc()
    cell_rows = sparse.csr_matrix(rows.T)
    g_val = None if g is None else np.asarray(g @ values, dtype=np.float64)
    out = InnerBounds(lower=values.copy(), upper=values.copy(), proven=np.zeros(n, dtype=bool))
    n_tried = n_ok = 0
    highs = new_highs()  # one solver for every local LP (each replaces the last model)
    for k_t, i_np in enumerate(targets):
        i = int(i_np)
        if progress is not None:
            progress("audit", k_t, len(targets))
        if give_up is not None and n_tried == give_up[0] and n_ok < give_up[1] * n_tried:
            break
        if not free[i]:
            continue
        n_tried += 1
        for depth in depths:
            if proven(out.lower[i], out.upper[i], need[i]):
                break
            s = relation_neighbourhood(i, depth, cell_rows, rows, free, cap, first=suppressed)
            if s.size < 2:
                continue
            sub = rows_csc[:, s].tocsr()
            r_all = np.flatnonzero(np.diff(sub.indptr) > 0)
            r_eq = r_all[r_all < n_eq]
            r_ub = r_all[r_all >= n_eq]
            a_s = sub[r_eq]
            g_s = sub[r_ub] if r_ub.size else None
            g_slack = None if g_val is None or g_s is None else g_val[r_ub - n_eq]
            # delta variables: A_S delta = 0, G_S delta <= -G v, lo - v <= delta <= hi - v
            lp = IntervalLP(
                a_s,
                np.zeros(r_eq.size),
                g_s,
                None if g_slack is None else -g_slack,
                lo[s] - values[s],
                hi[s] - values[s],
                highs=highs,
            )
            j = int(np.searchsorted(s, i))
            for maximise in (True, False):
                if proven(out.lower[i], out.upper[i], need[i]):
                    break
                if maximise:
                    target = float(out.lower[i] + need[i] - values[i])
                else:
                    target = float(out.upper[i] - need[i] - values[i])
                try:
                    res = lp.optimise(j, maximise=maximise, target=target)
                except RuntimeError:
                    break
                if res.x is None:
                    # the local LP is unbounded: so is the attacker's (a ray of feasible points)
                    if maximise and res.value == np.inf:
                        out.upper[i] = np.inf
                    elif not maximise and res.value == -np.inf:
                        out.lower[i] = -np.inf
                    continue
                x_s = values[s] + res.x
                x_s = np.clip(x_s, lo[s], hi[s])
                if not _verified(x_s, s, values, a_s, g_s, g_slack, lo, hi):
                    continue
                np.minimum.at(out.lower, s, x_s)
                np.maximum.at(out.upper, s, x_s)
                if points is not None:
                    moved = np.abs(x_s - values[s]) > 1e-9
                    points.append((s[moved].astype(np.intp), (x_s - values[s])[moved]))
            out.n_lp += lp.n_solves
        n_ok += int(proven(out.lower[i], out.upper[i], need[i]))
    sup_t = np.zeros(n, dtype=bool)
    sup_t[np.asarray(targets, dtype=np.intp)] = True
    sup_t &= suppressed
    for i_np in np.flatnonzero(sup_t):
        i = int(i_np)
        out.proven[i] = bool(free[i] and proven(out.lower[i], out.upper[i], need[i]))
    return out
