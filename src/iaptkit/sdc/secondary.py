"""Secondary (complementary) suppression: extra cells so that the attacker audit passes.

Given a :class:`~iaptkit.sdc.solver.cells.CellSpace` whose primary cells are suppressed,
:func:`secondary_suppression` chooses further cells to show as ``*`` so that the protection
criterion of ``docs/disclosure-control.md`` ("The attacker") holds, preferring few and
cheap cells (``space.cost``) and never a structural zero. A cell shared by linked tables has
one index in the space, so a cell already suppressed for another table costs nothing.

Methods (deterministic; ties broken by the lowest cell index): ``lp`` = a singleton pass
(a relation with one suppressed cell whose other cells cannot hide it gets its cheapest
partner, to a fixpoint), then the attacker-guided pass: the attacker LPs are solved and,
for each failing cell, the published cell whose bound binds its limiting LP (non-zero reduced
cost) with the lowest cost per unit of width restored is suppressed, round after round, until
every cell passes (none left: :class:`~iaptkit.errors.AuditFailedError`); ``hypercube`` =
the hypercube pass first; ``modular`` = :class:`~iaptkit.sdc.solver.modular.ModularSearch`
(a min-cost LP per primary, pruned) first. Small spaces (``cleanup_limit`` cells) finally
try to publish secondary cells again, most costly first.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy import sparse

from iaptkit.errors import AuditFailedError
from iaptkit.sdc.attack import Attack, LimitingDuals, attack
from iaptkit.sdc.auto_method import LP_UP_TO, choose_method
from iaptkit.sdc.solver.cells import CellSpace
from iaptkit.sdc.solver.hypercube import proven_by_points
from iaptkit.sdc.solver.hypercube_moves import Move
from iaptkit.sdc.solver.hypercube_select import hypercube_cleanup, hypercube_secondary
from iaptkit.sdc.solver.intervals import required_width
from iaptkit.sdc.solver.modular import ModularSearch

__all__ = ["SearchOutcome", "secondary_suppression"]

Progress = Callable[[str, int, int], None]
_RC_TOL = 1e-7
#: With ``method="auto"``, spaces with grids and more cells than this start with hypercubes.
HYPERCUBE_ABOVE = LP_UP_TO
#: The modular method also starts from the hypercube pattern on grids up to this many cells.
WARM_START_UP_TO = 3000
#: The modular prune solves at most this many times the LPs of the search before it.
PRUNE_LP_FACTOR = 2
METHODS = ("auto", "lp", "hypercube", "modular")


class _Deadline(Exception):
    """The search ran past its deadline (internal: caught in :func:`secondary_suppression`)."""


class _SafeStop(Exception):
    """The deadline passed once a safe pattern was reached, held by the mask (internal)."""


class SearchOutcome:
    """How a secondary-suppression search ended (filled in by :func:`secondary_suppression`).

    Attributes
    ----------
    timed_out
        The deadline passed before the search finished.
    fallback
        The pattern is the always-safe fallback (every cell but structural zeros suppressed),
        because the deadline passed before a safe pattern was found.
    pruned
        Secondary cells published again by the pruning pass.
    """

    def __init__(self) -> None:
        self.timed_out = False
        self.fallback = False
        self.pruned = 0


def _deadline_guard(progress: Progress | None, deadline: float | None) -> Progress | None:
    """``progress`` that also raises :class:`_Deadline` once ``time.monotonic() > deadline``.

    The internal stage ``"lp"`` (attacker components solved within a round) only checks the
    deadline; it is not passed on.
    """
    if deadline is None and progress is None:
        return None

    def guarded(stage: str, done: int, total: int) -> None:
        if progress is not None and stage != "lp":
            progress(stage, done, total)
        if deadline is not None and time.monotonic() > deadline:
            raise _Deadline(stage)

    return guarded


def _singleton_pass(
    space: CellSpace,
    mask: npt.NDArray[np.bool_],
    need: npt.NDArray[np.float64],
    eligible: npt.NDArray[np.bool_],
) -> int:
    """Give every under-hidden lone suppressed cell of a relation a partner (in place)."""
    a = sparse.csr_matrix(space.relations, dtype=np.float64)
    a.eliminate_zeros()
    noise_w = np.abs(space.published_upper - space.published_lower)
    noise_w = np.where(space.structural_zero, 0.0, noise_w)
    cost = np.asarray(space.cost, dtype=np.float64)
    added = 0
    while True:
        lonely: list[int] = []
        lone_cell: dict[int, int] = {}
        for r in range(a.shape[0]):
            cols = a.indices[a.indptr[r] : a.indptr[r + 1]]
            coef = a.data[a.indptr[r] : a.indptr[r + 1]]
            sup = mask[cols]
            if int(sup.sum()) != 1:
                continue
            k = int(np.flatnonzero(sup)[0])
            i = int(cols[k])
            others = ~sup
            noise = float((np.abs(coef[others]) * noise_w[cols[others]]).sum()) / abs(coef[k])
            if noise < need[i] - 1e-9:
                lonely.append(r)
                lone_cell[r] = i
        if not lonely:
            return added
        # how many lonely relations each eligible cell would fix (strongly preferred)
        sub = a[lonely]
        fixes = np.bincount(sub.indices, minlength=space.n_cells)
        added_now = 0
        for r in lonely:
            cols = a.indices[a.indptr[r] : a.indptr[r + 1]]
            if int(mask[cols].sum()) != 1:
                continue  # fixed by an earlier choice this sweep
            cand = cols[eligible[cols] & ~mask[cols]]
            if cand.size == 0:
                continue  # nothing to add here; the attacker pass will report it
            score = cost[cand] / np.square(np.maximum(fixes[cand], 1.0))
            best = int(cand[np.lexsort((cand, score))[0]])
            mask[best] = True
            added += 1
            added_now += 1
        if added_now == 0 or not (eligible & ~mask).any():
            return added


def _candidates(
    space: CellSpace,
    d: LimitingDuals,
    mask: npt.NDArray[np.bool_],
    eligible: npt.NDArray[np.bool_],
    lo: npt.NDArray[np.float64],
    hi: npt.NDArray[np.float64],
    a_csr: sparse.csr_matrix,
    g_csr: sparse.csr_matrix | None,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Published cells whose bounds bind the LP (non-zero reduced cost), and their gain."""
    cells = [d.cells]
    rc = [d.col_dual]
    # cells substituted as constants: reduced cost -A[:, j] @ y over the component's rows
    sub_a = a_csr[d.eq_rows]
    sub_g = g_csr[d.ub_rows] if g_csr is not None and d.ub_rows.size else None
    const = np.unique(sub_a.indices)
    if sub_g is not None:
        const = np.union1d(const, np.unique(sub_g.indices))
    const = const[lo[const] >= hi[const]]
    if const.size:
        val = -(sub_a[:, const].T @ d.eq_dual)
        if sub_g is not None:
            val = val - (sub_g[:, const].T @ d.ub_dual)
        cells.append(const)
        rc.append(np.asarray(val, dtype=np.float64))
    all_cells = np.concatenate(cells)
    all_rc = np.concatenate(rc)
    ok = eligible[all_cells] & ~mask[all_cells] & (np.abs(all_rc) > _RC_TOL)
    all_cells, all_rc = all_cells[ok], all_rc[ok]
    # rc > 0: the lower bound binds (suppressing relaxes it to suppressed_lower)
    room_down = lo[all_cells] - space.suppressed_lower[all_cells]
    room_up = space.suppressed_upper[all_cells] - hi[all_cells]
    room = np.where(all_rc > 0, room_down, room_up)
    helps = room > 1e-9
    return all_cells[helps], np.abs(all_rc[helps]) * room[helps]


