"""Secondary suppression with hypercubes (tau-Argus' GHMITER approach), and a clean-up pass.

:func:`hypercube_secondary` visits the primary cells one by one: a cell already hidden by the
moves of :mod:`iaptkit.sdc.solver.hypercube_moves` within the current pattern (suppressed cells
and the rounding ranges of published ones) is skipped; otherwise the cheapest hypercube through
it whose short corners, once suppressed, cover the missing width is suppressed (Repsilber, 1994;
Giessing, 2004). :func:`hypercube_cleanup` then publishes again the secondary cells no proof
needs. Both only propose: the audit of :mod:`iaptkit.sdc.audit` decides
(``docs/disclosure-control.md``, "The attacker").
"""

from __future__ import annotations

import math

import numpy as np

from iaptkit.sdc.solver.cells import CellSpace
from iaptkit.sdc.solver.hypercube_cap import CAP_ABOVE, KEEP_CORNERS, capped_through
from iaptkit.sdc.solver.hypercube_moves import (
    Block,
    BoolArray,
    FloatArray,
    GridView,
    IntArray,
    Move,
    Progress,
    as_move,
    forward_reach,
    grid_locations,
    push,
    rooms,
    verified_moves,
)

__all__ = ["hypercube_cleanup", "hypercube_secondary"]


