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

from iaptkit.sdc.attack import attack
from iaptkit.sdc.auto_method import LP_UP_TO, choose_method
from iaptkit.sdc.guided import attacker_pass, failing_cells, singleton_pass
from iaptkit.sdc.solver.cells import CellSpace
from iaptkit.sdc.solver.chains import chain_completion
from iaptkit.sdc.solver.hypercube import proven_by_points
from iaptkit.sdc.solver.hypercube_moves import Move
from iaptkit.sdc.solver.hypercube_select import hypercube_cleanup, hypercube_secondary
from iaptkit.sdc.solver.intervals import required_width
from iaptkit.sdc.solver.modular import ModularSearch

__all__ = ["SearchOutcome", "secondary_suppression"]

Progress = Callable[[str, int, int], None]
#: With ``method="auto"``, spaces with grids and more cells than this start with hypercubes.
HYPERCUBE_ABOVE = LP_UP_TO
#: The modular method also starts from the hypercube pattern on grids up to this many cells.
WARM_START_UP_TO = 3000
#: The modular prune solves at most this many times the LPs of the search before it.
PRUNE_LP_FACTOR = 2
METHODS = ("auto", "lp", "hypercube", "modular")
#: The hypercube clean-up tries at most this many cells divided by the space's cells (300 at
#: most, 30 at least): each try re-proves cells with hypercube moves over the whole space.
CLEANUP_CELL_BUDGET = 3_000_000
#: Above this many cells the hypercube method finishes with local LPs (the modular search's,
#: seeded with the hypercube points) before any LP over a whole connected component: one such
#: LP over a 200,000-cell table takes about a minute, and thousands of cells may need one.
LOCAL_FINISH_ABOVE = 50_000
#: Cells of each local LP of that finish (the modular search's ``cap``).
LOCAL_FINISH_CAP = 400


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
    points
        The search's proofs: candidate feasible points ``(cells, displacement)`` for the
        audit to verify first (``audit(..., hints=...)``); unverified, possibly stale.
    """

    def __init__(self) -> None:
        self.timed_out = False
        self.fallback = False
        self.pruned = 0
        self.points: list[Move] = []


def _deadline_guard(progress: Progress | None, deadline: float | None) -> Progress | None:
    """``progress`` that also raises :class:`_Deadline` once ``time.monotonic() > deadline``.

    The internal stage ``"lp"`` (suppressed cells the attacker has checked within a round) is
    passed on as ``"attack"``: on tables without grids one round can take minutes.
    """
    if deadline is None and progress is None:
        return None

    def guarded(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress("attack" if stage == "lp" else stage, done, total)
        if deadline is not None and time.monotonic() > deadline:
            raise _Deadline(stage)

    return guarded


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
        if failing_cells(res, mask, need).size:
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
        ``space.grids``), on spaces of more than :data:`LOCAL_FINISH_ABOVE` cells the
        modular search's local LPs for the cells it left, then the attacker-guided pass for
        anything still failing.
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
        _search(space, mask, need, eligible, method, guarded, out)
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
    out: SearchOutcome,
) -> None:
    """Hypercube or singleton pass, then the attacker-guided pass (in place)."""
    check = None
    if method == "modular":
        _modular(space, mask, need, eligible, progress, out)
        return
    if method == "hypercube" and space.grids:
        points = out.points
        try:
            hypercube_secondary(space, mask, need, eligible, progress=progress, points=points)
            limit = min(300, max(30, CLEANUP_CELL_BUDGET // max(space.n_cells, 1)))
            hypercube_cleanup(space, mask, need, points, limit=limit, progress=progress)
            if space.n_cells > LOCAL_FINISH_ABOVE:
                _local_finish(space, mask, need, eligible, progress, out)
                points = out.points
        except _Deadline:
            _complete_by_chains(space, mask, need, eligible, out)
        # the points the hypercube pass found, verified, show most cells protected already:
        # the attacker pass starts from the others
        check = mask & ~proven_by_points(space, mask, need, points)
    else:
        singleton_pass(space, mask, need, eligible)
    # the attacks' feasible points join the search's proofs (the audit's hints)
    attacker_pass(space, mask, need, eligible, progress, check, points=out.points)


def _local_finish(
    space: CellSpace,
    mask: npt.NDArray[np.bool_],
    need: npt.NDArray[np.float64],
    eligible: npt.NDArray[np.bool_],
    progress: Progress | None,
    out: SearchOutcome,
) -> None:
    """Protect the cells the hypercube pass left with local LPs (in place; big tables).

    A :class:`~iaptkit.sdc.solver.modular.ModularSearch` on small neighbourhoods
    (:data:`LOCAL_FINISH_CAP` cells), seeded with the hypercube points: a cell they show
    protected costs nothing, each other one a small min-cost LP that may suppress more
    cells. ``out.points`` becomes the search's live points (the hypercube ones among them),
    the audit's hints. Cells it cannot protect are left to the attacker pass.
    """
    search = ModularSearch(space, mask, need, eligible, cap=LOCAL_FINISH_CAP)
    search.seed(out.points)
    try:
        search.protect_all(progress)
    finally:  # at a deadline too: the proofs so far, for the completion by chains
        out.points[:] = search.live_points()


def _complete_by_chains(
    space: CellSpace,
    mask: npt.NDArray[np.bool_],
    need: npt.NDArray[np.float64],
    eligible: npt.NDArray[np.bool_],
    out: SearchOutcome,
) -> None:
    """At a deadline in the hypercube method: a safe pattern from the one so far, or fallback.

    The suppressed cells the verified points do not protect get their chain products
    suppressed (:func:`iaptkit.sdc.solver.chains.chain_completion`); when every suppressed
    cell is then proven by verified points, that pattern is kept (:class:`_SafeStop`: timed
    out, not the fallback). Otherwise :class:`_Deadline` again (the always-safe fallback).
    """
    left = np.flatnonzero(mask & ~proven_by_points(space, mask, need, out.points))
    done = chain_completion(space, mask, need, eligible, left)
    if done is None:
        raise _Deadline
    trial, extra = done
    points = [*out.points, *extra]
    if not proven_by_points(space, trial, need, points)[trial].all():
        raise _Deadline
    mask[:] = trial
    out.points[:] = points
    raise _SafeStop


def _modular(
    space: CellSpace,
    mask: npt.NDArray[np.bool_],
    need: npt.NDArray[np.float64],
    eligible: npt.NDArray[np.bool_],
    progress: Progress | None,
    out: SearchOutcome,
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
            try:
                stopped = _modular_start(space, search, start, need, eligible, progress)
            finally:
                proofs = search.live_points()
            if best is None or space.cost[start].sum() < space.cost[best].sum():
                best = start
                out.points = proofs
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
    attacker_pass(space, mask, need, eligible, progress, check)
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
        attacker_pass(space, mask, need, eligible, progress, check)
    return False
