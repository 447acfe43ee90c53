"""Published means read with the counts: the sums behind them, and the means withheld.

A mean is published only with its contributors' count (``docs/disclosure-control.md``,
"Derived statistics"), so on its own it tells nothing of a suppressed count. Read together
they can: the sum behind a mean is the mean times its contributors, and the groups' sums add
up as their counts do. With England's mean and count and every provider's but one published,
the last provider's sum follows by subtraction; a positive sum means at least one pathway, and
sessions of at least 2 each mean at most half the sum. Published sums (``sum_sessions_finished``)
say the same directly.

:func:`statistic_families` models every published mean (and sum) for the integer attacker
(:class:`iaptkit.sdc.integer_attack.StatisticFamily`); :func:`withhold_means` audits the counts
with the rates and the means, and withholds means until no suppressed count is narrowed below
its width (the counts' pattern is not changed: withholding a mean only widens intervals).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse import csgraph

from iaptkit.sdc.integer_attack import StatisticFamily
from iaptkit.sdc.rates import PublishedRate, RateAudit, rates_audit
from iaptkit.sdc.solver.cells import CellSpace

__all__ = [
    "MAX_LINKED_COUNTS",
    "MeanValues",
    "PublishedMean",
    "mean_values",
    "statistic_families",
    "withhold_means",
]

#: Most counts linked to a mean's counts that the integer attacker audits the mean with.
MAX_LINKED_COUNTS = 6_000
#: Greatest wait in days the attacker is assumed to rule out (a hundred years).
_DAYS = 36_500.0
#: Greatest number of sessions of one course the attacker is assumed to rule out.
_SESSIONS = 1_000.0


@dataclass(frozen=True)
class MeanValues:
    """What the attacker knows of the per-pathway values behind a mean.

    ``low``/``high``: least and greatest possible value; ``every_member``: every pathway of
    the cohort has a value (otherwise those with one are a subset); ``sum_measure``: the count
    measure that publishes their sum, if any; ``over_time``: the cohort is a flow (those who
    finished, entered treatment, ... in the period), so a period's sum is the sum of its
    segments' (not so for a stock at the period end, such as the waiting list).
    """

    low: float
    high: float
    every_member: bool = False
    sum_measure: str | None = None
    over_time: bool = True


#: Means whose values the attacker knows more of than the name rules of :func:`mean_values`.
_NAMED: Mapping[str, MeanValues] = {
    # every finished course has at least the minimum of treatment sessions (2 by default)
    "mean_sessions_finished": MeanValues(2.0, _SESSIONS, True, "sum_sessions_finished"),
}


def mean_values(measure: str) -> MeanValues:
    """The values behind mean ``measure``, as an attacker knows them.

    Waits and gaps are days from 0; session counts of a therapy or intensity are counted only
    where positive (1 or more); WSAS items score 0 to 8; any other mean is taken as within
    plus or minus a million.

    Examples
    --------
    >>> mean_values("mean_wait_entered").low, mean_values("mean_hi_sessions").low
    (0.0, 1.0)
    >>> mean_values("mean_sessions_finished").sum_measure
    'sum_sessions_finished'
    >>> mean_values("mean_wait_so_far_waiting_for_treatment").over_time
    False
    """
    if measure in _NAMED:
        return _NAMED[measure]
    if "wsas" in measure:
        return MeanValues(0.0, 8.0)
    if "sessions" in measure:
        return MeanValues(1.0, _SESSIONS)
    if "so_far" in measure:  # the waiting list at the period end: a stock
        return MeanValues(0.0, _DAYS, over_time=False)
    if "wait" in measure or "days" in measure:
        return MeanValues(0.0, _DAYS)
    return MeanValues(-1e6, 1e6)


@dataclass(frozen=True)
class PublishedMean:
    """A mean as published: its table row, measure, contributors' count cell and text."""

    row: int
    measure: str
    cohort: int
    shown: float
    decimals: int


