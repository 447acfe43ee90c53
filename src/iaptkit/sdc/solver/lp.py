"""A thin HiGHS wrapper: one bounded linear system, many objectives (min/max one variable).

The attacker audit of :mod:`iaptkit.sdc.audit` solves, for every suppressed cell, the two linear
programs *minimise* and *maximise* ``x_i`` over the same feasible set. :class:`IntervalLP` builds
that feasible set once in HiGHS and only changes the objective between solves, so the simplex
warm-starts from the previous optimal basis (the basis stays primal feasible when only the
objective changes), which is far faster than building a fresh model per solve.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import numpy.typing as npt
from scipy import sparse

__all__ = ["INF", "IntervalLP", "LPResult", "new_highs"]

INF = math.inf


def _quiet_highs() -> Any:
    """A new ``highspy.Highs`` without its start-up banner on standard output.

    HiGHS writes "Running HiGHS ..." from C++ when the solver is constructed, before any option
    can be set; results of the CLI go to files and progress to stderr, so the banner is kept off
    file descriptor 1 for the duration of the constructor only.
    """
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no usable fd 1 (unusual embedding): accept the banner
        return highspy.Highs()  # type: ignore[no-untyped-call]
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            try:
                return highspy.Highs()  # type: ignore[no-untyped-call]
            finally:
                os.dup2(saved, 1)
    finally:
        os.close(saved)


def new_highs() -> Any:
    """A quiet ``highspy.Highs`` to pass to several :class:`IntervalLP` in turn.

    Examples
    --------
    >>> h = new_highs()
    >>> IntervalLP(sparse.csr_matrix([[1.0, 1.0]]), np.array([5.0]), None, None,
    ...            np.zeros(2), np.full(2, np.inf), highs=h).optimise(0, maximise=True).value
    5.0
    """
    return _quiet_highs()


@dataclass(frozen=True)
class LPResult:
    """The outcome of optimising one variable.

    Attributes
    ----------
    value
        The optimum of the variable (``inf`` / ``-inf`` when unbounded in that direction).
    x
        An optimal (hence feasible) point, or ``None`` when unbounded.
    reduced_costs, row_duals
        Column and row duals at the optimum of the *minimisation* actually solved (HiGHS
        convention: ``reduced_costs = c - A.T @ row_duals``; negative at a binding upper
        bound, positive at a binding lower bound), or ``None``.
    """

    value: float
    x: npt.NDArray[np.float64] | None
    reduced_costs: npt.NDArray[np.float64] | None
    row_duals: npt.NDArray[np.float64] | None = None
    stopped_at_target: bool = False


def _finite(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Map +-inf to HiGHS's infinity."""
    out = np.asarray(a, dtype=np.float64).copy()
    out[np.isposinf(out)] = highspy.kHighsInf
    out[np.isneginf(out)] = -highspy.kHighsInf
    return out


