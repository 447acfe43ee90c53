"""The attacker audit: the feasible interval of every suppressed cell, as a certificate.

:func:`audit` runs the attacker of ``docs/disclosure-control.md`` ("The attacker";
the engine is :func:`iaptkit.sdc.attack.attack`) and checks the **protection criterion**: no
suppressed cell is determined exactly, and every primary cell (zeros included, where the
policy suppresses zeros) has an interval at least its protection width wide. The result is an
:class:`AuditCertificate` with one :class:`CellInterval` per suppressed cell.

In ``"exact"`` mode the certificate reports exact LP optima (method ``highs-lp-exact``); in
``"sufficient"`` mode proven inner bounds with the same verdict. Counts are whole numbers, so
every bound is rounded inward to an integer (:mod:`iaptkit.sdc.solver.intervals`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from iaptkit.sdc.attack import Attack, attack
from iaptkit.sdc.solver.cells import CellSpace
from iaptkit.sdc.solver.hypercube import Move
from iaptkit.sdc.solver.intervals import required_width

__all__ = [
    "SUFFICIENT_AUDIT_ABOVE",
    "AuditCertificate",
    "CellInterval",
    "audit",
    "audit_mode",
    "certificate_from_attack",
]

#: Spaces with more cells than this get a sufficient audit (proven inner bounds, same verdict).
SUFFICIENT_AUDIT_ABOVE = 2000


def audit_mode(cells: int) -> str:
    """The audit mode for a cell space of ``cells`` cells: ``"exact"`` or ``"sufficient"``.

    Examples
    --------
    >>> audit_mode(10), audit_mode(SUFFICIENT_AUDIT_ABOVE + 1)
    ('exact', 'sufficient')
    """
    return "sufficient" if cells > SUFFICIENT_AUDIT_ABOVE else "exact"


METHOD_EXACT = "highs-lp-exact"
METHOD_SUFFICIENT = "inner-bounds: hypercube moves + local-lp moves + highs-lp"
PROTECTION = (
    "no suppressed cell determined exactly (upper > lower); every primary-suppressed cell "
    "(zeros included where the policy suppresses zeros) has upper - lower >= its protection "
    "width (default: the threshold)"
)
PROTECTION_SUFFICIENT = (
    PROTECTION + "; intervals are PROVEN INNER bounds (the attacker's interval contains each "
    "one; a cell may be less exposed than shown, never more), from verified feasible points"
)


def _json_num(v: float) -> float | int | None:
    """JSON-safe number: whole floats as int, infinity as ``None``."""
    if not math.isfinite(v):
        return None
    return int(v) if float(v).is_integer() else float(v)


@dataclass(frozen=True)
class CellInterval:
    """What the attacker can work out about one suppressed cell.

    Attributes
    ----------
    index, label
        The cell in its :class:`~iaptkit.sdc.solver.cells.CellSpace`.
    lower, upper
        The attacker's feasible interval (whole numbers; ``upper`` may be ``inf``).
    published_as_suppressed
        The cell is shown as ``*`` (always true for audited cells).
    is_primary, true_value
        Internal only (never exported).
    passed, reason
        Whether the cell meets the protection criterion, and why not.
    """

    index: int
    label: str
    lower: float
    upper: float
    published_as_suppressed: bool
    is_primary: bool
    true_value: int
    passed: bool
    reason: str

    @property
    def width(self) -> float:
        """``upper - lower``."""
        return self.upper - self.lower


@dataclass(frozen=True)
class AuditCertificate:
    """The result of an audit: one interval per suppressed cell, and the verdict.

    Notes
    -----
    ``to_dict(internal=False)`` is export-safe: it omits which cells are primary, the true
    values and the per-cell verdicts (a failing width check would reveal a primary cell).
    """

    intervals: tuple[CellInterval, ...]
    passed: bool
    n_suppressed: int
    n_lp: int
    seconds: float
    method: str
    protection: str
    n_components: int = field(default=0)

    def failures(self) -> tuple[CellInterval, ...]:
        """The intervals that fail the protection criterion."""
        return tuple(c for c in self.intervals if not c.passed)

    def to_dict(self, *, internal: bool = False) -> dict[str, Any]:
        """A JSON-safe dictionary (infinite bounds become ``None``).

        Parameters
        ----------
        internal
            Include primary flags, true values and per-cell verdicts (for the output checker
            inside the environment only).
        """
        cells: list[dict[str, Any]] = []
        for c in self.intervals:
            d: dict[str, Any] = {
                "index": c.index,
                "label": c.label,
                "lower": _json_num(c.lower),
                "upper": _json_num(c.upper),
                "published_as_suppressed": c.published_as_suppressed,
            }
            if internal:
                d.update(
                    is_primary=c.is_primary,
                    true_value=c.true_value,
                    passed=c.passed,
                    reason=c.reason,
                )
            cells.append(d)
        return {
            "passed": self.passed,
            "n_suppressed": self.n_suppressed,
            "n_lp": self.n_lp,
            "seconds": round(self.seconds, 3),
            "method": self.method,
            "protection": self.protection,
            "intervals": cells,
        }


def audit(
    space: CellSpace,
    suppressed: npt.NDArray[np.bool_],
    *,
    mode: str = "exact",
    progress: Callable[[str, int, int], None] | None = None,
    hints: list[Move] | None = None,
) -> AuditCertificate:
    """Audit a suppression pattern against the attacker of the disclosure-control brief.

    Parameters
    ----------
    space
        The cells, relations and attacker knowledge.
    suppressed
        ``bool`` ``(n,)``: the cells shown as ``*`` (primary and secondary alike).
    mode
        ``"exact"`` (default): every interval is the attacker's exact LP interval.
        ``"sufficient"``: intervals are proven *inner* bounds (sub-intervals of the
        attacker's, from verified feasible points: :mod:`iaptkit.sdc.solver.cycles`), exact only for
        cells that could not be proven that way; the verdict is the same as the exact one,
        much faster on large tables (method ``METHOD_SUFFICIENT``).
    progress
        Optional callback ``("audit", done, total)`` per component of the cell space.
    hints
        ``"sufficient"`` mode only: candidate feasible points ``(cells, displacement)``, e.g.
        the proofs of the secondary-suppression search, to try first. The audit verifies each
        on the full relations, inequalities and bounds of ``suppressed`` and ignores any that
        fails, so hints only save time (a 200,000-cell table's audit then mostly checks the
        search's proofs); the verdict rests on verified points and LPs alone.

    Returns
    -------
    AuditCertificate
        One :class:`CellInterval` per suppressed cell (rounded inward to whole numbers) and
        the verdict.

    Notes
    -----
    Attacker model and protection criterion: ``docs/disclosure-control.md``, "The
    attacker". The intervals are those of the continuous relaxation (the classical audit of
    Fischetti and Salazar-González / tau-Argus); integer reasoning can only narrow them, and
    for 2-D tables with margins (totally unimodular relations, integer bounds) the LP
    interval equals the integer one.

    Examples
    --------
    A 1x2 table with its total: suppressing one cell alone reveals it.

    >>> import numpy as np
    >>> from scipy import sparse
    >>> from iaptkit.sdc.solver.cells import CellSpace
    >>> v = np.array([3, 12, 15])
    >>> space = CellSpace(
    ...     values=v, relations=sparse.csr_matrix([[1.0, 1.0, -1.0]]),
    ...     published_lower=v.astype(float), published_upper=v.astype(float),
    ...     suppressed_lower=np.zeros(3), suppressed_upper=np.full(3, np.inf),
    ...     primary=np.array([True, False, False]), structural_zero=np.zeros(3, bool),
    ...     protection_width=np.full(3, 10.0), cost=v.astype(float))
    >>> cert = audit(space, np.array([True, False, False]))
    >>> cert.passed, cert.intervals[0].lower, cert.intervals[0].upper
    (False, 3.0, 3.0)
    >>> audit(space, np.array([True, True, False])).intervals[0].upper
    15.0
    """
    if mode not in ("exact", "sufficient"):
        raise ValueError(f"audit mode must be 'exact' or 'sufficient', got {mode!r}")
    t0 = time.perf_counter()
    suppressed = np.asarray(suppressed, dtype=bool)
    if mode == "exact":
        res = attack(space, suppressed, progress=progress)
        return certificate_from_attack(space, suppressed, res, time.perf_counter() - t0)
    res = attack(space, suppressed, sufficient=True, progress=progress, hints=hints)
    return certificate_from_attack(
        space,
        suppressed,
        res,
        time.perf_counter() - t0,
        method=METHOD_SUFFICIENT,
        protection=PROTECTION_SUFFICIENT,
    )


def certificate_from_attack(
    space: CellSpace,
    suppressed: npt.NDArray[np.bool_],
    res: Attack,
    seconds: float,
    method: str = METHOD_EXACT,
    protection: str = PROTECTION,
) -> AuditCertificate:
    """Turn raw attacker results into a certificate (verdict per suppressed cell).

    Notes
    -----
    Criterion: ``docs/disclosure-control.md``, "The attacker"; see :func:`audit`.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from iaptkit.sdc.solver.cells import CellSpace
    >>> v = np.array([3, 12, 15])
    >>> sp = CellSpace(v, sparse.csr_matrix([[1.0, 1.0, -1.0]]), v * 1.0, v * 1.0,
    ...                np.zeros(3), np.full(3, np.inf), v < 10, np.zeros(3, bool),
    ...                np.full(3, 10.0), v * 1.0)
    >>> sup = np.array([True, True, False])
    >>> certificate_from_attack(sp, sup, attack(sp, sup), 0.0).passed
    True
    """
    need = required_width(space)
    intervals: list[CellInterval] = []
    for i_np in np.flatnonzero(suppressed):
        i = int(i_np)
        low, up = float(res.lower[i]), float(res.upper[i])
        primary = bool(space.primary[i])
        true_value = int(space.values[i])
        reason = ""
        if space.structural_zero[i]:
            reason = "structural zero suppressed (the attacker knows it is 0)"
        elif up <= low:
            reason = f"determined exactly: the attacker can work out {low:g}"
        elif up - low < need[i] - 1e-9:
            reason = f"interval [{low:g}, {up:g}] has width {up - low:g} < required {need[i]:g}"
        intervals.append(
            CellInterval(
                index=i,
                label=space.label(i),
                lower=low,
                upper=up,
                published_as_suppressed=True,
                is_primary=primary,
                true_value=true_value,
                passed=reason == "",
                reason=reason,
            )
        )
    return AuditCertificate(
        intervals=tuple(intervals),
        passed=all(c.passed for c in intervals),
        n_suppressed=len(intervals),
        n_lp=res.n_lp,
        seconds=seconds,
        method=method,
        protection=protection,
        n_components=res.n_components,
    )
