"""The attacker-guided pass of secondary suppression, and the singleton pass before it.

:func:`attacker_pass` solves the attacker's linear programs (:func:`iaptkit.sdc.attack.attack`)
and, for each suppressed cell still too narrow, suppresses the published cell whose bound holds
the interval in (non-zero reduced cost of the limiting LP) at the lowest cost per unit of width
restored, round after round, until every cell passes. :func:`singleton_pass` first gives every
lone suppressed cell of a relation a partner. Both are used by
:func:`iaptkit.sdc.secondary.secondary_suppression` (``docs/disclosure-control.md``, "Secondary
suppression and the audit").
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy import sparse

from iaptkit.errors import AuditFailedError
from iaptkit.sdc.attack import Attack, LimitingDuals, attack
from iaptkit.sdc.solver.cells import CellSpace
from iaptkit.sdc.solver.hypercube_moves import Move

__all__ = ["attacker_pass", "failing_cells", "singleton_pass"]

Progress = Callable[[str, int, int], None]
_RC_TOL = 1e-7


def singleton_pass(
    space: CellSpace,
    mask: npt.NDArray[np.bool_],
    need: npt.NDArray[np.float64],
    eligible: npt.NDArray[np.bool_],
) -> int:
    """Give every under-hidden lone suppressed cell of a relation a partner (in place).

    Parameters
    ----------
    space
        The cell space.
    mask
        ``bool`` ``(n,)``, updated in place: the suppression pattern.
    need
        Required width per cell.
    eligible
        Cells that may be suppressed.

    Returns
    -------
    int
        Cells added.
    """
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


def failing_cells(
    res: Attack, mask: npt.NDArray[np.bool_], need: npt.NDArray[np.float64]
) -> npt.NDArray[np.intp]:
    """Suppressed cells of ``mask`` whose interval in ``res`` is narrower than ``need``.

    Parameters
    ----------
    res
        Attacker results.
    mask
        ``bool`` ``(n,)``: the cells to look at.
    need
        Required width per cell.

    Returns
    -------
    numpy.ndarray
        Their indices.
    """
    width = res.upper - res.lower
    return np.flatnonzero(mask & ~(width >= need - 1e-9))


def attacker_pass(
    space: CellSpace,
    mask: npt.NDArray[np.bool_],
    need: npt.NDArray[np.float64],
    eligible: npt.NDArray[np.bool_],
    progress: Progress | None,
    first_check: npt.NDArray[np.bool_] | None = None,
    points: list[Move] | None = None,
) -> int:
    """Suppress cells guided by the attacker's LP duals until the audit passes (in place).

    Parameters
    ----------
    space
        The cell space.
    mask
        ``bool`` ``(n,)``, updated in place: the suppression pattern.
    need
        Required width per cell.
    eligible
        Cells that may be suppressed.
    progress
        Optional callback: ``("secondary", suppressed, still failing)`` per round and
        ``("lp", done, total)`` within one.
    first_check
        The suppressed cells to attack first (default: all); the others must be known to
        pass already.
    points
        Optional list that receives the feasible points of every round's attack (the proofs
        of the cells it passed: hints for the audit, which verifies them).

    Returns
    -------
    int
        Cells added.

    Raises
    ------
    AuditFailedError
        When no further suppression can widen a failing cell.
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
        res = attack(
            space, mask, sufficient=True, want_duals=True, only=check, progress=inner,
            points=points,
        )  # fmt: skip
        failing = failing_cells(res, mask & check, need)
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
