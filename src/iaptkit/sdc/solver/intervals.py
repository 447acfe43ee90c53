"""Whole-number attacker intervals: inward rounding, required widths and the width proof.

Counts are whole numbers, so an attacker's bound is rounded inward to an integer (``ceil`` of
the minimum, ``floor`` of the maximum) after snapping values within ``1e-6`` (plus ``1e-9``
relative; the simplex's feasibility tolerance is ``1e-7``) of an integer to that integer. A
suppressed cell is protected when its rounded interval is at least its required width
(``docs/disclosure-control.md``, "The attacker"). The audit
(:mod:`iaptkit.sdc.audit`) and the inner-bound provers (:mod:`iaptkit.sdc.solver.cycles`,
:mod:`iaptkit.sdc.solver.hypercube`) share these definitions.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from iaptkit.sdc.solver.cells import CellSpace

__all__ = ["SNAP_TOL", "int_lower", "int_upper", "proven", "required_width"]

#: Values this close to a whole number (plus ``1e-9`` relative) are that whole number.
SNAP_TOL = 1e-6


def int_lower(v: float) -> float:
    """Smallest whole number >= ``v`` (after snapping near-integers).

    Parameters
    ----------
    v
        A lower bound (may be infinite).

    Returns
    -------
    float
        The bound rounded inward (infinite bounds unchanged).

    Examples
    --------
    >>> int_lower(2.0000001), int_lower(2.3), int_lower(float("-inf"))
    (2.0, 3.0, -inf)
    """
    if not math.isfinite(v):
        return v
    r = round(v)
    if abs(v - r) <= SNAP_TOL + 1e-9 * abs(v):
        return float(r)
    return float(math.ceil(v))


def int_upper(v: float) -> float:
    """Largest whole number <= ``v`` (after snapping near-integers).

    Parameters
    ----------
    v
        An upper bound (may be infinite).

    Returns
    -------
    float
        The bound rounded inward (infinite bounds unchanged).

    Examples
    --------
    >>> int_upper(2.9999999), int_upper(2.7), int_upper(float("inf"))
    (3.0, 2.0, inf)
    """
    if not math.isfinite(v):
        return v
    r = round(v)
    if abs(v - r) <= SNAP_TOL + 1e-9 * abs(v):
        return float(r)
    return float(math.floor(v))


def proven(smin: float, smax: float, need: float) -> bool:
    """Whether feasible values ``smin`` .. ``smax`` of a cell prove it at least ``need`` wide.

    Parameters
    ----------
    smin, smax
        The lowest and highest value of the cell seen at feasible points (inner bounds of the
        attacker's interval).
    need
        The cell's required width (:func:`required_width`).

    Returns
    -------
    bool
        True when the whole-number interval ``[int_lower(smin), int_upper(smax)]`` is at least
        ``need`` wide (so the attacker's interval, which contains it, is too).

    Examples
    --------
    >>> proven(0.0, 10.0, 10.0), proven(0.5, 10.0, 10.0)
    (True, False)
    """
    return int_upper(smax) - int_lower(smin) >= need - 1e-9


def required_width(space: CellSpace) -> npt.NDArray[np.float64]:
    """Minimum ``upper - lower`` per cell if suppressed: protection width or 1 (not exact).

    Parameters
    ----------
    space
        The cells (``primary``, ``values`` and ``protection_width`` are used).

    Returns
    -------
    numpy.ndarray
        ``float64`` ``(n,)``: the required width of every cell.

    Notes
    -----
    Protection criterion of ``docs/disclosure-control.md`` ("The attacker"): every
    primary cell needs its protection width, zeros included (a zero is primary only where the
    policy suppresses zeros with the small counts: an attacker who learns that a suppressed
    zero lies in ``[0, 6]`` under a threshold of 10 learns as much as for a suppressed 3);
    every other suppressed cell must only not be determined exactly (whole numbers: width
    >= 1).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from iaptkit.sdc.solver.cells import CellSpace
    >>> v = np.array([3, 0, 12, 15])
    >>> sp = CellSpace(v, sparse.csr_matrix([[1.0, 1.0, 1.0, -1.0]]), v * 1.0, v * 1.0,
    ...                np.zeros(4), np.full(4, np.inf), v < 10, np.zeros(4, bool),
    ...                np.full(4, 10.0), v * 1.0)
    >>> required_width(sp).tolist()
    [10.0, 10.0, 1.0, 1.0]
    """
    width = np.where(space.primary, np.asarray(space.protection_width, dtype=np.float64), 1.0)
    return np.maximum(width, 1.0)
