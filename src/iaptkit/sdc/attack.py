"""The attacker's engine: the feasible interval of every suppressed cell, computed.

For each suppressed cell the attacker of ``docs/disclosure-control.md`` ("The
attacker") solves two linear programs, minimise and maximise ``x_i`` subject to the relations
``A x = 0``, the known inequalities ``G x <= 0`` and what each cell's display tells them
(:meth:`iaptkit.sdc.solver.cells.CellSpace.attacker_bounds`). :func:`attack` returns the raw
intervals (and, for secondary suppression, the duals of the limiting LPs);
:mod:`iaptkit.sdc.audit` turns them into a certificate.

How the work is reduced, without changing any reported number:

* cells the attacker knows exactly (unrounded published values, structural zeros) are
  substituted as constants, which splits the relation graph into connected components; each
  component is one HiGHS model, built once, with only the objective changed between solves;
* every LP optimum is a feasible point; if some feasible point already reaches a cell's
  a-priori bound (e.g. ``0``), that bound *is* the LP optimum and the LP is skipped.

Bounds are rounded inward to whole numbers (:mod:`iaptkit.sdc.solver.intervals`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse import csgraph

from iaptkit.sdc.solver.cells import CellSpace
from iaptkit.sdc.solver.cycles import inner_bounds
from iaptkit.sdc.solver.hypercube import Move, hypercube_bounds, points_range
from iaptkit.sdc.solver.intervals import int_lower, int_upper, proven, required_width
from iaptkit.sdc.solver.lp import IntervalLP, LPResult

__all__ = ["PREPASS_ABOVE", "Attack", "LimitingDuals", "attack"]

#: In sufficient mode the local-move pre-pass is tried, by default, on the suppressed cells of
#: connected components of more than this many free cells. A smaller component is solved whole:
#: its LP, warm-started from one cell to the next, costs less than many small local ones (the
#: README's measures table, 16,102 cells in components of up to 8,633: first attacker pass
#: 79 s whole against 242 s with the pre-pass, the same cells failing).
PREPASS_ABOVE = 20_000
_PREPASS_GIVE_UP = (40, 0.25)


@dataclass
class Attack:
    """Raw attacker results over the whole cell space (used by the audit and the solver).

    ``lower``/``upper`` are NaN for cells not suppressed. ``exact[i]`` is true when the bounds
    are LP optima; false when they are proven-sufficient inner bounds (``sufficient`` mode).
    ``duals[i]`` holds, for cells found failing (``want_duals``), the duals of their limiting
    LPs (for choosing secondary suppressions).
    """

    lower: npt.NDArray[np.float64]
    upper: npt.NDArray[np.float64]
    exact: npt.NDArray[np.bool_]
    n_lp: int = 0
    n_components: int = 0
    n_local_lp: int = 0
    n_proven_local: int = 0
    duals: dict[int, list[LimitingDuals]] = field(default_factory=dict)


@dataclass(frozen=True)
class LimitingDuals:
    """Duals of one optimal attacker LP, in global indices.

    ``cells``/``col_dual``: the component's cells and their reduced costs; ``eq_rows``/
    ``eq_dual`` and ``ub_rows``/``ub_dual``: the relation and inequality rows of the component
    and their duals (reduced cost of a cell substituted as a constant is ``-A[:, j] @ y``).
    """

    cells: npt.NDArray[np.intp]
    col_dual: npt.NDArray[np.float64]
    eq_rows: npt.NDArray[np.intp]
    eq_dual: npt.NDArray[np.float64]
    ub_rows: npt.NDArray[np.intp]
    ub_dual: npt.NDArray[np.float64]


def _components(
    space: CellSpace, free: npt.NDArray[np.bool_]
) -> tuple[int, npt.NDArray[np.int32], sparse.csr_matrix, sparse.csr_matrix | None]:
    """Connected components of free cells linked through relation/inequality rows."""
    n = space.n_cells
    a = sparse.csr_matrix(space.relations, dtype=np.float64)
    g = None if space.inequalities is None else sparse.csr_matrix(space.inequalities)
    rows = a if g is None else sparse.vstack([a, g], format="csr")
    free_idx = np.flatnonzero(free)
    sub = sparse.csr_matrix(rows[:, free_idx] != 0, dtype=np.int8)
    m = sub.shape[0]
    k = free_idx.size
    graph = sparse.bmat([[None, sub.T], [sub, None]], format="csr") if m and k else None
    labels = np.full(n, -1, dtype=np.int32)
    if graph is None:
        labels[free_idx] = np.arange(k, dtype=np.int32)
        return k, labels, a, g
    n_comp, lab = csgraph.connected_components(graph, directed=False)
    labels[free_idx] = lab[:k]
    return int(n_comp), labels, a, g


def attack(
    space: CellSpace,
    suppressed: npt.NDArray[np.bool_],
    *,
    sufficient: bool = False,
    want_duals: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    only: npt.NDArray[np.bool_] | None = None,
    prepass: bool | None = None,
    hints: list[Move] | None = None,
    points: list[Move] | None = None,
) -> Attack:
    """Compute the attacker's interval of every suppressed cell (the audit's engine).

    Parameters
    ----------
    space, suppressed
        The cell space and the suppression pattern (as for :func:`iaptkit.sdc.audit.audit`).
    sufficient
        ``False``: exact LP optima for every suppressed cell. ``True``: stop as soon as
        feasible points prove a cell's interval at least its required width (the simplex
        may stop at that target); such cells get *inner* bounds (a sub-interval of the
        attacker's, ``exact`` false) - enough for a pass/fail verdict, not for a certificate.
    want_duals
        Keep the duals of the limiting LPs of failing cells (for secondary suppression).
    progress
        Optional callback ``("audit", done, total)``.
    only
        Optional ``bool`` ``(n,)``: attack only these suppressed cells (the others get NaN
        bounds). Used by secondary suppression, where cells that passed stay passing when
        more cells are suppressed.
    prepass
        In ``sufficient`` mode, try the local-move pre-pass
        (:func:`iaptkit.sdc.solver.cycles.inner_bounds`) first: ``True`` for every cell,
        ``False`` for none, ``None`` (default) for the cells of components of more than
        :data:`PREPASS_ABOVE` free cells, where a whole-component LP is slow.
    hints
        Optional candidate feasible points ``(cells, displacement)`` (e.g. the proofs a
        secondary-suppression search found), used in ``sufficient`` mode only. Each is
        verified here on the full relations, inequalities and the bounds of ``suppressed``
        (:func:`iaptkit.sdc.solver.hypercube.points_range`) and ignored if it fails, so a hint
        can save work but never change a verdict: a verified point is a feasible table, and
        the range of a cell over feasible tables lies inside the attacker's interval.
    points
        Optional list that receives the feasible points this attack finds (its local and
        whole-component LP optima, as ``(cells, displacement)``): the proofs a secondary
        search hands to the audit as ``hints``.

    Returns
    -------
    Attack

    Notes
    -----
    Attacker model: ``docs/disclosure-control.md``, "The attacker". Every LP optimum
    and the true table itself are feasible points; a bound reached by a feasible point at
    the cell's a-priori bound is that LP's optimum, so the LP is skipped.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from iaptkit.sdc.solver.cells import CellSpace
    >>> v = np.array([3, 12, 15])
    >>> sp = CellSpace(v, sparse.csr_matrix([[1.0, 1.0, -1.0]]), v * 1.0, v * 1.0,
    ...                np.zeros(3), np.full(3, np.inf), v < 10, np.zeros(3, bool),
    ...                np.full(3, 10.0), v * 1.0)
    >>> res = attack(sp, np.array([True, True, False]))
    >>> res.lower[:2].tolist(), res.upper[:2].tolist()
    ([0.0, 0.0], [15.0, 15.0])
    """
    n = space.n_cells
    suppressed = np.asarray(suppressed, dtype=bool)
    lo, hi = space.attacker_bounds(suppressed)
    values = space.values.astype(np.float64)
    bad = (values < lo - 1e-9) | (values > hi + 1e-9)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"CellSpace is inconsistent: true value {int(values[i])} of {space.label(i)} lies "
            f"outside the attacker's bounds [{lo[i]}, {hi[i]}] ({int(bad.sum())} such cells)"
        )
    need = required_width(space)
    free = lo < hi
    n_comp, comp, a, g = _components(space, free)
    out = Attack(lower=np.full(n, np.nan), upper=np.full(n, np.nan), exact=np.zeros(n, dtype=bool))
    out.n_components = n_comp
    # suppressed cells that are not free: known exactly a priori
    fixed_sup = suppressed & ~free
    if only is not None:
        fixed_sup &= np.asarray(only, dtype=bool)
    out.lower[fixed_sup] = lo[fixed_sup]
    out.upper[fixed_sup] = hi[fixed_sup]
    out.exact[fixed_sup] = True
    wanted = suppressed if only is None else suppressed & np.asarray(only, dtype=bool)
    sup_free = np.flatnonzero(wanted & free)
    if sup_free.size == 0:
        return out
    if sufficient and hints:
        # verified hint points (inner bounds) prove cells without any search of our own
        p_lo, p_hi = points_range(space, suppressed, hints)
        ok = np.array([proven(p_lo[i], p_hi[i], need[i]) for i in sup_free], dtype=bool)
        done_p = sup_free[ok]
        out.lower[done_p] = [int_lower(float(x)) for x in p_lo[done_p]]
        out.upper[done_p] = [int_upper(float(x)) for x in p_hi[done_p]]
        out.n_proven_local += int(done_p.size)
        sup_free = sup_free[~ok]
        if progress is not None:
            progress("audit", int(done_p.size), int(done_p.size + sup_free.size))
        if sup_free.size == 0:
            return out
    if sufficient and space.grids:
        # hypercube moves within the tables' grids prove most cells without any LP
        h_lo, h_hi = hypercube_bounds(space, suppressed, sup_free, need, progress=progress)
        ok = np.array([proven(h_lo[i], h_hi[i], need[i]) for i in sup_free], dtype=bool)
        done_h = sup_free[ok]
        out.lower[done_h] = [int_lower(float(x)) for x in h_lo[done_h]]
        out.upper[done_h] = [int_upper(float(x)) for x in h_hi[done_h]]
        out.n_proven_local += int(done_h.size)
        sup_free = sup_free[~ok]
        if sup_free.size == 0:
            return out
    if prepass is None:
        sizes = np.bincount(comp[comp >= 0], minlength=n_comp)  # fixed cells: -1
        pre_targets = sup_free[sizes[comp[sup_free]] > PREPASS_ABOVE]
    else:
        pre_targets = sup_free if prepass else sup_free[:0]
    if sufficient and pre_targets.size:
        # cheap pre-pass: feasible moves found by small local LPs prove most cells (inner
        # bounds, verified on the full matrices); only the rest need whole-component LPs
        pre = inner_bounds(
            space,
            suppressed,
            pre_targets,
            need,
            give_up=_PREPASS_GIVE_UP,
            progress=progress,
            points=points,
        )
        done_pre = sup_free[pre.proven[sup_free]]
        out.lower[done_pre] = [int_lower(float(x)) for x in pre.lower[done_pre]]
        out.upper[done_pre] = [int_upper(float(x)) for x in pre.upper[done_pre]]
        out.n_local_lp += pre.n_lp
        out.n_proven_local += int(done_pre.size)
        sup_free = sup_free[~pre.proven[sup_free]]
        if sup_free.size == 0:
            return out
    # constants: fixed cells move to the right-hand side
    fixed_vals = np.where(free, 0.0, lo)
    rhs_eq = -(a @ fixed_vals)
    rhs_ub = None if g is None else -(g @ fixed_vals)
    order = np.argsort(comp[sup_free], kind="stable")
    sup_sorted = sup_free[order]
    comp_ids, starts = np.unique(comp[sup_sorted], return_index=True)
    bounds = list(zip(starts, [*starts[1:], sup_sorted.size], strict=True))
    total = int(sup_free.size)
    done = 0
    for c, (s, e) in zip(comp_ids, bounds, strict=True):
        targets = sup_sorted[s:e]
        cells = np.flatnonzero(comp == c)
        _solve_component(
            out, cells, targets, a, g, rhs_eq, rhs_ub, lo, hi, values, need, sufficient, want_duals,
            progress, (done, total), points,
        )  # fmt: skip
        done += int(targets.size)
        if progress is not None:
            progress("audit", done, total)
    return out


def _solve_component(
    out: Attack,
    cells: npt.NDArray[np.intp],
    targets: npt.NDArray[np.intp],
    a: sparse.csr_matrix,
    g: sparse.csr_matrix | None,
    rhs_eq: npt.NDArray[np.float64],
    rhs_ub: npt.NDArray[np.float64] | None,
    lo: npt.NDArray[np.float64],
    hi: npt.NDArray[np.float64],
    values: npt.NDArray[np.float64],
    need: npt.NDArray[np.float64],
    sufficient: bool,
    want_duals: bool,
    progress: Callable[[str, int, int], None] | None = None,
    place: tuple[int, int] = (0, 0),
    points: list[Move] | None = None,
) -> None:
    """Fill ``out`` for the suppressed ``targets`` of one connected component ``cells``.

    ``progress("audit", place[0] + k, place[1])`` is called before target ``k`` (it may raise
    to stop). ``points``, if given, receives every LP optimum as a point.
    """
    a_sub = a[:, cells]
    eq_rows = np.flatnonzero(np.diff(a_sub.indptr) > 0)
    ub_rows = np.zeros(0, dtype=np.intp)
    g_sub = None
    if g is not None:
        g_sub = g[:, cells]
        ub_rows = np.flatnonzero(np.diff(g_sub.indptr) > 0)
    if eq_rows.size == 0 and ub_rows.size == 0:
        out.lower[targets] = lo[targets]
        out.upper[targets] = hi[targets]
        out.exact[targets] = True
        return
    lp = IntervalLP(
        a_sub[eq_rows],
        rhs_eq[eq_rows],
        None if g_sub is None else g_sub[ub_rows],
        None if rhs_ub is None else rhs_ub[ub_rows],
        lo[cells],
        hi[cells],
    )
    local = np.searchsorted(cells, targets)
    # feasible points seen so far, restricted to targets: the truth is one
    seen_min = values[targets].copy()
    seen_max = values[targets].copy()
    t_lo = lo[targets]
    t_hi = hi[targets]
    t_need = need[targets]

    def absorb(x: npt.NDArray[np.float64] | None) -> None:
        if x is not None:
            xt = x[local]
            np.minimum(seen_min, xt, out=seen_min)
            np.maximum(seen_max, xt, out=seen_max)
            if points is not None:
                d = x - values[cells]
                moved = np.abs(d) > 1e-9
                points.append((cells[moved].astype(np.intp), d[moved]))

    n_eq = int(eq_rows.size)

    def keep(res: LPResult, duals: list[LimitingDuals]) -> None:
        if res.reduced_costs is None or res.row_duals is None:
            return
        duals.append(
            LimitingDuals(
                cells=cells,
                col_dual=res.reduced_costs,
                eq_rows=eq_rows,
                eq_dual=res.row_duals[:n_eq],
                ub_rows=ub_rows,
                ub_dual=res.row_duals[n_eq:],
            )
        )

    if targets.size > 2:
        # one LP pushing every suppressed cell down: many reach their a-priori lower bound
        absorb(lp.optimise_direction(local.astype(np.int32), np.ones(targets.size)).x)
    for k, gi in enumerate(targets):
        if progress is not None:
            progress("audit", place[0] + k, place[1])
        j = int(local[k])
        duals: list[LimitingDuals] = []
        if sufficient and proven(seen_min[k], seen_max[k], t_need[k]):
            out.lower[gi], out.upper[gi] = int_lower(seen_min[k]), int_upper(seen_max[k])
            continue
        # maximise first: the minimum is often already reached at the a-priori lower bound
        if seen_max[k] >= t_hi[k] - 1e-9:
            upper = float(t_hi[k])
        else:
            target = float(seen_min[k] + t_need[k]) if sufficient else None
            res = lp.optimise(j, maximise=True, target=target)
            absorb(res.x)
            upper = res.value
            if want_duals:
                keep(res, duals)
        if sufficient and proven(seen_min[k], max(upper, seen_max[k]), t_need[k]):
            out.lower[gi], out.upper[gi] = int_lower(seen_min[k]), int_upper(upper)
            continue
        if seen_min[k] <= t_lo[k] + 1e-9:
            lower = float(t_lo[k])
        else:
            res = lp.optimise(j, maximise=False)
            absorb(res.x)
            lower = res.value
            if want_duals:
                keep(res, duals)
        out.lower[gi], out.upper[gi] = int_lower(lower), int_upper(upper)
        out.exact[gi] = True
        if want_duals and out.upper[gi] - out.lower[gi] < t_need[k] - 1e-9:
            out.duals[int(gi)] = duals
    out.n_lp += lp.n_solves