class IntervalLP:
    """The polyhedron ``{x : A x = b, G x <= h, lower <= x <= upper}`` loaded once in HiGHS.

    Parameters
    ----------
    a_eq, b_eq
        Equality rows (sparse ``(m, n)``) and right-hand sides.
    a_ub, b_ub
        Inequality rows (sparse ``(k, n)``) and right-hand sides, or ``None``.
    lower, upper
        Column bounds (``inf`` allowed).
    highs
        Optional ``highspy.Highs`` to reuse (its model is replaced), from :func:`new_highs`;
        saves the solver's start-up when many small models are solved one after another.

    Notes
    -----
    Solved with the HiGHS dual/primal simplex (Huangfu and Hall, 2018) without presolve so that
    consecutive solves reuse the basis. Only the objective changes between
    :meth:`optimise` calls.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> lp = IntervalLP(sparse.csr_matrix([[1.0, 1.0]]), np.array([5.0]), None, None,
    ...                 np.zeros(2), np.full(2, np.inf))
    >>> lp.optimise(0, maximise=True).value
    5.0
    """

    def __init__(
        self,
        a_eq: sparse.csr_matrix,
        b_eq: npt.NDArray[np.float64],
        a_ub: sparse.csr_matrix | None,
        b_ub: npt.NDArray[np.float64] | None,
        lower: npt.NDArray[np.float64],
        upper: npt.NDArray[np.float64],
        highs: Any = None,
    ) -> None:
        n = int(lower.shape[0])
        blocks = [sparse.csr_matrix(a_eq, dtype=np.float64)]
        row_lo = [np.asarray(b_eq, dtype=np.float64)]
        row_hi = [np.asarray(b_eq, dtype=np.float64)]
        if a_ub is not None and b_ub is not None and a_ub.shape[0] > 0:
            blocks.append(sparse.csr_matrix(a_ub, dtype=np.float64))
            row_lo.append(np.full(a_ub.shape[0], -INF))
            row_hi.append(np.asarray(b_ub, dtype=np.float64))
        matrix = sparse.vstack(blocks, format="csc") if len(blocks) > 1 else blocks[0].tocsc()
        matrix.sort_indices()
        self.n = n
        self.n_solves = 0
        self._highs = _quiet_highs() if highs is None else highs
        self._highs.setOptionValue("output_flag", False)
        self._highs.setOptionValue("presolve", "off")
        # the first solve (cold) uses the dual simplex; later ones the primal simplex, since
        # after an objective change the previous optimal basis stays primal feasible
        self._highs.setOptionValue("simplex_strategy", 1)
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = int(matrix.shape[0])
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = _finite(lower)
        lp.col_upper_ = _finite(upper)
        lp.row_lower_ = _finite(np.concatenate(row_lo))
        lp.row_upper_ = _finite(np.concatenate(row_hi))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data.astype(np.float64)
        self._highs.passModel(lp)
        self._cost_idx = np.zeros(0, dtype=np.int32)

    def _set_objective(self, idx: npt.NDArray[np.int32], cost: npt.NDArray[np.float64]) -> None:
        if self._cost_idx.size:
            self._highs.changeColsCost(
                int(self._cost_idx.size), self._cost_idx, np.zeros(self._cost_idx.size)
            )
        self._highs.changeColsCost(int(idx.size), idx, cost)
        self._cost_idx = idx

    def _run(self) -> tuple[str, float]:
        self._highs.run()
        if self.n_solves == 0:
            self._highs.setOptionValue("simplex_strategy", 4)
        self.n_solves += 1
        status = self._highs.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            return "optimal", float(self._highs.getInfo().objective_function_value)
        if status == highspy.HighsModelStatus.kUnbounded:
            return "unbounded", -INF
        if status == highspy.HighsModelStatus.kInfeasible:
            return "infeasible", INF
        if status == highspy.HighsModelStatus.kObjectiveTarget:
            return "target", float(self._highs.getInfo().objective_function_value)
        return self._highs.modelStatusToString(status), math.nan

    def optimise_direction(
        self,
        idx: npt.NDArray[np.int32],
        cost: npt.NDArray[np.float64],
        target: float | None = None,
    ) -> LPResult:
        """Minimise ``cost @ x[idx]``; the result's ``value`` is the objective value.

        With ``target``, the simplex may stop at the first feasible point whose objective is
        ``<= target`` (``stopped_at_target``; ``value`` is then that point's objective, not
        the optimum).
        """
        self._set_objective(idx, cost)
        if target is not None:
            self._highs.setOptionValue("objective_target", float(target))
        try:
            status, obj = self._run()
        finally:
            if target is not None:
                self._highs.setOptionValue("objective_target", -INF)
        if status == "target" and self._highs.getInfo().primal_solution_status != 2:
            status, obj = self._run()  # not a primal feasible point: solve to optimality
        if status not in ("optimal", "unbounded", "target"):
            # numerical trouble on a warm start (the truth is feasible, so the LP is): solve
            # again from scratch with the dual simplex before giving up
            self._highs.clearSolver()
            self._highs.setOptionValue("simplex_strategy", 1)
            try:
                status, obj = self._run()
            finally:
                self._highs.setOptionValue("simplex_strategy", 4)
        if status == "unbounded":
            return LPResult(-INF, None, None, None)
        if status == "target":
            x = np.asarray(self._highs.getSolution().col_value)
            return LPResult(float(cost @ x[idx]), x, None, None, stopped_at_target=True)
        if status != "optimal":
            raise RuntimeError(f"HiGHS returned status {status!r} for an attacker LP")
        sol = self._highs.getSolution()
        return LPResult(
            obj, np.asarray(sol.col_value), np.asarray(sol.col_dual), np.asarray(sol.row_dual)
        )

    def optimise(self, j: int, *, maximise: bool, target: float | None = None) -> LPResult:
        """Minimise or maximise variable ``j`` (``value`` is the optimum of ``x_j``).

        ``target`` (a value of ``x_j``): stop as soon as a feasible point reaches it.
        """
        sense = -1.0 if maximise else 1.0
        res = self.optimise_direction(
            np.array([j], dtype=np.int32),
            np.array([sense]),
            None if target is None else sense * target,
        )
        return LPResult(
            sense * res.value, res.x, res.reduced_costs, res.row_duals, res.stopped_at_target
        )