def hypercube_secondary(
    space: CellSpace,
    mask: BoolArray,
    need: FloatArray,
    eligible: BoolArray,
    *,
    progress: Progress | None = None,
    max_steps: int = 12,
    rounds: int = 4,
    cost: FloatArray | None = None,
    points: list[Move] | None = None,
    cap_above: int = CAP_ABOVE,
    keep: int = KEEP_CORNERS,
) -> BoolArray:
    """Suppress, for each primary cell not yet hidden, the cheapest hypercubes that hide it.

    Parameters
    ----------
    space
        The cell space (with ``grids``; without, nothing is done).
    mask
        ``bool`` ``(n,)``, updated in place: cells suppressed so far (primaries at least).
    need
        Required width per cell (:func:`iaptkit.sdc.solver.intervals.required_width`).
    eligible
        Cells that may be suppressed (not structural zeros).
    progress
        Optional callback ``("hypercube", done, total)``.
    max_steps
        Hypercube moves combined per direction when checking a cell.
    rounds
        Hypercubes added at most per primary cell.
    cost
        Cost of suppressing each cell (default ``space.cost``).
    points
        Optional list that receives the points ``(cells, displacement)`` that showed each
        primary protected (unverified: check them with :func:`proven_by_points`).
    cap_above, keep
        Capped candidates on big grids: a cell with more hypercube corners through it than
        ``cap_above`` gets the best-scoring moves per axis, about ``keep`` corners
        (:func:`iaptkit.sdc.solver.hypercube_cap.capped_through`, scored by the suppression
        cost of the corners on the cell's lines).

    Returns
    -------
    numpy.ndarray
        ``bool`` ``(n,)``: the primary cells this pass could not show protected (left to the
        LP-guided pass of :mod:`iaptkit.sdc.secondary`).

    Notes
    -----
    Criterion: ``docs/disclosure-control.md`` ("The attacker"). As in tau-Argus'
    hypercube method (GHMITER), primaries are visited one by one (widest protection first,
    then smallest value). A primary already hidden by moves within the current pattern
    (suppressed cells and the rounding ranges of published ones) is skipped. Otherwise the
    cheapest hypercube is taken whose corners without enough room, once suppressed, cover the
    missing width (``space.cost`` of those corners), and the cell is checked again. Totals are
    used in tiers: inner cells first, then one level of totals at a time, the grand total
    last. The result is a proposal: the audit decides.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from iaptkit.sdc.solver.cells import CellSpace
    >>> from iaptkit.sdc.solver.hypercube import margins_grid
    >>> v = np.array([3, 20, 23, 30, 40, 70, 33, 60, 93])
    >>> rel = sparse.csr_matrix(np.array([
    ...     [1, 1, -1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, -1, 0, 0, 0],
    ...     [0, 0, 0, 0, 0, 0, 1, 1, -1], [1, 0, 0, 1, 0, 0, -1, 0, 0],
    ...     [0, 1, 0, 0, 1, 0, 0, -1, 0], [0, 0, 1, 0, 0, 1, 0, 0, -1]], dtype=float))
    >>> sp = CellSpace(v, rel, v * 1.0, v * 1.0, np.zeros(9), np.full(9, np.inf), v < 10,
    ...                np.zeros(9, bool), np.full(9, 10.0), v * 1.0, grids=(margins_grid((3, 3)),))
    >>> mask = sp.primary.copy()
    >>> hypercube_secondary(sp, mask, np.full(9, 10.0), np.ones(9, bool)).any()
    np.False_
    >>> np.flatnonzero(mask).tolist()
    [0, 1, 3, 4]
    """
    n = space.n_cells
    left = np.zeros(n, dtype=bool)
    if not space.grids:
        left[mask & space.primary] = True
        return left
    v = space.values.astype(np.float64)
    sz = ~np.asarray(eligible, dtype=bool)
    h_lo = np.where(sz, v, space.suppressed_lower)
    h_hi = np.where(sz, v, space.suppressed_upper)
    hyp_up, hyp_dn = rooms(space, h_lo, h_hi)
    lo, hi = space.attacker_bounds(mask)
    cur_up, cur_dn = rooms(space, lo, hi)
    base = np.asarray(space.cost if cost is None else cost, dtype=np.float64)
    cost = np.append(np.where(mask | sz, 0.0, base), 0.0)
    cost[:n][sz] = np.inf
    views, where = grid_locations(space)
    shift = np.zeros(n + 1)
    # the range each cell reaches over the points found so far (the truth included): the
    # pattern only grows here, so a point stays feasible and a primary it already moves far
    # enough needs no hypercube of its own (no candidates listed at all)
    seen_lo, seen_hi = v.copy(), v.copy()
    todo = np.flatnonzero(space.primary & mask)
    todo = todo[np.lexsort((todo, v[todo], -need[todo]))]
    # first without the highest totals (a table's grand total and the totals just below it),
    # then with those just below, then with all, for the cells not protected otherwise
    level = np.append(_levels(space), 0)
    top = int(level.max())
    tiers = [level >= t for t in range(1, top + 1)] + [None]
    if any(_most_corners(view) > cap_above for view in views):
        # big grids (capped candidates): one pass with every total allowed, as the few
        # candidates per cell rarely cover a primary with inner cells alone and each tier
        # would visit almost every primary again
        tiers = [None]
    for t, barred in enumerate(tiers):
        step_cost = cost if barred is None else np.where(barred, np.inf, cost)
        for done, i in enumerate(todo.tolist()):
            if progress is not None:  # every primary: a deadline is checked here
                progress("hypercube", done, int(todo.size))
            left[i] = False
            if seen_hi[i] - seen_lo[i] >= need[i] - 1e-9:
                continue
            blocks = capped_through(views, where, i, step_cost, cap_above=cap_above, keep=keep)
            for attempt in range(rounds + 1):
                down, d_delta = push(blocks, cur_dn, cur_up, float(need[i]), max_steps)
                rise, u_delta = push(
                    blocks, cur_up, cur_dn, max(float(need[i]) - down, 0.0), max_steps
                )
                deficit = float(need[i]) - down - rise
                if deficit <= 1e-9:
                    found = [as_move(d, sg) for d, sg in ((d_delta, -1.0), (u_delta, 1.0)) if d]
                    for cells, disp in found:
                        np.minimum.at(seen_lo, cells, v[cells] + disp)
                        np.maximum.at(seen_hi, cells, v[cells] + disp)
                    if points is not None:
                        points.extend(found)
                    break
                room_dn = max(float(hyp_dn[i]) - down, 0.0)  # further down is impossible
                if attempt == rounds:
                    left[i] = True
                    break
                choice = _cheapest_cover(
                    blocks,
                    u_delta,
                    (cur_up, cur_dn, hyp_up, hyp_dn),
                    step_cost,
                    deficit,
                    room_dn,
                    shift,
                )
                if choice is None:
                    left[i] = True
                    break
                new = choice[choice < n]
                new = new[~mask[new]]
                mask[new] = True
                cur_up[new] = hyp_up[new]
                cur_dn[new] = hyp_dn[new]
                cost[new] = 0.0
                step_cost[new] = 0.0
        if t + 1 < len(tiers):
            todo = np.flatnonzero(left)
            todo = todo[np.lexsort((todo, v[todo], -need[todo]))]
    if progress is not None:
        progress("hypercube", int(todo.size), int(todo.size))
    return left


