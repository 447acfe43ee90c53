"""Rates that reveal nothing: how a published rate is made, and the audit that proves it.

The policy's ``rates.from_counts`` (:attr:`iaptkit.sdc.policies.Policy.rates_from`) fixes how
a rate and its confidence limits are made (``docs/disclosure-control.md``, "Derived
statistics"):

* ``published`` (or ``rounded``): from the counts as published (rounded where the policy
  rounds them, exact where it publishes them exactly). The rate is then a function of
  published values and tells the attacker nothing the counts do not (its constraint is implied
  by the counts' own).
* ``unrounded``: from the true counts (NHS practice for use inside the environment). Such a
  rate can give a rounded count back; it enters the integer audit as the exact set of
  (numerator, denominator) pairs that print as published, and an output the attacker can then
  narrow is refused.

A rate is suppressed with its numerator or denominator. Every published rate is read by the
integer audit (:func:`rates_audit`; :mod:`iaptkit.sdc.integer_attack`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse import csgraph

from iaptkit.sdc.integer_attack import (
    PairConstraint,
    StatisticFamily,
    consistent_pairs,
    integer_intervals,
)
from iaptkit.sdc.solver.cells import CellSpace
from iaptkit.sdc.solver.intervals import required_width

__all__ = ["PublishedRate", "RateAudit", "fmt", "rate_texts", "rates_audit", "reveals_nothing"]

_Z = 1.959963984540054


def fmt(x: float, decimals: int) -> str:
    """``x`` printed to ``decimals`` places, halves up.

    Examples
    --------
    >>> fmt(9.25, 1), fmt(2.5, 0)
    ('9.3', '3')
    """
    q = Decimal(1).scaleb(-decimals)
    return str(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))


def rate_texts(num: float, den: float, decimals: int) -> tuple[str, str, str]:
    """A rate (per cent) and its 95 % Wilson limits, as printed.

    Examples
    --------
    >>> rate_texts(20, 240, 1)
    ('8.3', '5.5', '12.5')
    """
    p = min(max(num / den, 0.0), 1.0)
    centre = (p + _Z * _Z / (2 * den)) / (1 + _Z * _Z / den)
    half = _Z * math.sqrt(p * (1 - p) / den + _Z * _Z / (4 * den * den)) / (1 + _Z * _Z / den)
    lo, hi = 100 * max(centre - half, 0.0), 100 * min(centre + half, 1.0)
    return fmt(100.0 * num / den, decimals), fmt(lo, decimals), fmt(hi, decimals)


def _printer(decimals: int) -> Callable[[int, int], tuple[str, ...]]:
    return lambda n, d: rate_texts(n, d, decimals)


def _box_size(box: tuple[float, float]) -> int:
    return int(math.floor(box[1]) - math.ceil(box[0]) + 1)


def reveals_nothing(
    num_box: tuple[float, float],
    den_box: tuple[float, float],
    decimals: int,
    texts: tuple[str, str, str],
) -> bool:
    """Whether printed rate ``texts`` rule out no pair of the published counts' boxes.

    Examples
    --------
    9.2 % (true 22 of 240) rules out numerators 18..21 of a published 20:

    >>> reveals_nothing((18, 22), (238, 242), 1, ("9.2", "6.1", "13.6"))
    False
    >>> reveals_nothing((22, 22), (240, 240), 1, rate_texts(22, 240, 1))
    True
    """
    pairs = consistent_pairs(num_box, den_box, _printer(decimals), texts)
    lo_n, lo_d = math.ceil(num_box[0]), math.ceil(den_box[0])
    full = sum(
        1
        for n in range(lo_n, lo_n + _box_size(num_box))
        for d in range(lo_d, lo_d + _box_size(den_box))
        if d > 0 and n <= d
    )
    return len(pairs) == full


@dataclass(frozen=True)
class PublishedRate:
    """A published rate: its count cells, printed precision and texts, and how it was made.

    ``from_published`` rates are functions of published counts: their constraint is implied.
    """

    num: int
    den: int
    decimals: int
    texts: tuple[str, str, str]
    from_published: bool


@dataclass(frozen=True)
class RateAudit:
    """The integer audit of counts read together with their published rates.

    Attributes
    ----------
    passed
        No suppressed count is determined exactly, and every primary keeps its width.
    n_rates, n_informative
        Published rates, and those that narrowed some count's box (entered as constraints).
    failures
        ``(label, lower, upper)`` of the cells that fail.
    failed_cells
        Their cell indices.
    """

    passed: bool
    n_rates: int
    n_informative: int
    failures: tuple[tuple[str, float, float], ...]
    failed_cells: tuple[int, ...] = ()


def rates_audit(
    space: CellSpace,
    suppressed: npt.NDArray[np.bool_],
    rates: Sequence[PublishedRate],
    *,
    exhaustive: bool = False,
    families: Sequence[StatisticFamily] = (),
    only: npt.NDArray[np.bool_] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> RateAudit:
    """Audit suppressed counts against an integer attacker who also reads the rates.

    Parameters
    ----------
    space
        The counts' cell space (relations, inequalities, what each published value says).
    suppressed
        Cells shown as ``*``.
    rates
        Every published rate.
    exhaustive
        Solve every component with a suppressed cell; by default only those where a rate or a
        mean says more than the published counts (elsewhere the linear audit already holds).
    families
        Published means and sums (:mod:`iaptkit.sdc.means_audit`), read with the counts.
    only
        Audit these cells only (e.g. those that failed before a constraint was dropped:
        dropping one only widens the others' intervals).
    progress
        Optional callback ``("rates", components done, components)`` of the integer attack.

    Returns
    -------
    RateAudit

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from iaptkit.sdc.solver.cells import CellSpace
    >>> v = np.array([3, 12, 15])
    >>> sp = CellSpace(v, sparse.csr_matrix([[1.0, 1.0, -1.0]]), v * 1.0, v * 1.0,
    ...                np.zeros(3), np.full(3, np.inf), v < 10, np.zeros(3, bool),
    ...                np.full(3, 10.0), v * 1.0)
    >>> rates_audit(sp, np.array([True, True, False]), []).passed
    True
    """
    lower, upper = space.attacker_bounds(suppressed)
    constraints: list[PairConstraint] = []
    for r in rates:
        if r.from_published:
            continue  # a function of published counts: its constraint is already known
        nb, db = (lower[r.num], upper[r.num]), (lower[r.den], upper[r.den])
        if reveals_nothing(nb, db, r.decimals, r.texts):
            continue
        pairs = consistent_pairs(nb, db, _printer(r.decimals), r.texts)
        constraints.append(PairConstraint(r.num, r.den, pairs, space.label(r.num)))
    targets = np.asarray(suppressed, dtype=bool) & ~space.structural_zero
    if only is not None:
        targets = targets & only
    if not exhaustive:
        near = np.zeros_like(targets)
        for pc in constraints:
            near[[pc.num, pc.den]] = True
        for fam in families:
            near[list(fam.counts)] = True
            near[[cell for _, cell in fam.sums]] = True
        if not near.any():
            return RateAudit(True, len(rates), 0, ())
        targets = targets & _linked(space, near)
    if not targets.any():
        return RateAudit(True, len(rates), len(constraints), ())
    need = required_width(space)
    lo, hi = integer_intervals(
        space.relations,
        space.inequalities,
        lower,
        upper,
        targets,
        constraints,
        families=families,
        enough=need,
        progress=progress,
    )
    bad = targets & ((hi - lo < need - 1e-9) | (hi <= lo))
    cells = tuple(int(i) for i in np.flatnonzero(bad))
    failures = tuple((space.label(i), float(lo[i]), float(hi[i])) for i in cells)
    return RateAudit(not failures, len(rates), len(constraints), failures, cells)


def _linked(space: CellSpace, seeds: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Cells connected to ``seeds`` through relations or inequalities."""
    mats = [space.relations]
    if space.inequalities is not None:
        mats.append(space.inequalities)
    inc = sparse.csr_matrix(sparse.vstack(mats) != 0, dtype=np.float64)
    adj = inc.T @ inc + sparse.identity(space.n_cells, format="csr")
    _, comp = csgraph.connected_components(adj, directed=False)
    return np.isin(comp, np.unique(comp[seeds]))
