"""The relations an attacker knows between the counts of a published measures table.

Within a breakdown that partitions England the groups add up to the England value (and a
combined breakdown ``a x b`` adds up to ``a``, to ``b`` and to England); between the measures of
one cell the equalities, inequalities and sums' bounds below. Each is taken only where the true
counts satisfy it (docs/disclosure-control.md, "Derived statistics").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from iaptkit.definitions.labels import BREAKDOWN_SEPARATOR, GROUP_SEPARATOR

__all__ = [
    "CELL_KEY",
    "MEASURE_EQUALITIES",
    "MEASURE_INEQUALITIES",
    "MEASURE_SCALED_BOUNDS",
    "measure_relations",
    "scaled_rows",
]

#: The columns that name a cell of a measures table.
CELL_KEY = ("period_start", "period_end", "breakdown", "group", "measure")
#: ``total = sum(parts)`` relations between measures of the same period, breakdown and group.
MEASURE_EQUALITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("finished_treatment", ("at_caseness", "not_at_caseness")),
)
#: ``sum(parts) <= total`` relations between measures of the same period, breakdown and group.
MEASURE_INEQUALITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("at_caseness", ("recovered",)),
    ("recovered", ("reliably_recovered",)),
    ("waited_18_weeks", ("waited_6_weeks",)),
    ("finished_treatment", ("waited_18_weeks",)),
    ("finished_treatment", ("reliably_improved", "reliably_deteriorated", "no_reliable_change")),
    ("ended_referrals", ("finished_treatment",)),
    ("second_treatment", ("first_to_second_over_90_days",)),
)
#: ``low * cohort <= total <= high * cohort`` between measures of the same cell: a count that
#: sums a per-pathway value over a cohort bounds the cohort's count (``sum_sessions_finished``:
#: a finished course has at least the definitions' minimum of treatment sessions, 2 by
#: default, and at least 1 under any definitions; none has 1,000). The first ``low`` the true
#: counts satisfy is used.
MEASURE_SCALED_BOUNDS: tuple[tuple[str, str, tuple[float, ...], float], ...] = (
    ("sum_sessions_finished", "finished_treatment", (2.0, 1.0), 1000.0),
)


def measure_relations(
    counts: pd.DataFrame,
) -> tuple[list[dict[int, float]], list[dict[int, float]]]:
    """Equalities (``sum == 0``) and inequalities (``sum <= 0``) holding for the true counts.

    ``counts``: one row per count cell (:data:`CELL_KEY` columns and ``true_value``); the rows
    are ``{cell position: coefficient}``.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [("england", "England", 30), ("provider", "A", 26), ("provider", "B", 4)]
    >>> counts = pd.DataFrame([dict(period_start="s", period_end="e", breakdown=b, group=g,
    ...     measure="finished_treatment", true_value=v) for b, g, v in rows])
    >>> measure_relations(counts)
    ([{0: -1.0, 1: 1.0, 2: 1.0}], [])
    """
    idx = {tuple(k): i for i, k in enumerate(counts[list(CELL_KEY)].to_numpy().tolist())}
    vals = counts["true_value"].to_numpy(dtype=np.int64)
    eqs: list[dict[int, float]] = []
    ineqs: list[dict[int, float]] = []

    def _add(total: int, parts: Sequence[int], store: list[dict[int, float]], eq: bool) -> None:
        s = int(vals[list(parts)].sum())
        if (eq and s == vals[total]) or (not eq and s <= vals[total]):
            row: dict[int, float] = {total: -1.0}
            for p in parts:
                row[p] = row.get(p, 0.0) + 1.0
            store.append(row)

    # Breakdowns adding up to England / to their components.
    for (ps, pe, measure), sub in counts.groupby(["period_start", "period_end", "measure"]):
        england = idx.get((ps, pe, "england", "England", measure))
        for breakdown, part in sub.groupby("breakdown"):
            if breakdown == "england":
                continue
            members = [idx[(ps, pe, breakdown, g, measure)] for g in part["group"]]
            if england is not None:
                _add(england, members, eqs, True)
            names = str(breakdown).split(BREAKDOWN_SEPARATOR)
            if len(names) < 2:
                continue
            split = part["group"].str.split(GROUP_SEPARATOR, regex=False)
            for k, comp in enumerate(names):
                labels = split.str[k]
                for label, rows in part.groupby(labels.to_numpy()):
                    target = idx.get((ps, pe, comp, str(label), measure))
                    if target is not None:
                        parts_ = [idx[(ps, pe, breakdown, g, measure)] for g in rows["group"]]
                        _add(target, parts_, eqs, True)
    # Relations between measures of the same cell.
    cell_groups = counts[["period_start", "period_end", "breakdown", "group"]].drop_duplicates()
    for ps, pe, breakdown, group in cell_groups.itertuples(index=False, name=None):
        for store, rules, eq in (
            (eqs, MEASURE_EQUALITIES, True),
            (ineqs, MEASURE_INEQUALITIES, False),
        ):
            for total, parts in rules:
                t = idx.get((ps, pe, breakdown, group, total))
                ps_ = [idx.get((ps, pe, breakdown, group, p)) for p in parts]
                if t is None or any(p is None for p in ps_):
                    continue
                _add(t, [p for p in ps_ if p is not None], store, eq)
        for total, cohort, lows, high in MEASURE_SCALED_BOUNDS:
            t = idx.get((ps, pe, breakdown, group, total))
            c = idx.get((ps, pe, breakdown, group, cohort))
            if t is not None and c is not None:
                ineqs.extend(scaled_rows(t, c, lows, high, lambda r: _holds(r, vals)))
    return eqs, ineqs


def _holds(row: dict[int, float], vals: npt.NDArray[np.int64]) -> bool:
    return sum(a * float(vals[j]) for j, a in row.items()) <= 1e-9


def scaled_rows(
    total: int,
    cohort: int,
    lows: Sequence[float],
    high: float,
    holds: Callable[[dict[int, float]], bool],
) -> list[dict[int, float]]:
    """The rows (``<= 0``) of ``low * cohort <= total <= high * cohort`` that ``holds`` accepts.

    The first of ``lows`` that holds is taken (:data:`MEASURE_SCALED_BOUNDS`); ``holds`` says
    whether a row holds on the true counts (always, where they are unknown).

    Examples
    --------
    >>> scaled_rows(0, 1, (2.0, 1.0), 1000.0, lambda row: True)
    [{1: 2.0, 0: -1.0}, {0: 1.0, 1: -1000.0}]
    """
    rows = []
    for low in lows:
        row = {cohort: low, total: -1.0}
        if holds(row):
            rows.append(row)
            break
    upper = {total: 1.0, cohort: -high}
    if holds(upper):
        rows.append(upper)
    return rows