def _failing(
    res: Attack, mask: npt.NDArray[np.bool_], need: npt.NDArray[np.float64]
) -> npt.NDArray[np.intp]:
    width = res.upper - res.lower
    return np.flatnonzero(mask & ~(width >= need - 1e-9))


def _attacker_pass(
    space: CellSpace,
    mask: npt.NDArray[np.bool_],
    need: npt.NDArray[np.float64],
    eligible: npt.NDArray[np.bool_],
    progress: Progress | None,
    first_check: npt.NDArray[np.bool_] | None = None,
) -> int:
    """Suppress cells guided by the attacker's LP duals until the audit passes (in place).

    ``first_check``: the suppressed cells to attack first (default: all); the others must be
    known to pass already.
    """
    a_csr = sparse.csr_matrix(space.relations, dtype=np.float64)
    g_csr = None if space.inequalities is None else sparse.csr_matrix(space.inequalities)
    cost = np.asarray(space.cost, dtype=np.float64)
    adjacency = sparse.csr_matrix(space.relations).T.tocsr()  # cell -> rows
    # Suppressing more cells only relaxes the attacker's bounds (a published interval lies
    # inside the suppressed one), so every feasible point stays feasible and a cell proven
    # wide enough stays so: re-check only the cells that failed and the ones just suppressed.
    monotone = bool(
        (space.suppressed_lower <= space.published_lower).all()
        and (space.suppressed_upper >= space.published_upper).all()
    )
    check = mask.copy() if first_check is None else mask & first_check
    added = 0
    inner: Progress | None = None
    if progress is not None:
        report = progress

        def inner(_stage: str, done: int, total: int) -> None:
            report("lp", done, total)

    while True:
        res = attack(space, mask, sufficient=True, want_duals=True, only=check, progress=inner)
        failing = _failing(res, mask & check, need)
        if progress is not None:
            progress("secondary", int(mask.sum()), int(failing.size))
        if failing.size == 0:
            return added
        lo, hi = space.attacker_bounds(mask)
        new_this_round = np.zeros(space.n_cells, dtype=bool)
        for i in failing:
            i = int(i)
            deficit = float(need[i] - (res.upper[i] - res.lower[i]))
            cand_list: list[npt.NDArray[np.intp]] = []
            gain_list: list[npt.NDArray[np.float64]] = []
            for d in res.duals.get(i, []):
                c, gn = _candidates(space, d, mask, eligible, lo, hi, a_csr, g_csr)
                cand_list.append(c)
                gain_list.append(gn)
            cand = np.concatenate(cand_list) if cand_list else np.zeros(0, dtype=np.intp)
            gain = np.concatenate(gain_list) if gain_list else np.zeros(0)
            if np.any(new_this_round[cand]):
                continue  # a fresh suppression may already fix it: re-audit first
            if cand.size == 0 and i in res.duals:
                # the duals certify that relaxing every eligible cell leaves the bound as it is
                if new_this_round.any():
                    continue
                raise AuditFailedError(_cannot_protect(space, i, res))
            if cand.size == 0:
                # fallback: any eligible published cell sharing a relation with i
                rows = adjacency.indices[adjacency.indptr[i] : adjacency.indptr[i + 1]]
                near = np.unique(a_csr[rows].indices) if rows.size else np.zeros(0, np.intp)
                near = near[eligible[near] & ~mask[near]]
                if near.size == 0:
                    if new_this_round.any():
                        continue
                    raise AuditFailedError(_cannot_protect(space, i, res))
                cand = near
                gain = np.ones(near.size)
            score = cost[cand] / np.minimum(gain, max(deficit, 1e-9))
            best = int(cand[np.lexsort((cand, score))[0]])
            mask[best] = True
            new_this_round[best] = True
            added += 1
        check = np.zeros(space.n_cells, dtype=bool)
        check[failing] = True
        check |= new_this_round
        if not monotone:
            check = mask.copy()