def statistic_families(
    means: Sequence[PublishedMean],
    all_means: Mapping[str, Sequence[tuple[int, float]]],
    relations: Sequence[Mapping[int, float]],
    sum_cells: Callable[[int, str], int | None],
) -> list[StatisticFamily]:
    """The integer attacker's model of the published means, one family per mean measure.

    Parameters
    ----------
    means
        The means published (others are withheld or suppressed).
    all_means
        Every mean measure of the table: its rows' ``(cohort count cell, true mean)`` (every
        group, published or not: each has a sum the attacker reasons about).
    relations
        The counts' equalities (``row @ counts == 0``) as ``{cell: coefficient}``; those over
        one measure's cells only hold for the sums too.
    sum_cells
        ``(cohort cell, sum measure) -> count cell`` publishing the group's sum, or ``None``.

    Returns
    -------
    list of StatisticFamily
        One per mean measure with a published mean or a sum cell.
    """
    shown: dict[str, list[PublishedMean]] = {}
    for m in means:
        shown.setdefault(m.measure, []).append(m)
    families = []
    for measure, groups in all_means.items():
        values = mean_values(measure)
        cells = tuple(dict.fromkeys(cell for cell, _ in groups))
        pos = {cell: q for q, cell in enumerate(cells)}
        sums = tuple(
            (pos[cell], s)
            for cell in cells
            if values.sum_measure and (s := sum_cells(cell, values.sum_measure)) is not None
        )
        if measure not in shown and not sums:
            continue
        low = values.low
        true = [v for _, v in groups if np.isfinite(v)]
        if true and min(true) < low:  # a site's definitions allow less (e.g. 1 session)
            low = min(1.0, low) if min(true) >= 1.0 else min(0.0, low)
        rows = tuple(
            {pos[c]: a for c, a in row.items()} for row in relations if all(c in pos for c in row)
        )
        half = [0.5 * 10.0 ** (-m.decimals) + 1e-9 for m in shown.get(measure, [])]
        published = tuple(
            (pos[m.cohort], m.shown - h, m.shown + h)
            for m, h in zip(shown.get(measure, []), half, strict=True)
        )
        families.append(
            StatisticFamily(
                cells, rows, low, values.high, published, sums, values.every_member, measure
            )
        )
    return families