def _most_corners(view: GridView) -> int:
    """Hypercube corners through the grid's busiest cell (all moves of every axis)."""
    moves = [max(int(p[0].shape[0]) for p in per) for per in view.through]
    width = [max(int(p[0].shape[1]) for p in per) for per in view.through]
    return math.prod(moves) * math.prod(width)


def _levels(space: CellSpace) -> IntArray:
    """Levels of aggregation of each cell (sum over axes of its node's height), from the grids."""
    level = np.zeros(space.n_cells, dtype=np.int64)
    for g in space.grids:
        heights = []
        for k, axis in enumerate(g.axes):
            h = np.zeros(g.index.shape[k], dtype=np.int64)
            for row in axis.nodes[axis.chains]:
                for depth, x in enumerate(row[row >= 0].tolist()):
                    h[x] = max(h[x], depth)
            heights.append(h)
        total = np.zeros(g.index.shape, dtype=np.int64)
        for k, h in enumerate(heights):
            shape = [1] * g.index.ndim
            shape[k] = h.size
            total = total + h.reshape(shape)
        np.maximum.at(level, g.index.reshape(-1), total.reshape(-1))
    return level


def _cheapest_cover(
    blocks: list[Block],
    u_delta: dict[int, float],
    rooms_now: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    cost: FloatArray,
    deficit: float,
    room_dn: float,
    shift: FloatArray,
) -> IntArray | None:
    """Cells to suppress so that one more hypercube covers the missing width (or part of it).

    First choice: the hypercube that can move the cell up by the whole ``deficit`` from the
    current upward point when only its corners without enough room (a published cell's
    rounding range is often enough) are suppressed, at the least cost. Otherwise: the
    hypercube with every corner suppressed covering the most per unit of cost.

    ``rooms_now`` = ``(cur_up, cur_dn, hyp_up, hyp_dn)`` at the true values; the rooms at the
    upward point ``v + u_delta`` (less room up, more down) are read through ``shift``, a
    scratch array of zeros ``(n + 1,)`` that holds ``u_delta`` meanwhile (no full copies).
    """
    cur_up, cur_dn, hyp_up, hyp_dn = rooms_now
    moved = np.fromiter(u_delta.keys(), dtype=np.int64, count=len(u_delta))
    shift[moved] = np.fromiter(u_delta.values(), dtype=np.float64, count=len(u_delta))
    try:
        best: tuple[float, IntArray] | None = None
        for cells, signs in blocks:
            pos = signs > 0
            d = shift[cells]
            have = np.where(pos, cur_up[cells] - d, cur_dn[cells] + d)
            could = np.where(pos, hyp_up[cells] - d, hyp_dn[cells] + d)
            short = have < deficit - 1e-9
            c = np.where(short, cost[cells], 0.0).sum(axis=1)
            c[np.any(short & (could < deficit - 1e-9), axis=1) | (c <= 0)] = np.inf
            k = int(np.argmin(c))
            if np.isfinite(c[k]) and (best is None or c[k] < best[0]):
                best = (float(c[k]), cells[k][short[k]])
        if best is not None:
            return best[1]
        partial: tuple[float, IntArray] | None = None
        for cells, signs in blocks:
            pos = signs > 0
            d = shift[cells]
            t_up = np.where(pos, hyp_up[cells] - d, hyp_dn[cells] + d).min(axis=1)
            t_dn = forward_reach(cells, signs, hyp_dn, hyp_up)
            cover = np.minimum(t_up + np.minimum(t_dn, room_dn), deficit)
            ok = np.flatnonzero(cover >= min(1.0, deficit) - 1e-9)
            if ok.size == 0:
                continue
            c = cost[cells[ok]].sum(axis=1)
            c[c <= 0] = np.inf  # nothing to add: such moves were already tried
            score = c / cover[ok]
            k = int(np.argmin(score))
            if np.isfinite(score[k]) and (partial is None or score[k] < partial[0]):
                partial = (float(score[k]), cells[ok[k]])
        return None if partial is None else partial[1]
    finally:
        shift[moved] = 0.0