def _cannot_protect(space: CellSpace, i: int, res: Attack) -> str:
    return (
        f"Secondary suppression cannot protect {space.label(i)}: the attacker's interval is "
        f"[{res.lower[i]:g}, {res.upper[i]:g}] and suppressing more cells cannot widen it (the "
        "cells that bound it are suppressed already or structural zeros). The table is too "
        "small or too sparse to protect under this policy: merge categories or drop the "
        "breakdown."
    )


def _cleanup(
    space: CellSpace,
    mask: npt.NDArray[np.bool_],
    need: npt.NDArray[np.float64],
    progress: Progress | None,
) -> int:
    """Publish again secondary cells not needed (most costly first) while the audit passes."""
    secondaries = np.flatnonzero(mask & ~space.primary)
    order = secondaries[np.lexsort((secondaries, -space.cost[secondaries]))]
    removed = 0
    for k, j in enumerate(order):
        mask[j] = False
        res = attack(space, mask, sufficient=True)
        if _failing(res, mask, need).size:
            mask[j] = True
        else:
            removed += 1
        if progress is not None:
            progress("cleanup", k + 1, int(order.size))
    return removed


def secondary_suppression(
    space: CellSpace,
    *,
    progress: Progress | None = None,
    cleanup_limit: int = 400,
    method: str = "auto",
    deadline: float | None = None,
    outcome: SearchOutcome | None = None,
) -> npt.NDArray[np.bool_]:
    """Choose secondary suppressions so that the attacker audit passes.

    Parameters
    ----------
    space
        Cells, relations, attacker knowledge, primaries, structural zeros and costs.
    progress
        Optional callback ``(stage, done, total)``; stages ``"secondary"`` (``done`` = cells
        suppressed so far, ``total`` = cells still failing) and ``"cleanup"``.
    cleanup_limit
        Spaces with at most this many cells get the final clean-up pass (re-publishing
        unneeded secondary cells); larger ones skip it (each step is a re-audit).
    method
        ``"lp"``: singleton pass, then the attacker-guided pass. ``"hypercube"``: first the
        hypercube pass of :func:`iaptkit.sdc.solver.hypercube_select.hypercube_secondary` (needs
        ``space.grids``), then the attacker-guided pass for anything still failing.
        ``"modular"``: a min-cost LP per primary on the subtables through it, rounded up
        and pruned (:class:`iaptkit.sdc.solver.modular.ModularSearch`; on grids of at most
        :data:`WARM_START_UP_TO` cells also from the hypercube pattern, the cheaper kept).
        ``"auto"`` (default): :func:`iaptkit.sdc.auto_method.choose_method` (``"lp"`` up to
        :data:`HYPERCUBE_ABOVE` cells; above, ``"modular"`` when its estimated time fits the
        budget or timeout, else ``"hypercube"``).
    deadline
        A :func:`time.monotonic` time after which the search stops with the best SAFE pattern
        so far: during pruning the pattern before the step under way (every step keeps the
        audit passing); before a safe pattern was found, the always-safe fallback (every cell
        except structural zeros suppressed). The caller's audit still checks it.
    outcome
        Filled in with how the search ended (:class:`SearchOutcome`).

    Returns
    -------
    numpy.ndarray
        ``bool`` ``(n,)``: every primary cell plus the chosen secondary cells. The attacker
        audit (:func:`iaptkit.sdc.audit.audit`) on this mask passes.

    Raises
    ------
    AuditFailedError
        When no choice of cells can protect some cell (e.g. a table too small to protect).

    Notes
    -----
    Protection criterion and attacker: ``docs/disclosure-control.md`` ("The
    attacker"). The approach follows the classical LP-based complementary suppression
    (Fischetti and Salazar-González, 2000; tau-Argus "optimal"/"modular"), made greedy:
    singleton pass, then cells chosen from the duals of the failing attacker LPs.

    Examples
    --------
    A table 2 x 2 with margins where one cell is small: a rectangle must be suppressed.

    >>> import numpy as np
    >>> from scipy import sparse
    >>> from iaptkit.sdc.solver.cells import CellSpace
    >>> v = np.array([3, 20, 23, 30, 40, 70, 33, 60, 93])  # rows r1, r2, column totals
    >>> rel = sparse.csr_matrix(np.array([
    ...     [1, 1, -1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, -1, 0, 0, 0],
    ...     [0, 0, 0, 0, 0, 0, 1, 1, -1], [1, 0, 0, 1, 0, 0, -1, 0, 0],
    ...     [0, 1, 0, 0, 1, 0, 0, -1, 0], [0, 0, 1, 0, 0, 1, 0, 0, -1]], dtype=float))
    >>> space = CellSpace(
    ...     values=v, relations=rel, published_lower=v * 1.0, published_upper=v * 1.0,
    ...     suppressed_lower=np.zeros(9), suppressed_upper=np.full(9, np.inf),
    ...     primary=v < 10, structural_zero=np.zeros(9, bool),
    ...     protection_width=np.full(9, 10.0), cost=v * 1.0)
    >>> np.flatnonzero(secondary_suppression(space)).tolist()
    [0, 1, 3, 4]
    """
    n = space.n_cells
    mask = np.asarray(space.primary, dtype=bool).copy()
    if (mask & space.structural_zero).any():
        i = int(np.flatnonzero(mask & space.structural_zero)[0])
        raise ValueError(f"{space.label(i)} is both a primary suppression and a structural zero")
    if not mask.any():
        return mask
    if method not in METHODS:
        raise ValueError(f"secondary suppression method must be one of {METHODS}, got {method!r}")
    if method == "auto":  # lp, or modular when it should finish in time, else hypercube
        left = None if deadline is None else deadline - time.monotonic()
        method = choose_method(n, int(mask.sum()), bool(space.grids), left)
    need = required_width(space)
    eligible = ~np.asarray(space.structural_zero, dtype=bool)
    out = SearchOutcome() if outcome is None else outcome
    guarded = _deadline_guard(progress, deadline)
    try:
        _search(space, mask, need, eligible, method, guarded)
    except _SafeStop:
        out.timed_out = True
        return mask
    except _Deadline:
        out.timed_out = out.fallback = True
        return eligible.copy()
    if n <= cleanup_limit:
        try:
            out.pruned = _cleanup(space, mask, need, guarded)
        except _Deadline:
            out.timed_out = True  # the mask is the safe one before the step under way
    return mask


