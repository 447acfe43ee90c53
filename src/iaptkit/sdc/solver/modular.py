"""Modular secondary suppression: one small min-cost LP per primary cell, rounded up, pruned.

The protection of a suppressed cell ``p`` (``docs/disclosure-control.md``, "The attacker")
is witnessed by two feasible points of the attacker's polyhedron: one where ``p`` lies ``U``
above its true value and one where it lies ``D`` below, with ``U + D`` at least its required
width. A point is the true table moved by a *move* ``d`` with ``A d = 0`` (every relation
kept), ``G (v + d) <= 0`` and every moved cell within the attacker's bounds: a published cell
within its rounding range, a suppressed one within ``[suppressed_lower, suppressed_upper]``.

Following the partial-cover model of Fischetti and Salazar-Gonzalez (1999, 2000) and the
modular approach of tau-Argus (de Wolf, 2002), solved here per primary on a small
subtable, :class:`ModularSearch` finds for each primary cell not yet protected the
*cheapest* such move: a linear program over the cells within two relation steps of ``p`` (in
a table with margins: the 2-D subtables through ``p``, totals included), cells outside it held
at their true values. A cell may move within its current room for free; moving it further
(only possible if it is suppressed) costs ``cost / amount`` per unit (the LP relaxation of
suppressing it, as in Fischetti-Salazar's linearisation). Every cell that moved beyond its
current room is then suppressed (rounding up), so the move stays feasible, and the point is
kept. Suppressing more cells only widens the attacker's bounds, so every point stays
feasible while the pattern grows, and a cell shown protected stays protected.

:meth:`ModularSearch.prune` then tries to publish secondary cells again, most costly first:
the points that used the cell's suppressed room are dropped, and every suppressed cell they
protected must be protected again by moves within the remaining pattern (LPs with no new
suppression allowed); otherwise the cell stays suppressed. The points only propose: the
caller verifies them (:func:`iaptkit.sdc.solver.hypercube.proven_by_points`) and the audit
(:mod:`iaptkit.sdc.audit`) decides.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy import sparse

from iaptkit.sdc.solver.cells import CellSpace
from iaptkit.sdc.solver.hypercube_cap import capped_through, room_score
from iaptkit.sdc.solver.hypercube_moves import (
    GridView,
    Locations,
    Move,
    as_move,
    grid_locations,
    push,
    verified_moves,
)
from iaptkit.sdc.solver.lp import IntervalLP, new_highs
from iaptkit.sdc.solver.modular_cells import nearby_cells, subgrid_cells

__all__ = ["ModularSearch"]

Progress = Callable[[str, int, int], None]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
_TOL = 1e-7
#: Cost per unit of a free move (keeps moves short and points sparse).
_FREE_COST = 1e-6
#: Corners of hypercubes at most per cell in the quick check before a cell's LPs.
QUICK_CORNERS = 1 << 13


class ModularSearch:
    """State of a modular secondary-suppression search over one cell space.

    Parameters
    ----------
    space
        The cell space.
    mask
        ``bool`` ``(n,)``, updated in place: the cells suppressed so far (primaries at least).
    need
        Required width per cell (:func:`iaptkit.sdc.solver.intervals.required_width`).
    eligible
        Cells that may be suppressed.
    depth, cap
        Neighbourhood of a cell's LP: cells within ``depth`` relation steps, at most ``cap``.
    quick
        Before a cell's LPs, try hypercube moves within the current pattern (no LP, no new
        suppression); a cell they protect needs no LP. Off by default: on the 4-D benchmark
        table (nhs-hes) it spared 9 of the first 300 primaries' LPs, about what it costs.

    Attributes
    ----------
    points
        The moves found, as ``(cells, displacement)`` (feasible under the current mask).
    n_lp, n_failed
        LPs solved, and cells for which no move was found (left to the caller).

    Examples
    --------
    A 2 x 2 table with margins where one cell is small: the cheapest rectangle is suppressed.

    >>> import numpy as np
    >>> from scipy import sparse
    >>> v = np.array([3, 20, 23, 30, 40, 70, 33, 60, 93])
    >>> rel = sparse.csr_matrix(np.array([
    ...     [1, 1, -1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, -1, 0, 0, 0],
    ...     [0, 0, 0, 0, 0, 0, 1, 1, -1], [1, 0, 0, 1, 0, 0, -1, 0, 0],
    ...     [0, 1, 0, 0, 1, 0, 0, -1, 0], [0, 0, 1, 0, 0, 1, 0, 0, -1]], dtype=float))
    >>> sp = CellSpace(v, rel, v * 1.0, v * 1.0, np.zeros(9), np.full(9, np.inf), v < 10,
    ...                np.zeros(9, bool), np.full(9, 10.0), v * 1.0)
    >>> mask = sp.primary.copy()
    >>> search = ModularSearch(sp, mask, np.where(sp.primary, 10.0, 1.0), np.ones(9, bool))
    >>> bool(search.protect_all().any())  # a move found for every suppressed cell
    False
    >>> np.flatnonzero(mask).tolist()
    [0, 1, 3, 4]
    """

    def __init__(
        self,
        space: CellSpace,
        mask: BoolArray,
        need: FloatArray,
        eligible: BoolArray,
        *,
        depth: int = 3,
        cap: int = 1500,
        quick: bool = False,
    ) -> None:
        self.space = space
        self.mask = mask
        self.need = np.asarray(need, dtype=np.float64)
        v = space.values.astype(np.float64)
        self.values = v
        inside = (v >= space.suppressed_lower - 1e-9) & (v <= space.suppressed_upper + 1e-9)
        self.eligible = np.asarray(eligible, dtype=bool) & inside & ~space.structural_zero
        self.cost = np.asarray(space.cost, dtype=np.float64)
        self.depth, self.cap, self.quick = depth, cap, quick
        self._highs = new_highs()
        a = sparse.csr_matrix(space.relations, dtype=np.float64)
        g = None if space.inequalities is None else sparse.csr_matrix(space.inequalities)
        self.n_eq = int(a.shape[0])
        self.rows = a if g is None else sparse.csr_matrix(sparse.vstack([a, g]))
        self.rows_csc = self.rows.tocsc()
        self.cell_rows = sparse.csr_matrix(self.rows.T)
        self.g_val = None if g is None else np.asarray(g @ v, dtype=np.float64)
        # what the attacker knows of a published cell, and of a suppressed one
        self.pub_up = np.maximum(space.published_upper - v, 0.0)
        self.pub_dn = np.maximum(v - space.published_lower, 0.0)
        self.sup_up = np.where(self.eligible, np.maximum(space.suppressed_upper - v, 0.0), 0.0)
        self.sup_dn = np.where(self.eligible, np.maximum(v - space.suppressed_lower, 0.0), 0.0)
        fixed = space.structural_zero | ~np.isfinite(v)
        self.pub_up[fixed] = self.pub_dn[fixed] = 0.0
        self.points: list[Move] = []
        self.low = v.copy()
        self.high = v.copy()
        self.n_lp = 0
        self.n_failed = 0
        self._uses: dict[int, list[int]] = {}
        self._touch: dict[int, list[int]] = {}
        self._alive: list[bool] = []
        self.movable = self.eligible | (self.pub_up > 0) | (self.pub_dn > 0)
        self.views: list[GridView] = []
        self.where: Locations = {}
        if space.grids:
            self.views, self.where = grid_locations(space)

    # ------------------------------------------------------------------ rooms and points

    def _rooms(self, s: IntArray) -> tuple[FloatArray, FloatArray]:
        m = self.mask[s]
        up = np.where(m, self.sup_up[s], self.pub_up[s])
        dn = np.where(m, self.sup_dn[s], self.pub_dn[s])
        return up, dn

    def _add_point(self, cells: IntArray, disp: FloatArray) -> None:
        k = len(self.points)
        self.points.append((cells.astype(np.int64), disp))
        self._alive.append(True)
        x = self.values[cells] + disp
        np.minimum.at(self.low, cells, x)
        np.maximum.at(self.high, cells, x)
        beyond = (disp > self.pub_up[cells] + 1e-6) | (-disp > self.pub_dn[cells] + 1e-6)
        for c in cells[beyond].tolist():
            self._uses.setdefault(int(c), []).append(k)
        for c in cells.tolist():
            self._touch.setdefault(int(c), []).append(k)

    def _recompute_range(self, cells: IntArray) -> None:
        """Range of ``cells`` over the live points again (after points were dropped)."""
        cells = np.asarray(cells, dtype=np.intp)
        self.low[cells] = self.high[cells] = self.values[cells]
        pts: set[int] = set()
        for c in cells.tolist():
            pts.update(self._touch.get(c, ()))
        live = [p for p in pts if self._alive[p]]
        if not live:  # nothing moves these cells any more
            return
        inside = np.zeros(self.space.n_cells, dtype=bool)
        inside[cells] = True
        pc = np.concatenate([self.points[p][0] for p in live])
        pd = np.concatenate([self.points[p][1] for p in live])
        sel = inside[pc]
        pc, x = pc[sel], self.values[pc[sel]] + pd[sel]
        np.minimum.at(self.low, pc, x)
        np.maximum.at(self.high, pc, x)

    def seed(self, points: list[Move]) -> int:
        """Take the points of an earlier search (e.g. hypercubes) that are feasible now.

        Returns
        -------
        int
            Points kept.
        """
        lo, hi = self.space.attacker_bounds(self.mask)
        ok = verified_moves(self.space, points, lo, hi)
        for (cells, disp), good in zip(points, ok, strict=True):
            if good:
                uniq, inv = np.unique(np.asarray(cells), return_inverse=True)
                total = np.bincount(inv, weights=np.asarray(disp, dtype=np.float64))
                moved = np.abs(total) > _TOL
                self._add_point(
                    uniq[moved].astype(np.intp), np.asarray(total[moved], dtype=np.float64)
                )
        return int(ok.sum())

    def protected(self, i: int) -> bool:
        """Whether the points found so far show cell ``i`` at least its required width."""
        return bool(self.high[i] - self.low[i] >= self.need[i] - 1e-6)

    # ------------------------------------------------------------------ one LP

    def _neighbourhood(self, i: int) -> IntArray:
        """The cells of ``i``'s LP: subgrids through ``i`` on its grids, else nearby cells."""
        if i in self.where:
            parts = [self._subgrid(i, gi, xy) for gi, xy in self.where[i]]
            cells = np.unique(np.concatenate([*parts, np.array([i], dtype=np.intp)]))
            return np.asarray(cells[self.movable[cells] | (cells == i)], dtype=np.intp)
        return self._nearby(i)

    def _subgrid(self, i: int, gi: int, xy: IntArray) -> IntArray:
        """:func:`iaptkit.sdc.solver.modular_cells.subgrid_cells` for ``i`` on grid ``gi``."""
        return subgrid_cells(
            self.views[gi], self.space.grids[gi].index, xy, self.mask, self.cost, self.movable,
            self.cap,
        )  # fmt: skip

    def _nearby(self, i: int) -> IntArray:
        """:func:`iaptkit.sdc.solver.modular_cells.nearby_cells` of ``i``."""
        return nearby_cells(self.rows, self.cell_rows, self.movable, i, self.depth, self.cap)

    def _move(self, i: int, amount: float, sign: float, allow_new: bool) -> bool:
        """Cheapest move of cell ``i`` by ``sign * amount``; suppress what it needs."""
        s = self._neighbourhood(i)
        k = s.size
        sub = self.rows_csc[:, s].tocsr()
        r_all = np.flatnonzero(np.diff(sub.indptr) > 0)
        r_eq = r_all[r_all < self.n_eq]
        r_ub = r_all[r_all >= self.n_eq]
        j = int(np.searchsorted(s, i))
        fix = sparse.csr_matrix(([1.0], ([0], [j])), shape=(1, k))
        a_s = sparse.vstack([sub[r_eq], fix], format="csr")
        a4 = sparse.hstack([a_s, a_s, -a_s, -a_s], format="csr")
        b = np.zeros(a4.shape[0])
        b[-1] = sign * amount
        g4 = None
        h = None
        if r_ub.size and self.g_val is not None:
            g_s = sub[r_ub]
            g4 = sparse.hstack([g_s, g_s, -g_s, -g_s], format="csr")
            h = -self.g_val[r_ub - self.n_eq]
        up, dn = self._rooms(s)
        ex_up = np.zeros(k)
        ex_dn = np.zeros(k)
        new_ok = ~self.mask[s]
        ex_up[new_ok] = np.maximum(self.sup_up[s][new_ok] - up[new_ok], 0.0)
        ex_dn[new_ok] = np.maximum(self.sup_dn[s][new_ok] - dn[new_ok], 0.0)
        if not allow_new:
            ex_up = np.zeros(k)
            ex_dn = np.zeros(k)
        upper = np.concatenate([up, ex_up, dn, ex_dn])
        lp = IntervalLP(a4, b, g4, h, np.zeros(4 * k), upper, highs=self._highs)
        c_ex = self.cost[s] / max(amount, 1.0)
        cost = np.concatenate([np.full(k, _FREE_COST), c_ex, np.full(k, _FREE_COST), c_ex])
        try:
            res = lp.optimise_direction(np.arange(4 * k, dtype=np.int32), cost)
        except RuntimeError:
            self.n_lp += lp.n_solves
            return False
        if res.x is None:
            self.n_lp += lp.n_solves
            return False
        x = res.x
        self.n_lp += lp.n_solves
        d = x[:k] + x[k : 2 * k] - x[2 * k : 3 * k] - x[3 * k :]
        excess = (x[k : 2 * k] + x[3 * k :]) > _TOL
        new = s[excess & ~self.mask[s]]
        self.mask[new] = True
        moved = np.abs(d) > _TOL
        self._add_point(s[moved], d[moved])
        return True

    def _by_hypercubes(self, i: int) -> bool:
        """Whether hypercube moves within the current pattern protect ``i`` (no LP, no new cell).

        The cheap check before a cell's LPs: greedy pushes along the (capped) hypercubes
        through ``i`` (:func:`iaptkit.sdc.solver.hypercube_moves.push`) within the rooms the
        pattern gives now; when down and up together reach the width, both points are kept.
        """
        if i not in self.where:
            return False
        up = np.append(np.where(self.mask, self.sup_up, self.pub_up), np.inf)
        dn = np.append(np.where(self.mask, self.sup_dn, self.pub_dn), np.inf)
        blocks = capped_through(
            self.views, self.where, i, room_score(self.mask, up, dn), cap_above=QUICK_CORNERS
        )
        w = float(self.need[i])
        down, d_delta = push(blocks, dn, up, min(w, float(dn[i])), 12)
        rise, u_delta = push(blocks, up, dn, max(w - down, 0.0), 12)
        if down + rise < w - 1e-6:
            return False
        for delta, sign in ((d_delta, -1.0), (u_delta, 1.0)):
            if delta:
                cells, disp = as_move(delta, sign)
                self._add_point(cells.astype(np.intp), disp)
        return bool(self.protected(i))

    def protect_cell(self, i: int, *, allow_new: bool = True) -> bool:
        """Find moves (suppressing cells if ``allow_new``) until cell ``i`` is protected.

        Returns
        -------
        bool
            Whether the points now show ``i`` protected.
        """
        if self.protected(i) or (self.quick and self._by_hypercubes(i)):
            return True
        w = float(self.need[i])
        room_dn = self.sup_dn[i] if self.mask[i] else self.pub_dn[i]
        down_have = self.values[i] - self.low[i]
        up_have = self.high[i] - self.values[i]
        want_dn = min(float(room_dn), w)  # down as far as the cell's bound allows, then up
        want_dn = max(want_dn, min(down_have, float(room_dn)))
        want_up = max(w - want_dn, 0.0)
        if up_have < want_up - 1e-6 and not self._move(i, want_up, 1.0, allow_new):
            want_dn = min(float(room_dn), w - up_have)
        if self.values[i] - self.low[i] < want_dn - 1e-6 and want_dn > 0:
            self._move(i, want_dn, -1.0, allow_new)
        if not self.protected(i) and self.high[i] - self.values[i] < w - 1e-6:
            # one direction may be blocked: try the rest upward
            rest = w - (self.values[i] - self.low[i])
            self._move(i, rest, 1.0, allow_new)
        ok = self.protected(i)
        if not ok:
            self.n_failed += 1
        return ok

    # ------------------------------------------------------------------ the passes

    def protect_all(self, progress: Progress | None = None) -> BoolArray:
        """Protect every suppressed cell in turn (primaries first: widest need, smallest value).

        Returns
        -------
        numpy.ndarray
            ``bool`` ``(n,)``: suppressed cells no move was found for.
        """
        left = np.zeros(self.space.n_cells, dtype=bool)
        prim = np.flatnonzero(self.mask & self.space.primary)
        prim = prim[np.lexsort((prim, self.values[prim], -self.need[prim]))]
        for k, i in enumerate(prim.tolist()):
            if progress is not None:  # every primary: a deadline is checked here
                progress("modular", k, int(prim.size))
            left[i] = not self.protect_cell(i)
        # secondary cells must not be exact either (a move of theirs is the proof); the
        # deadline is checked before each one that needs an LP
        sec = np.flatnonzero(self.mask & ~self.space.primary)
        for i in sec.tolist():
            if not self.protected(i):
                if progress is not None:
                    progress("modular", int(prim.size), int(prim.size))
                left[i] = not self.protect_cell(i)
        if progress is not None:
            progress("modular", int(prim.size), int(prim.size))
        return left & self.mask

    def prune(
        self,
        progress: Progress | None = None,
        keep: BoolArray | None = None,
        max_lp: int | None = None,
    ) -> int:
        """Publish again secondary cells whose suppression no proof needs (costliest first).

        Parameters
        ----------
        progress
            Optional callback ``("cleanup", done, total)``, called before each step (a step
            is atomic: an exception raised by the callback leaves a consistent state).
        keep
            Suppressed cells shown protected otherwise (by the attacker's LPs): moves within
            the pattern are looked for first, and the caller checks them again afterwards.
        max_lp
            Stop once this many more LPs were solved (a work bound that does not depend on
            the machine's speed; ``None``: no bound).

        Returns
        -------
        int
            Secondary cells published again.
        """
        if keep is not None:
            for c in np.flatnonzero(keep & self.mask).tolist():
                self.protect_cell(int(c), allow_new=False)
        sec = np.flatnonzero(self.mask & ~self.space.primary)
        order = sec[np.lexsort((sec, -self.cost[sec]))]
        removed = 0
        stop = None if max_lp is None else self.n_lp + max_lp
        for k, j in enumerate(order.tolist()):
            if progress is not None:
                progress("cleanup", k, int(order.size))
            if stop is not None and self.n_lp >= stop:
                break
            if self._try_publish(j):
                removed += 1
        if progress is not None:
            progress("cleanup", int(order.size), int(order.size))
        return removed

    def _try_publish(self, j: int) -> bool:
        """Publish secondary cell ``j`` again if every primary its points proved is re-proven.

        A secondary cell that loses its only proof with ``j`` (e.g. a partner suppressed for
        ``j``'s own protection) is published too, in cascade; a primary that cannot be proven
        again within the remaining pattern undoes the whole step.
        """
        saved_mask = self.mask.copy()
        n_points = len(self.points)
        dropped: list[int] = []
        touched = np.zeros(0, dtype=np.intp)
        queue = [j]
        failed = self.n_failed
        ok = True
        while queue and ok:
            c_pub = queue.pop()
            if not self.mask[c_pub]:
                continue
            self.mask[c_pub] = False
            used = [p for p in self._uses.get(c_pub, []) if self._alive[p]]
            hit = np.zeros(self.space.n_cells, dtype=bool)
            for p in used:
                self._alive[p] = False
                dropped.append(p)
                hit[self.points[p][0]] = True
            touched = np.union1d(touched, np.flatnonzero(hit))
            self._recompute_range(np.flatnonzero(hit))
            for c in np.flatnonzero(hit & self.mask).tolist():
                if self.protect_cell(int(c), allow_new=False):
                    continue
                if self.space.primary[c]:
                    ok = False
                    break
                queue.append(int(c))
        self.n_failed = failed
        if ok:
            return True
        self.mask[:] = saved_mask
        for p in dropped:
            self._alive[p] = True
        for p in range(n_points, len(self.points)):
            self._alive[p] = False
            touched = np.union1d(touched, self.points[p][0])
        self._recompute_range(touched)
        return False

    def live_points(self) -> list[Move]:
        """The points still valid under the current mask."""
        return [p for p, a in zip(self.points, self._alive, strict=True) if a]