def withhold_means(
    space: CellSpace,
    suppressed: npt.NDArray[np.bool_],
    rates: Sequence[PublishedRate],
    means: Sequence[PublishedMean],
    families: Callable[[Sequence[PublishedMean]], list[StatisticFamily]],
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[RateAudit, tuple[int, ...], tuple[int, ...]]:
    """Audit counts with rates and means; withhold means until the audit passes.

    Each round, for every suppressed count the attacker narrows below its width and every mean
    measure that narrows it on its own (every measure, where none does alone), the published
    mean of the smallest count in a sum with it is withheld (else the measure's smallest
    anywhere); the cells that failed are then audited again (withholding a mean only widens
    intervals: a cell that passed still does). A model the true values do not satisfy (a
    value outside what the attacker is assumed to know) withholds every mean.

    Means whose counts are linked to more than :data:`MAX_LINKED_COUNTS` counts are withheld
    first, unaudited (too large a problem for the integer attacker).

    ``progress``, if given, is told of each round's integer audit (``"rates"``,
    components done, components).

    Returns
    -------
    (RateAudit, tuple of int, tuple of int)
        The last audit, the table rows of the means withheld as narrowing a count, and those
        withheld as too large to audit.
    """
    shown = list(means)
    withheld: list[int] = []
    only: npt.NDArray[np.bool_] | None = None
    near = _sum_mates(space)
    big = _oversized(space, families(shown))
    # too many linked counts for the integer attacker: those means are withheld
    too_large = tuple(m.row for m in shown if m.measure in big)
    shown = [m for m in shown if m.measure not in big]

    def model(selected: Sequence[PublishedMean]) -> list[StatisticFamily]:
        return [f for f in families(selected) if f.label not in big]

    while True:
        try:
            checked = rates_audit(
                space, suppressed, rates, families=model(shown), only=only, progress=progress
            )
        except ValueError:  # the model does not hold for the truth: publish no mean
            withheld.extend(m.row for m in shown)
            return rates_audit(space, suppressed, rates), tuple(withheld), too_large
        if checked.passed or not shown:
            return checked, tuple(withheld), too_large
        failed = np.zeros(space.n_cells, dtype=bool)
        failed[list(checked.failed_cells)] = True
        # the mean measures that narrow a failing cell on their own (else all of them), tried
        # where a family's groups are the failing cells or in a sum with one
        touched = set(checked.failed_cells)
        for cell in checked.failed_cells:
            touched |= near.get(int(cell), set())
        culprits = {
            fam.label
            for fam in model(shown)
            if fam.means
            and not touched.isdisjoint([*fam.counts, *(c for _, c in fam.sums)])
            and not rates_audit(space, suppressed, rates, families=[fam], only=failed).passed
        }
        pool = [m for m in shown if m.measure in culprits] or shown
        drop = _to_withhold(near, space.values, checked.failed_cells, pool)
        if not drop:
            return checked, tuple(withheld), too_large
        withheld.extend(m.row for m in drop)
        shown = [m for m in shown if m not in drop]
        only = failed


def _oversized(space: CellSpace, families: Sequence[StatisticFamily]) -> set[str]:
    """Mean measures whose counts are linked to more than :data:`MAX_LINKED_COUNTS` counts.

    The integer attacker solves its problems over every count linked to a mean's counts by
    the relations (a table by provider x IMD decile with every family links some 16,000
    counts, and each problem then takes seconds); such means are withheld rather than
    published unaudited.
    """
    if not families:
        return set()
    mats = [space.relations]
    if space.inequalities is not None:
        mats.append(space.inequalities)
    rows = sparse.vstack(mats).tocsr()
    if rows.shape[0] == 0:
        return set()
    links = sparse.csr_matrix((np.ones(rows.nnz), rows.indices, rows.indptr), shape=rows.shape)
    graph = sparse.bmat([[None, links], [links.T, None]]).tocsr()
    _, labels = csgraph.connected_components(graph, directed=False)
    cells = labels[rows.shape[0] :]
    size = np.bincount(cells)
    return {
        str(f.label)
        for f in families
        if any(size[cells[c]] > MAX_LINKED_COUNTS for c in [*f.counts, *(c for _, c in f.sums)])
    }


def _sum_mates(space: CellSpace) -> dict[int, set[int]]:
    """Cell -> the cells in an equality or inequality with it."""
    mats = [space.relations]
    if space.inequalities is not None:
        mats.append(space.inequalities)
    coo = sparse.vstack(mats).tocoo()
    by_row: dict[int, set[int]] = {}
    for r, c in zip(coo.row.tolist(), coo.col.tolist(), strict=True):
        by_row.setdefault(r, set()).add(c)
    near: dict[int, set[int]] = {}
    for members in by_row.values():
        for c in members:
            near.setdefault(c, set()).update(members)
    return near


def _to_withhold(
    near: Mapping[int, set[int]],
    values: npt.NDArray[np.int64],
    failed: Sequence[int],
    shown: Sequence[PublishedMean],
) -> list[PublishedMean]:
    """Per failing cell and mean measure, the published mean of the smallest count near it."""
    drop: dict[int, PublishedMean] = {}
    measures = sorted({m.measure for m in shown})
    for cell in failed:
        mates = near.get(int(cell), set())
        for measure in measures:
            mine = [m for m in shown if m.measure == measure and m.row not in drop]
            pool = [m for m in mine if m.cohort in mates]
            if pool:
                pick = min(pool, key=lambda m: (float(values[m.cohort]), m.row))
                drop[pick.row] = pick
    if not drop:  # no mean in a sum with a failing cell: the smallest of each measure
        for measure in measures:
            mine = [m for m in shown if m.measure == measure]
            pick = min(mine, key=lambda m: (float(values[m.cohort]), m.row))
            drop[pick.row] = pick
    return list(drop.values())