def _search(
    space: CellSpace,
    mask: npt.NDArray[np.bool_],
    need: npt.NDArray[np.float64],
    eligible: npt.NDArray[np.bool_],
    method: str,
    progress: Progress | None,
) -> None:
    """Hypercube or singleton pass, then the attacker-guided pass (in place)."""
    check = None
    if method == "modular":
        _modular(space, mask, need, eligible, progress)
        return
    if method == "hypercube" and space.grids:
        points: list[Move] = []
        hypercube_secondary(space, mask, need, eligible, progress=progress, points=points)
        hypercube_cleanup(space, mask, need, points)
        # the points the hypercube pass found, verified, show most cells protected already:
        # the attacker pass starts from the others
        check = mask & ~proven_by_points(space, mask, need, points)
    else:
        _singleton_pass(space, mask, need, eligible)
    _attacker_pass(space, mask, need, eligible, progress, check)


def _modular(
    space: CellSpace,
    mask: npt.NDArray[np.bool_],
    need: npt.NDArray[np.float64],
    eligible: npt.NDArray[np.bool_],
    progress: Progress | None,
) -> None:
    """Modular search from the primaries (small grids: also from hypercubes), cheaper kept."""
    first = mask.copy()
    best: npt.NDArray[np.bool_] | None = None
    try:
        for k in range(2 if space.grids and space.n_cells <= WARM_START_UP_TO else 1):
            start = first.copy()
            search = ModularSearch(space, start, need, eligible)
            if k:
                points: list[Move] = []
                hypercube_secondary(space, start, need, eligible, progress=progress, points=points)
                hypercube_cleanup(space, start, need, points)
                search.seed(points)
            stopped = _modular_start(space, search, start, need, eligible, progress)
            if best is None or space.cost[start].sum() < space.cost[best].sum():
                best = start
            if stopped:
                raise _SafeStop
    except _Deadline:
        if best is None:
            raise
        raise _SafeStop from None
    finally:
        if best is not None:
            mask[:] = best


def _modular_start(
    space: CellSpace,
    search: ModularSearch,
    mask: npt.NDArray[np.bool_],
    need: npt.NDArray[np.float64],
    eligible: npt.NDArray[np.bool_],
    progress: Progress | None,
) -> bool:
    """One start of :func:`_modular`: protect, make safe, prune; True if the deadline hit."""
    search.protect_all(progress)
    check = mask & ~proven_by_points(space, mask, need, search.live_points())
    _attacker_pass(space, mask, need, eligible, progress, check)
    safe = mask.copy()
    lp_proven = mask & ~proven_by_points(space, mask, need, search.live_points())
    try:
        search.prune(progress, keep=lp_proven, max_lp=PRUNE_LP_FACTOR * search.n_lp + 100)
    except _Deadline:
        if (mask & ~proven_by_points(space, mask, need, search.live_points())).any():
            mask[:] = safe
        return True
    check = mask & ~proven_by_points(space, mask, need, search.live_points())
    if check.any():
        _attacker_pass(space, mask, need, eligible, progress, check)
    return False
