"""Solve a cell space: apply the policy, choose secondary suppressions, audit, refuse on failure.

:func:`solve_cells` is the one place where the table-building side (:mod:`iaptkit.sdc.tables`,
:mod:`iaptkit.sdc.rules`) meets the solver side: it builds the
:class:`~iaptkit.sdc.solver.cells.CellSpace`, calls
:func:`iaptkit.sdc.secondary.secondary_suppression` and :func:`iaptkit.sdc.audit.audit`, and
raises :class:`~iaptkit.errors.AuditFailedError` when the final pattern fails the audit. Used by
:mod:`iaptkit.sdc.protect` and :mod:`iaptkit.sdc.derived`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from iaptkit.errors import AuditFailedError, ConfigError
from iaptkit.sdc import secondary as suppression
from iaptkit.sdc.audit import AuditCertificate, audit, audit_mode
from iaptkit.sdc.policies import Policy
from iaptkit.sdc.rules import CellRules, apply_policy
from iaptkit.sdc.solver.cells import CellSpace
from iaptkit.sdc.solver.hypercube import Move
from iaptkit.sdc.tables import CellTable

__all__ = [
    "COSTS",
    "STAGES",
    "STATUSES",
    "Progress",
    "SolvedCells",
    "cell_costs",
    "cells_frame",
    "solve_cells",
]

#: Named information-loss costs a site may choose (or a number in [0, 1]: the weight on cells).
COSTS: tuple[str, ...] = ("value", "cells")

#: Internal statuses of a count cell (exports show primary and secondary alike as ``*``).
STATUSES: tuple[str, ...] = ("published", "primary", "secondary", "structural_zero")
#: The stages a ``progress`` callback is told of, and what each counts (``done`` of ``total``).
STAGES: dict[str, str] = {
    "hypercube": "hypercube pass (primaries covered)",
    "modular": "modular pass (primaries covered)",
    "secondary": "secondary suppression (cells suppressed)",
    "attack": "attacker pass (suppressed cells checked)",
    "cleanup": "pruning redundant secondaries",
    "audit": "attacker audit",
    "rates": "integer audit of rates and means (components)",
}
_ZERO_SHOWN_COST = 1e6
#: With a timeout, the secondary search gets this share of it; the audit the rest.
SEARCH_SHARE = 0.6

BoolArray = npt.NDArray[np.bool_]
Progress = Callable[[str, int, int], None]


def cell_costs(
    values: npt.NDArray[np.int64], level: npt.NDArray[np.int64], cost: str | float = "value"
) -> npt.NDArray[np.float64]:
    """The information loss of suppressing each cell, as a site chooses it.

    Parameters
    ----------
    values, level
        True counts, and how many dims of each cell are totals (margins cost more).
    cost
        ``"value"`` (default: value mass, ``(1 + value) * (1 + level)``), ``"cells"`` (each cell
        costs the same, ``1 + level``) or a weight ``w`` in ``[0, 1]`` on cells: ``(1 + level)
        * (w + (1 - w) * (1 + value) / mean(1 + value))``.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ConfigError
        Unknown cost, or a weight outside ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> v, lev = np.array([0, 9, 40]), np.array([0, 0, 1])
    >>> cell_costs(v, lev).tolist(), cell_costs(v, lev, "cells").tolist()
    ([1.0, 10.0, 82.0], [1.0, 1.0, 2.0])
    """
    lev = 1.0 + level.astype(np.float64)
    mass = 1.0 + values.astype(np.float64)
    if isinstance(cost, str) and cost not in COSTS:
        try:
            cost = float(cost)
        except ValueError:
            raise ConfigError(
                f"Suppression cost must be one of {', '.join(COSTS)} or a weight between 0 and "
                f"1; found {cost!r}."
            ) from None
    if cost == "value":
        return mass * lev
    if cost == "cells":
        return lev
    w = float(cost)
    if not 0.0 <= w <= 1.0:
        raise ConfigError(f"Suppression cost weight must be between 0 and 1; found {w}.")
    scale = float(mass.mean()) if mass.size else 1.0
    return np.asarray(lev * (w + (1.0 - w) * mass / scale), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class SolvedCells:
    """The outcome of protecting a cell space (internal; one per protect call).

    Attributes
    ----------
    space
        The :class:`CellSpace` that was solved and audited.
    suppressed
        Final mask (primary + secondary, and sum-of-rounded totals above a suppressed cell).
    status
        Per-cell status (one of :data:`STATUSES`).
    published
        Published whole numbers (meaningless where suppressed).
    certificate
        The audit certificate of ``suppressed``.
    rules
        The policy's cell rules.
    timed_out, fallback
        The search stopped at its timeout (with the best safe pattern so far), and whether
        that was the always-safe fallback (every cell but structural zeros suppressed).
    """

    space: CellSpace
    suppressed: BoolArray
    status: npt.NDArray[np.object_]
    published: npt.NDArray[np.int64]
    certificate: AuditCertificate
    rules: CellRules
    timed_out: bool = False
    fallback: bool = False


def solve_cells(
    table: CellTable,
    policy: Policy,
    *,
    national: BoolArray | None = None,
    structural_zero: BoolArray | None = None,
    derived_total: BoolArray | None = None,
    rounding: str = "policy",
    labels: Sequence[str] = (),
    secondary: str = "auto",
    cost: str | float = "value",
    progress: Progress | None = None,
    timeout: float | None = None,
) -> SolvedCells:
    """Apply a policy to a cell table, choose secondary suppressions and audit the result.

    Parameters
    ----------
    table
        Cells, true values and relations (and inequalities).
    policy
        The policy.
    national, structural_zero, derived_total
        Per-cell flags, see :func:`iaptkit.sdc.rules.apply_policy`. ``derived_total`` cells
        need ``table.inner`` (their published value is the sum of their published inner cells;
        a derived total above a suppressed cell is suppressed too).
    rounding
        ``"policy"`` or ``"midpoint6"``.
    labels
        Readable cell names for the certificate.
    secondary
        Secondary suppression method (:func:`iaptkit.sdc.secondary.secondary_suppression`):
        ``"auto"``, ``"lp"``, ``"hypercube"`` or ``"modular"``.
    cost
        The information loss secondary suppression minimises (:func:`cell_costs`).
    progress
        Optional callback ``(stage, done, total)``: the secondary suppression's stages
        (``"hypercube"``, ``"secondary"``, ``"cleanup"``), then ``"audit"`` (components
        done of all).
    timeout
        Seconds for search and audit together. The secondary-suppression search gets
        :data:`SEARCH_SHARE` of them and then ends with the best SAFE pattern so far
        (:func:`iaptkit.sdc.secondary.secondary_suppression`, ``deadline``); the audit gets
        the rest, checked before every cell it proves. An audit not finished in time proves
        nothing, so the always-safe fallback (every cell but structural zeros suppressed)
        is published instead, after its own audit, which runs to the end.

    Returns
    -------
    SolvedCells

    Raises
    ------
    AuditFailedError
        The audit of the final pattern fails (names the failing cells).

    Notes
    -----
    Attacker model and criterion: ``docs/disclosure-control.md`` ("The attacker").
    Spaces of more than :data:`iaptkit.sdc.audit.SUFFICIENT_AUDIT_ABOVE` cells get a
    ``"sufficient"`` audit certificate (proven inner bounds, same verdict as the exact audit);
    smaller ones an exact one.

    Examples
    --------
    >>> import pandas as pd
    >>> from iaptkit.sdc.tables import build_cells, dim_structure
    >>> t = build_cells(pd.DataFrame({"a": ["x", "y"], "value": [20, 30]}),
    ...                 [dim_structure("a", ["x", "y"], margins=True)])
    >>> from iaptkit.sdc.policies import load_policy
    >>> s = solve_cells(t, load_policy("sdap"))
    >>> s.status.tolist(), s.certificate.passed
    (['published', 'published', 'published'], True)
    """
    n = table.n_cells
    sz = np.zeros(n, bool) if structural_zero is None else np.asarray(structural_zero, bool)
    derived = np.zeros(n, bool) if derived_total is None else np.asarray(derived_total, bool)
    if derived.any() and table.inner is None:
        raise ConfigError("Totals published as sums of rounded cells need the table structure.")
    if bool((table.values[sz] != 0).any()):
        bad = np.flatnonzero(sz & (table.values != 0))[:5]
        names = [labels[i] if labels else f"cell {i}" for i in bad]
        raise ConfigError(
            f"Cells declared structural zeros are not zero: {names} "
            f"(values {table.values[bad].tolist()}); expected 0."
        )
    rules = apply_policy(
        table.values,
        policy,
        national=national,
        structural_zero=sz,
        derived_total=derived,
        rounding=rounding,
    )
    costs = cell_costs(table.values, table.level, cost)
    if not policy.zeros_suppressed:
        costs = np.where((table.values == 0) & ~sz, _ZERO_SHOWN_COST, costs)
    space = CellSpace(
        values=table.values.astype(np.int64),
        relations=sparse.csr_matrix(table.relations, dtype=np.float64),
        published_lower=rules.published_lower,
        published_upper=rules.published_upper,
        suppressed_lower=rules.suppressed_lower,
        suppressed_upper=rules.suppressed_upper,
        primary=rules.primary,
        structural_zero=sz,
        protection_width=np.full(n, float(policy.protection_width)),
        cost=costs,
        inequalities=(
            None
            if table.inequalities is None
            else sparse.csr_matrix(table.inequalities, dtype=np.float64)
        ),
        labels=tuple(labels),
        grids=table.grids,
    )
    outcome = suppression.SearchOutcome()
    started = time.monotonic()
    if rules.primary.any():
        search_end = None if timeout is None else started + SEARCH_SHARE * float(timeout)
        mask = np.asarray(
            suppression.secondary_suppression(
                space, method=secondary, progress=progress, deadline=search_end, outcome=outcome
            ),
            dtype=bool,
        )
    else:
        mask = np.zeros(n, dtype=bool)
    mask = (mask | rules.primary) & ~sz
    published = rules.published.copy()
    if derived.any():
        assert table.inner is not None
        # Rows of ``table.inner`` for derived totals point at inner cells only (never derived).
        inner_mask = mask & ~derived
        under_suppressed = table.inner @ inner_mask.astype(np.int64)
        mask = mask | (derived & (under_suppressed > 0))
        inner_pub = np.where(~derived, published, 0).astype(np.int64)
        sums = np.asarray(table.inner @ inner_pub, dtype=np.int64)
        published = np.where(derived, sums, published)
    mode = audit_mode(n)
    end = None if timeout is None or outcome.fallback else started + float(timeout)
    certificate = _audit_by(space, mask, mode, progress, end, outcome.points)
    if certificate is None:
        # the pattern could not be proven in time: publish the always-safe fallback instead
        outcome.timed_out = outcome.fallback = True
        mask = ~sz
        certificate = audit(space, mask, mode=mode, progress=progress)
    if not certificate.passed:
        failures = certificate.failures()
        shown = "; ".join(
            f"{c.label}: attacker interval {c.lower:g}..{c.upper:g} ({c.reason})"
            for c in failures[:5]
        )
        raise AuditFailedError(
            f"The disclosure audit failed for {len(failures)} of {certificate.n_suppressed} "
            f"suppressed cells under policy {policy.id} v{policy.version}: {shown}. "
            "The output must not be released."
        )
    status = np.full(n, "published", dtype=object)
    status[mask] = "secondary"
    status[mask & rules.primary] = "primary"
    status[sz] = "structural_zero"
    published = np.where(sz, 0, published).astype(np.int64)
    return SolvedCells(
        space,
        mask,
        status,
        published,
        certificate,
        rules,
        timed_out=outcome.timed_out,
        fallback=outcome.fallback,
    )


class _AuditDeadline(Exception):
    """The audit ran past the timeout (internal: caught in :func:`_audit_by`)."""


def _audit_by(
    space: CellSpace,
    mask: BoolArray,
    mode: str,
    progress: Progress | None,
    end: float | None,
    hints: list[Move] | None = None,
) -> AuditCertificate | None:
    """The audit of ``mask``, or ``None`` when it is not finished by ``end`` (monotonic).

    ``hints``: the search's proofs, verified by the audit before they count (sufficient mode).
    """
    if end is None:
        return audit(space, mask, mode=mode, progress=progress, hints=hints)

    def guarded(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)
        if time.monotonic() > end:
            raise _AuditDeadline(stage)

    try:
        return audit(space, mask, mode=mode, progress=guarded, hints=hints)
    except _AuditDeadline:
        return None


def cells_frame(
    keys: pd.DataFrame,
    dims: Sequence[str],
    is_margin: BoolArray,
    solved: SolvedCells,
    positions: npt.NDArray[np.int64],
) -> pd.DataFrame:
    mask = solved.suppressed[positions]
    lower, upper = solved.space.attacker_bounds(solved.suppressed)
    published = pd.array(
        np.where(mask, 0, solved.published[positions]).astype(np.int64), dtype="Int64"
    )
    published[mask] = pd.NA
    out = keys[list(dims)].astype(str).reset_index(drop=True).copy()
    out["is_margin"] = np.asarray(is_margin, dtype=bool)
    out["value"] = solved.space.values[positions]
    out["published"] = published
    out["display"] = np.where(mask, "*", solved.published[positions].astype(str))
    out["status"] = solved.status[positions].astype(str)
    out["attacker_lower"] = lower[positions]
    out["attacker_upper"] = upper[positions]
    return out
