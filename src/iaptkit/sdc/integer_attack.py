"""The integer attacker with published rates: exact intervals of suppressed counts by MIP.

The linear audit (:mod:`iaptkit.sdc.audit`) models counts, totals and known inequalities. A
published rate, and its confidence limits, say more: a rate ``r`` published to precision ``p``
of a denominator ``d`` puts the numerator in ``[(r - p/2) d, (r + p/2) d]`` (``docs/
disclosure-control.md``, "The attacker"). Rates made from unrounded counts can so give a rounded
count back, and a suppressed neighbour then follows by subtraction.

This module models every published rate exactly, whatever the formula (a Wilson interval is
not linear): the numerator and denominator of a published rate are published counts, so each
lies in a small whole-number box (its rounding interval, or a single value). The attacker keeps
the pairs ``(numerator, denominator)`` of the box whose rate and limits print as published
(:func:`consistent_pairs`); the pair is then chosen among them by binary variables. Counts are
whole numbers, so every interval is the optimum of a mixed-integer program (HiGHS through
:func:`scipy.optimize.milp`), exact rather than an LP relaxation.

A published mean says something about its cohort's count through the sum behind it
(:class:`StatisticFamily`): the sum of a per-pathway value over a group lies between the
number of pathways with a value times the value's least and greatest possible value; the
groups' sums add up as their counts do (providers to England); a mean published to ``d``
decimals puts the sum within ``contributors x (mean +- half a unit of d)``; a published sum
fixes it. A suppressed count whose sum follows by subtraction is so bounded: a positive sum
means at least one pathway, and values of at least 2 at most half the sum.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csgraph

__all__ = [
    "PairConstraint",
    "StatisticFamily",
    "consistent_pairs",
    "integer_intervals",
    "rows_matrix",
]

FloatArray = npt.NDArray[np.float64]

#: Widest box (values per count) :func:`consistent_pairs` enumerates.
MAX_BOX = 64


@dataclass(frozen=True)
class PairConstraint:
    """The attacker knows ``(x[num], x[den])`` is one of ``pairs`` (from a published rate)."""

    num: int
    den: int
    pairs: tuple[tuple[int, int], ...]
    label: str = ""


@dataclass(frozen=True)
class StatisticFamily:
    """A per-pathway value summed over the groups of a cohort count (means and sums published).

    The attacker's model, per group ``p`` (count cell ``counts[p]`` = ``x``): a whole-number sum
    ``s`` and number of contributors ``c`` (pathways with a value), ``0 <= c <= x`` (``c == x``
    with ``every_member``), ``value_min * c <= s <= value_max * c``; ``relations`` (rows over
    group positions, ``row @ s == 0`` and ``row @ c == 0``: the groups' sums add up as their
    counts do); ``means`` ``(p, low, high)``: a mean published as between ``low`` and ``high``,
    ``low * c <= s <= high * c``; ``sums`` ``(p, cell)``: count cell ``cell`` publishes ``s``.

    Examples
    --------
    >>> StatisticFamily((0, 1, 2), ({0: 1.0, 1: 1.0, 2: -1.0},), 0.0, 1000.0).counts
    (0, 1, 2)
    """

    counts: tuple[int, ...]
    relations: tuple[dict[int, float], ...]
    value_min: float
    value_max: float
    means: tuple[tuple[int, float, float], ...] = ()
    sums: tuple[tuple[int, int], ...] = ()
    every_member: bool = False
    label: str = ""


def consistent_pairs(
    num_box: tuple[float, float],
    den_box: tuple[float, float],
    shown: Callable[[int, int], tuple[str, ...]],
    published: tuple[str, ...],
) -> tuple[tuple[int, int], ...]:
    """Whole-number ``(numerator, denominator)`` pairs in the boxes that print as published.

    Parameters
    ----------
    num_box, den_box
        What the attacker knows of each count from its published value (inclusive bounds).
    shown
        How a rate and its limits are printed from a numerator and denominator.
    published
        What was printed.

    Returns
    -------
    tuple of (int, int)
        The pairs the attacker cannot rule out (the true pair is among them).

    Raises
    ------
    ValueError
        A box is unbounded or wider than :data:`MAX_BOX` values.

    Examples
    --------
    A rate of 9.2 % (one decimal) of a denominator published as 240 (true 238..242) leaves
    only numerators 22:

    >>> f = lambda n, d: (f"{100 * n / d:.1f}",)
    >>> sorted({n for n, _ in consistent_pairs((18, 22), (238, 242), f, ("9.2",))})
    [22]
    """
    ranges = []
    for lo, hi in (num_box, den_box):
        if not (np.isfinite(lo) and np.isfinite(hi)) or hi - lo + 1 > MAX_BOX:
            raise ValueError(f"count box {lo}..{hi} is unbounded or wider than {MAX_BOX}")
        ranges.append(range(int(np.ceil(lo)), int(np.floor(hi)) + 1))
    return tuple(
        (n, d)
        for n, d in itertools.product(*ranges)
        if d > 0 and n <= d and shown(n, d) == published
    )


def _components(mat: sparse.csr_matrix, n: int) -> npt.NDArray[np.int32]:
    """Connected components of cells sharing a row of ``mat``."""
    inc = sparse.csr_matrix(mat != 0, dtype=np.float64)
    adj = (inc.T @ inc) + sparse.identity(n, format="csr")
    _, comp = csgraph.connected_components(adj, directed=False)
    return np.asarray(comp, dtype=np.int32)


#: Points of random mixes of high and low targets tried before any cell is solved alone.
_RANDOM_POINTS = 8


def integer_intervals(
    relations: sparse.csr_matrix,
    inequalities: sparse.csr_matrix | None,
    lower: FloatArray,
    upper: FloatArray,
    targets: npt.NDArray[np.bool_],
    pairs: Sequence[PairConstraint] = (),
    *,
    time_limit: float = 30.0,
    families: Sequence[StatisticFamily] = (),
    enough: FloatArray | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """The whole-number interval of every target cell (min and max by MIP).

    Parameters
    ----------
    relations
        ``A`` with ``A @ x == 0`` for the true counts.
    inequalities
        ``G`` with ``G @ x <= 0``, or ``None``.
    lower, upper
        What the attacker knows of each count on its own (``upper`` may be ``inf``).
    targets
        ``bool`` ``(n,)``: the cells to bound (typically the suppressed ones).
    pairs
        Published rates as :class:`PairConstraint`.
    families
        Published means and sums as :class:`StatisticFamily` (their sums and contributors
        are variables of the MIP).
    enough
        Per cell, a width that is enough (the protection width a check needs), or ``None``.
        Given, a target for which two whole-number points the attacker cannot rule out are at
        least that far apart is not solved further: its interval is then the one those points
        span (inward, never wider than the attacker's), enough to pass the check but not its
        ends. The points are the solutions of every MIP solved in its component: first
        every target as low, then as high, as they can be together, then random mixes of high
        and low; then, per target not yet settled, one feasibility problem for a point at least
        ``enough`` beyond the points seen, before its minimum and maximum are solved.
    progress
        Optional callback ``("rates", components done, components)``, before each component
        and at the end.
    time_limit
        Seconds per MIP. A MIP that does not finish gives the best whole-number point it found
        (inward: the interval shown is never wider than the attacker's, so a check of the
        protection width stays sound); one that found no point in time pins the cell (width
        0, shown as at risk), never a wider interval than the attacker could reach.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Lower and upper bounds (whole numbers; ``inf`` where unbounded) for the targets, the
        given ``lower``/``upper`` elsewhere.

    Examples
    --------
    Two cells adding up to a published 10; one is known to be 3 from a rate:

    >>> import numpy as np
    >>> from scipy import sparse
    >>> a = sparse.csr_matrix([[1.0, 1.0, -1.0]])
    >>> lo, hi = np.array([0.0, 0.0, 10.0]), np.array([np.inf, np.inf, 10.0])
    >>> t = np.array([True, True, False])
    >>> integer_intervals(a, None, lo, hi, t)[1][:2].tolist()
    [10.0, 10.0]
    >>> pc = PairConstraint(0, 2, ((3, 10),))
    >>> integer_intervals(a, None, lo, hi, t, [pc])[0][:2].tolist()
    [3.0, 7.0]
    """
    n = lower.shape[0]
    rows: list[sparse.csr_matrix] = [sparse.csr_matrix(relations, dtype=np.float64)]
    if inequalities is not None:
        rows.append(sparse.csr_matrix(inequalities, dtype=np.float64))
    for pc in pairs:
        link = sparse.lil_matrix((1, n))
        link[0, pc.num] = 1.0
        link[0, pc.den] = 1.0
        rows.append(link.tocsr())
    for fam in families:
        links = [{fam.counts[q]: 1.0 for q in row} for row in fam.relations]
        links += [{fam.counts[q]: 1.0, cell: 1.0} for q, cell in fam.sums]
        if links:
            rows.append(rows_matrix(links, n))
    comp = _components(sparse.vstack(rows).tocsr(), n)
    out_lo = lower.astype(np.float64).copy()
    out_hi = upper.astype(np.float64).copy()
    wanted = np.unique(comp[targets])
    for k, c in enumerate(wanted):
        if progress is not None:
            progress("rates", k, int(wanted.size))
        cells = np.flatnonzero(comp == c)
        _solve_component(cells, relations, inequalities, lower, upper, targets, pairs,
                         time_limit, out_lo, out_hi, families, enough)  # fmt: skip
    if progress is not None:
        progress("rates", int(wanted.size), int(wanted.size))
    return out_lo, out_hi


def rows_matrix(rows: Sequence[dict[int, float]], n: int) -> sparse.csr_matrix:
    """Rows ``{column: coefficient}`` as a sparse ``(len(rows), n)`` matrix.

    Examples
    --------
    >>> rows_matrix([{0: 1.0, 2: -1.0}], 3).toarray().tolist()
    [[1.0, 0.0, -1.0]]
    """
    r = [k for k, row in enumerate(rows) for _ in row]
    c = [j for row in rows for j in row]
    v = [x for row in rows for x in row.values()]
    return sparse.csr_matrix((v, (r, c)), shape=(len(rows), n), dtype=np.float64)


def _family_block(
    fam: StatisticFamily, local: dict[int, int], first: int, nv: int
) -> tuple[list[LinearConstraint], int]:
    """The constraints of ``fam``'s groups in this component; variables from ``first``.

    Per group in the component two variables: its sum (``first + 2k``) and its number of
    contributors (``first + 2k + 1``). Returns the constraints and the number of variables.
    """
    pos = [q for q, cell in enumerate(fam.counts) if cell in local]
    if not pos:
        return [], 0
    at = {q: first + 2 * k for k, q in enumerate(pos)}
    le: list[dict[int, float]] = []  # rows <= 0
    eq: list[dict[int, float]] = []  # rows == 0
    for q in pos:
        s_, c_, x_ = at[q], at[q] + 1, local[fam.counts[q]]
        (eq if fam.every_member else le).append({c_: 1.0, x_: -1.0})
        le.append({c_: fam.value_min, s_: -1.0})
        le.append({s_: 1.0, c_: -fam.value_max})
    for q, low, high in fam.means:
        if q in at:
            le.append({at[q] + 1: low, at[q]: -1.0})
            le.append({at[q]: 1.0, at[q] + 1: -high})
    for q, cell in fam.sums:
        if q in at and cell in local:
            eq.append({at[q]: 1.0, local[cell]: -1.0})
    for row in fam.relations:
        if all(q in at for q in row):
            eq.append({at[q]: a for q, a in row.items()})
            eq.append({at[q] + 1: a for q, a in row.items()})
    cons = [LinearConstraint(rows_matrix(le, nv), -np.inf, 0.0)]
    if eq:
        cons.append(LinearConstraint(rows_matrix(eq, nv), 0.0, 0.0))
    return cons, 2 * len(pos)


def _solve_component(
    cells: npt.NDArray[np.int64],
    relations: sparse.csr_matrix,
    inequalities: sparse.csr_matrix | None,
    lower: FloatArray,
    upper: FloatArray,
    targets: npt.NDArray[np.bool_],
    pairs: Sequence[PairConstraint],
    time_limit: float,
    out_lo: FloatArray,
    out_hi: FloatArray,
    families: Sequence[StatisticFamily] = (),
    enough: FloatArray | None = None,
) -> None:
    local = {int(c): k for k, c in enumerate(cells)}
    m = len(cells)
    mine = [pc for pc in pairs if pc.num in local]
    n_z = sum(len(pc.pairs) for pc in mine)
    # the families' sums and contributors: two variables per group in this component
    n_f = sum(2 * sum(1 for c in fam.counts if c in local) for fam in families)
    nv = m + n_z + n_f
    cons: list[LinearConstraint] = []
    first = m + n_z
    for fam in families:
        block, used = _family_block(fam, local, first, nv)
        cons.extend(block)
        first += used
    for mat, lo_rhs in ((relations, 0.0), (inequalities, -np.inf)):
        if mat is None:
            continue
        sub = sparse.csr_matrix(mat)[:, cells]
        keep = np.flatnonzero(np.diff(sub.indptr) > 0)
        if keep.size:
            sub = sparse.hstack([sub[keep], sparse.csr_matrix((keep.size, n_z + n_f))]).tocsr()
            cons.append(LinearConstraint(sub, lo_rhs, 0.0))
    z0 = m
    for pc in mine:
        k = len(pc.pairs)
        block = sparse.lil_matrix((3, nv))
        block[0, local[pc.num]] = 1.0
        block[1, local[pc.den]] = 1.0
        for j, (a, b) in enumerate(pc.pairs):
            block[0, z0 + j] = -float(a)
            block[1, z0 + j] = -float(b)
            block[2, z0 + j] = 1.0
        cons.append(LinearConstraint(block.tocsr(), [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]))
        z0 += k
    lb = np.concatenate([lower[cells], np.zeros(n_z + n_f)])
    ub = np.concatenate([upper[cells], np.ones(n_z), np.full(n_f, np.inf)])
    bounds = Bounds(lb, ub)
    integrality = np.ones(nv)
    opts = {"time_limit": time_limit, "mip_rel_gap": 0.0}
    mine_t = cells[targets[cells]]
    seen_lo = np.full(m, np.inf)
    seen_hi = np.full(m, -np.inf)

    def saw(x: FloatArray | None) -> None:
        if x is not None:
            np.minimum(seen_lo, np.round(x[:m]), out=seen_lo)
            np.maximum(seen_hi, np.round(x[:m]), out=seen_hi)

    if enough is not None and len(mine_t) > 2:
        idx = [local[int(i)] for i in mine_t]
        quick = {"time_limit": min(time_limit, 10.0), "mip_rel_gap": 0.05}
        c = np.zeros(nv)
        c[idx] = 1.0
        low = milp(c, constraints=cons, integrality=integrality, bounds=bounds, options=quick).x
        saw(low)
        # other points within a finite box around the low one (a point of a smaller box is a
        # point all the same; the box holds the low point, so it has one)
        base = lb[:m] if low is None else np.maximum(lb[:m], np.round(low[:m]))
        cap = base + 10.0 * float(np.max(enough[mine_t])) + 1000.0
        capped = Bounds(lb, np.concatenate([np.minimum(ub[:m], cap), ub[m:]]))
        # every target high, then random mixes: a cell lower in one point and higher in another
        rng = np.random.default_rng(0)  # fixed: the same points on every run
        dirs = [np.full(len(idx), -1.0)]
        dirs += [rng.choice([-1.0, 1.0], len(idx)) for _ in range(_RANDOM_POINTS)]
        for d in dirs:
            c = np.zeros(nv)
            c[idx] = d
            saw(milp(c, constraints=cons, integrality=integrality, bounds=capped, options=quick).x)
    for i in mine_t:
        k = local[int(i)]
        if enough is not None and seen_hi[k] - seen_lo[k] >= enough[i] - 1e-9:
            out_lo[i], out_hi[i] = float(seen_lo[k]), float(seen_hi[k])
            continue
        if enough is not None and np.isfinite(seen_lo[k]):
            # a point at least `enough` above the lowest seen (or below the highest): one
            # feasibility problem, no optimum, settles the check
            for end_lo, end_hi in (
                (seen_lo[k] + enough[i], ub[k]),
                (lb[k], seen_hi[k] - enough[i]),
            ):
                if end_lo > end_hi:
                    continue
                lb2, ub2 = lb.copy(), ub.copy()
                lb2[k], ub2[k] = end_lo, end_hi
                feasible = {"time_limit": min(time_limit, 10.0)}
                res = milp(np.zeros(nv), constraints=cons, integrality=integrality,
                           bounds=Bounds(lb2, ub2), options=feasible)  # fmt: skip
                saw(res.x)
                if res.x is not None:
                    break
            if seen_hi[k] - seen_lo[k] >= enough[i] - 1e-9:
                out_lo[i], out_hi[i] = float(seen_lo[k]), float(seen_hi[k])
                continue
        pinned = False
        # the largest first: its point often spans enough with the points seen (one MIP, not
        # two), and its solution is a point for every other cell of the component as well
        for sign in (-1.0, 1.0):
            c = np.zeros(nv)
            c[k] = sign
            res = milp(c, constraints=cons, integrality=integrality, bounds=bounds, options=opts)
            saw(res.x)
            if res.x is None and res.status == 2:
                # HiGHS's presolve can call a feasible model with unbounded cells infeasible
                # (seen on a joint release with redundant sums): ask again without it
                res = milp(c, constraints=cons, integrality=integrality, bounds=bounds,
                           options={**opts, "presolve": False})  # fmt: skip
                saw(res.x)
            if res.x is None and res.status == 1:  # out of time before any point
                pinned = True  # no sound interval: shown as at risk
                continue
            if res.status == 3 or (res.x is None and sign < 0 and res.status != 2):
                value = np.inf  # unbounded (HiGHS may say so without status 3)
            elif res.x is None:
                raise ValueError("the published values are inconsistent (no feasible counts)")
            else:  # optimal, or the best point found in time (inward, sound)
                value = sign * float(res.fun)
            if sign > 0:
                out_lo[i] = float(np.ceil(value - 1e-6)) + 0.0
            else:
                out_hi[i] = float(np.floor(value + 1e-6)) if np.isfinite(value) else np.inf
                if enough is not None and np.isfinite(seen_lo[k]):
                    # a point as low as seen is one the attacker cannot rule out (inward)
                    span = out_hi[i] - seen_lo[k]
                    if span >= enough[i] - 1e-9:
                        out_lo[i] = float(seen_lo[k])
                        break
        if pinned:
            out_lo[i] = out_hi[i] = float(lower[i])