def hypercube_cleanup(
    space: CellSpace,
    mask: BoolArray,
    need: FloatArray,
    points: list[Move],
    *,
    limit: int = 300,
    max_steps: int = 12,
    max_broken: int = 40,
    progress: Progress | None = None,
) -> int:
    """Publish again secondary cells the hypercube proofs do not need (costliest first).

    Parameters
    ----------
    space
        The cell space (with ``grids``).
    mask
        ``bool`` ``(n,)``, updated in place: the suppression pattern.
    need
        Required width per cell.
    points
        Points ``(cells, displacement)`` found by :func:`hypercube_secondary`; updated in place
        (points that no longer hold are dropped, new ones added).
    limit
        Secondary cells tried, costliest first (deterministic: no time budget).
    max_steps
        Hypercube moves combined per direction when a cell must be shown protected again.
    max_broken
        A cell on which more points rest than this stays suppressed (not tried).
    progress
        Optional callback ``("cleanup", done, total)`` before each cell tried (it may raise
        to stop: the mask may then be half-way through a step, so the caller discards it).

    Returns
    -------
    int
        Number of cells published again.

    Notes
    -----
    A secondary cell ``j`` is published again when every suppressed cell whose points moved
    ``j`` outside its published range can be shown protected again by other points (old ones
    still valid, or new hypercube moves with ``j`` published). Cells shown protected in any
    other way are not tracked here: the attacker pass and the audit that follow check every
    cell not covered by the points (``docs/disclosure-control.md``, "The attacker").
    """
    if not space.grids or not points:
        return 0
    v = space.values.astype(np.float64)
    lo, hi = space.attacker_bounds(mask)
    good = verified_moves(space, points, lo, hi)
    pts: list[dict[int, float]] = [
        dict(zip(c.tolist(), d.tolist(), strict=True))
        for (c, d), g in zip(points, good, strict=True)
        if g
    ]
    alive = [True] * len(pts)
    members: dict[int, list[int]] = {}
    for k, p in enumerate(pts):
        for c, d in p.items():
            if d != 0:
                members.setdefault(c, []).append(k)

    def covered(c: int) -> bool:
        low = high = v[c]
        for k in members.get(c, []):
            if alive[k]:
                x = v[c] + pts[k][c]
                low, high = min(low, x), max(high, x)
        return bool(high - low >= need[c] - 1e-9)

    views, where = grid_locations(space)
    sec = np.flatnonzero(mask & ~space.primary)
    order = sec[np.lexsort((sec, -np.asarray(space.cost)[sec]))][:limit]
    corner_cost = np.append(np.asarray(space.cost, dtype=np.float64), 0.0)
    removed = 0
    for step, j in enumerate(order.tolist()):
        if progress is not None:
            progress("cleanup", step, int(order.size))
        mask[j] = False
        lo, hi = space.attacker_bounds(mask)
        bad = [
            k
            for k in members.get(j, [])
            if alive[k] and not lo[j] - 1e-9 <= v[j] + pts[k][j] <= hi[j] + 1e-9
        ]
        if len(bad) > max_broken:
            mask[j] = True  # too many proofs rest on it: keep it suppressed
            continue
        for k in bad:
            alive[k] = False
        affected = sorted({c for k in bad for c in pts[k] if c != j and mask[c]})
        up, dn = rooms(space, lo, hi)
        added: list[int] = []
        ok = True
        for c in affected:
            if covered(c):
                continue
            blocks = capped_through(
                views, where, c, np.where(np.append(mask, False), 0.0, corner_cost)
            )
            down, d_delta = push(blocks, dn, up, float(need[c]), max_steps)
            rise, u_delta = push(blocks, up, dn, max(float(need[c]) - down, 0.0), max_steps)
            if down + rise < need[c] - 1e-9:
                ok = False
                break
            for delta, sign in ((d_delta, -1.0), (u_delta, 1.0)):
                if delta:
                    p = {cell: sign * d for cell, d in delta.items()}
                    pts.append(p)
                    alive.append(True)
                    added.append(len(pts) - 1)
                    for cell, d in p.items():
                        if d != 0:
                            members.setdefault(cell, []).append(len(pts) - 1)
        if ok:
            removed += 1
            continue
        mask[j] = True
        for k in bad:
            alive[k] = True
        for k in added:
            alive[k] = False
    points[:] = [
        (
            np.fromiter(p.keys(), dtype=np.int64, count=len(p)),
            np.fromiter(p.values(), dtype=np.float64, count=len(p)),
        )
        for p, a in zip(pts, alive, strict=True)
        if a
    ]
    return removed
