"""Cell rules of a policy: primary suppression, rounding, and what the attacker learns.

Pure functions over ``numpy`` arrays of true counts. :func:`apply_policy` gives, for every cell,
whether the policy suppresses it (primary suppression), the value it would be published as
(rounded per policy, halves up, or by midpoint 6), and the attacker's bounds on the true value
when the cell is published and when it is shown as ``*`` -- the inputs of a
:class:`~iaptkit.sdc.solver.cells.CellSpace`.

The attacker model is the one of ``docs/disclosure-control.md`` ("The attacker"): they
know the policy, so a value published after rounding to the nearest ``b`` (halves up) means
``r - floor(b/2) .. r + ceil(b/2) - 1`` (``r - 2 .. r + 2`` for ``b = 5``), a published count
means at least the threshold, and a ``*`` means ``0 ..`` (``1 ..`` where zeros are shown);
primary and secondary suppressions look alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from iaptkit.errors import PolicyError
from iaptkit.sdc.policies import Policy

__all__ = [
    "ROUNDING_CHOICES",
    "CellRules",
    "apply_policy",
    "midpoint6",
    "primary_mask",
    "round_half_up",
    "rounding_interval",
]

#: Values accepted for ``rounding=`` by :func:`apply_policy` and :func:`iaptkit.sdc.protect`.
ROUNDING_CHOICES: tuple[str, ...] = ("policy", "midpoint6")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def round_half_up(values: npt.ArrayLike, base: int) -> IntArray:
    """Round whole numbers to the nearest multiple of ``base``, halves up.

    Parameters
    ----------
    values
        Whole numbers >= 0.
    base
        The rounding base (1 = unchanged).

    Returns
    -------
    numpy.ndarray of int64

    Notes
    -----
    ``docs/disclosure-control.md``: rounding "to the nearest 5" rounds halves up;
    for whole numbers and base 5 no half occurs (12 -> 10, 13 -> 15). For an even base
    (e.g. 10) 15 -> 20.

    Examples
    --------
    >>> round_half_up([0, 2, 3, 7, 12, 13, 15], 5).tolist()
    [0, 0, 5, 5, 10, 15, 15]
    >>> round_half_up([14, 15], 10).tolist()
    [10, 20]
    """
    v = np.asarray(values, dtype=np.int64)
    if base <= 1:
        return v.copy()
    return ((2 * v + base) // (2 * base)) * base


def midpoint6(values: npt.ArrayLike) -> IntArray:
    """OpenSAFELY "midpoint 6" rounding: 0 -> 0, 1-6 -> 3, 7-12 -> 9, 13-18 -> 15, ...

    Parameters
    ----------
    values
        Whole numbers >= 0.

    Returns
    -------
    numpy.ndarray of int64

    Notes
    -----
    OpenSAFELY documentation (midpoint 6 derivation), as listed in
    ``docs/disclosure-control.md`` for the ``opensafely`` policy.

    Examples
    --------
    >>> midpoint6([0, 1, 6, 7, 12, 13]).tolist()
    [0, 3, 3, 9, 9, 15]
    """
    v = np.asarray(values, dtype=np.int64)
    return np.where(v <= 0, 0, 6 * ((v + 5) // 6) - 3).astype(np.int64)


def rounding_interval(published: npt.ArrayLike, base: int) -> tuple[IntArray, IntArray]:
    """The true values that round (halves up) to each published value.

    Parameters
    ----------
    published
        Published (rounded) values.
    base
        The rounding base.

    Returns
    -------
    lower, upper
        ``int64`` arrays, ``lower`` clipped at 0.

    Notes
    -----
    Attacker model, ``docs/disclosure-control.md``: "a rounded value r means the truth
    lies in r-2 .. r+2" for base 5.

    Examples
    --------
    >>> lo, hi = rounding_interval([15, 0], 5)
    >>> lo.tolist(), hi.tolist()
    ([13, 0], [17, 2])
    """
    p = np.asarray(published, dtype=np.int64)
    if base <= 1:
        return p.copy(), p.copy()
    lower = np.maximum(p - base // 2, 0)
    upper = p + (base + 1) // 2 - 1
    return lower.astype(np.int64), upper.astype(np.int64)


def primary_mask(
    values: npt.ArrayLike, policy: Policy, structural_zero: npt.ArrayLike | None = None
) -> BoolArray:
    """Cells the policy suppresses: 1 .. threshold-1, and 0 when zeros are suppressed.

    Parameters
    ----------
    values
        True counts.
    policy
        The policy.
    structural_zero
        Cells known to be zero by construction: never suppressed.

    Returns
    -------
    numpy.ndarray of bool

    Notes
    -----
    ``docs/disclosure-control.md``, "Policies to ship" (counts suppressed, zeros).

    Examples
    --------
    >>> from iaptkit.sdc.policies import load_policy
    >>> primary_mask([0, 1, 9, 10], load_policy("nhs-sde")).tolist()
    [True, True, True, False]
    >>> primary_mask([0, 1, 7, 8], load_policy("nhs-hes")).tolist()
    [False, True, True, False]
    """
    v = np.asarray(values, dtype=np.int64)
    small = v < policy.threshold
    if not policy.zeros_suppressed:
        small &= v > 0
    if structural_zero is not None:
        small &= ~np.asarray(structural_zero, dtype=bool)
    return np.asarray(small, dtype=bool)


@dataclass(frozen=True, eq=False)
class CellRules:
    """The policy applied cell by cell (arrays of equal length).

    Attributes
    ----------
    primary
        Suppressed by the policy itself.
    published
        The value each cell is published as if it is not suppressed (rounded per policy).
    published_lower, published_upper
        What the attacker knows of the true value of a published cell.
    suppressed_lower, suppressed_upper
        What the attacker knows of the true value of a cell shown as ``*``.
    method
        ``"unrounded"``, ``"nearest-<base> (halves up)"`` with the scope, or ``"midpoint6"``.
    """

    primary: BoolArray
    published: IntArray
    published_lower: FloatArray
    published_upper: FloatArray
    suppressed_lower: FloatArray
    suppressed_upper: FloatArray
    method: str


def apply_policy(
    values: npt.ArrayLike,
    policy: Policy,
    *,
    national: npt.ArrayLike | None = None,
    structural_zero: npt.ArrayLike | None = None,
    derived_total: npt.ArrayLike | None = None,
    rounding: str = "policy",
) -> CellRules:
    """Apply a policy's suppression and rounding rules to true counts.

    Parameters
    ----------
    values
        True counts (whole numbers >= 0).
    policy
        The policy.
    national
        ``bool`` per cell: national counts (unrounded under a "sub-national" rounding scope).
        ``None``: no cell is national.
    structural_zero
        ``bool`` per cell: zero by construction (published as 0, known exactly).
    derived_total
        ``bool`` per cell: totals published as the sum of their published cells (the policy's
        ``sum_of_rounded`` margin rule). They are never primary-suppressed and reveal nothing
        beyond the relations, so their attacker bounds are ``[0, inf)``; their published value
        is filled in later by the caller.
    rounding
        ``"policy"`` (the policy's rounding) or ``"midpoint6"`` (only where the policy allows it;
        small counts are then rounded, not suppressed).

    Returns
    -------
    CellRules

    Raises
    ------
    PolicyError
        ``rounding="midpoint6"`` under a policy that does not allow it, or an unknown choice.

    Notes
    -----
    Rules: ``docs/disclosure-control.md`` ("Policies to ship", "The attacker").

    Examples
    --------
    >>> from iaptkit.sdc.policies import load_policy
    >>> r = apply_policy([3, 12, 13], load_policy("nhs-sde"))
    >>> r.primary.tolist(), r.published.tolist()
    ([True, False, False], [5, 10, 15])
    >>> r.published_lower.tolist(), r.published_upper.tolist()
    ([3.0, 10.0, 13.0], [7.0, 12.0, 17.0])
    """
    v = np.asarray(values, dtype=np.int64)
    n = v.shape[0]
    nat = np.zeros(n, dtype=bool) if national is None else np.asarray(national, dtype=bool)
    sz = np.zeros(n, dtype=bool) if structural_zero is None else np.asarray(structural_zero, bool)
    derived = np.zeros(n, dtype=bool) if derived_total is None else np.asarray(derived_total, bool)
    if rounding not in ROUNDING_CHOICES:
        raise PolicyError(
            f"Unknown rounding {rounding!r}: expected one of {', '.join(ROUNDING_CHOICES)}."
        )
    inf = np.full(n, np.inf)
    if rounding == "midpoint6":
        if not policy.midpoint6_allowed:
            raise PolicyError(
                f"Policy {policy.id} v{policy.version} does not allow midpoint 6 rounding "
                "(rounding.midpoint6_allowed is false); use rounding='policy'."
            )
        published = np.where(sz, 0, midpoint6(v))
        lower = np.where(published == 0, 0, published - 2).astype(np.float64)
        upper = np.where(published == 0, 0, published + 3).astype(np.float64)
        lower = np.where(derived, 0.0, lower)
        upper = np.where(derived, np.inf, upper)
        return CellRules(
            primary=np.zeros(n, dtype=bool),
            published=published.astype(np.int64),
            published_lower=lower,
            published_upper=upper,
            suppressed_lower=np.zeros(n),
            suppressed_upper=inf,
            method="midpoint6",
        )

    primary = primary_mask(v, policy, sz) & ~derived
    rounded_cell = np.array([policy.rounds_cell(national=bool(x)) for x in nat], dtype=bool)
    base = policy.rounding_base
    rounded = round_half_up(v, base)
    published = np.where(rounded_cell, rounded, v)
    r_lo, r_hi = rounding_interval(published, base)
    lower = np.where(rounded_cell, r_lo, v).astype(np.float64)
    upper = np.where(rounded_cell, r_hi, v).astype(np.float64)
    # A published non-zero count is at least the threshold (smaller ones are suppressed).
    nonzero_pub = (published > 0) & ~sz & ~primary
    lower = np.where(nonzero_pub, np.maximum(lower, policy.threshold), lower)
    # Under "zeros shown" a published 0 after rounding means 0 .. base/2 - 1, and all of those
    # but 0 are below the threshold (suppressed): so it is exactly 0.
    zero_pub = (published == 0) & ~primary
    upper = np.where(zero_pub & (policy.threshold > upper), 0.0, upper)
    lower = np.where(sz, 0.0, lower)
    upper = np.where(sz, 0.0, upper)
    lower = np.where(derived, 0.0, lower)
    upper = np.where(derived, np.inf, upper)
    sup_lower = np.full(n, 0.0 if policy.zeros_suppressed else 1.0)
    # A true zero is never suppressed where zeros are shown (the solver should not pick it);
    # should it be, the attacker interval still has to contain the truth.
    sup_lower = np.where(v == 0, 0.0, sup_lower)
    if policy.rounds:
        method = f"nearest {base}, halves up ({policy.rounding_applies_to} counts)"
    else:
        method = "unrounded"
    return CellRules(
        primary=primary,
        published=published.astype(np.int64),
        published_lower=lower,
        published_upper=upper,
        suppressed_lower=sup_lower,
        suppressed_upper=inf,
        method=method,
    )
