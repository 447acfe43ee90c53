"""A published median read with the band counts of its cell.

At least half of the pathways behind a median lie at or below it and at least half at or above
it; the values (waits in whole days) are whole numbers, so the median is a multiple of 0.5
within its printed rounding. Beside counts of the same cell that split its pathways by value
(:data:`iaptkit.definitions.bands.MEDIAN_COUNTS`) that bounds them: a median of 35.0 days
among 16 pathways puts at most 8 within 28 days (docs/disclosure-control.md, "Derived
statistics"). :func:`median_rows` gives the inequalities for one median, used by
``protect_measures`` (:func:`median_relations`) and by the release's joint audit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from iaptkit.definitions.bands import MEDIAN_COUNTS, MedianCounts
from iaptkit.sdc.measure_relations import CELL_KEY, holds_on
from iaptkit.sdc.rates import fmt

__all__ = ["median_relations", "median_rows"]


def median_rows(
    cells: Mapping[str, int], spec: MedianCounts, shown: float, decimals: int
) -> list[dict[int, float]]:
    """Rows (``<= 0``) that a median printed as ``shown`` gives the counts of its cell.

    ``cells``: the table's cell of each count measure of the same period, breakdown and group.
    At least half of the median's contributors lie at or below it and at least half at or
    above it; the contributors are whole numbers, so the median is a multiple of 0.5 within
    ``shown``'s rounding. So for a count ``D`` of the contributors at most ``x`` days (a band
    from day 0, a union of the partition's first bands, or all contributors less a band
    without a last day): ``2 D >= T`` when ``x`` is at least the median, and ``2 D <= T``
    when ``x`` is below it, with ``T`` the partition's sum (every contributor). Nothing is
    returned unless every count of the partition is in ``cells``.

    Notes
    -----
    docs/disclosure-control.md, "Derived statistics": a median is read with its band counts.

    Examples
    --------
    Median wait 30.0 days beside 4 bands of entered treatment (cells 0-3) and the 6-week count
    (cell 4): at most 28 days is at most half, at most 42 at least half.

    >>> from iaptkit.definitions.bands import MEDIAN_COUNTS
    >>> names = ["entered_wait_le_28_days", "entered_wait_29_to_56_days",
    ...     "entered_wait_57_to_90_days", "entered_wait_over_90_days", "entered_waited_6_weeks"]
    >>> rows = median_rows(dict(zip(names, range(5))), MEDIAN_COUNTS[0], 30.0, 1)
    >>> {0: 1.0, 1: -1.0, 2: -1.0, 3: -1.0} in rows
    True
    >>> {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0, 4: -2.0} in rows
    True
    """
    if any(p not in cells for p in spec.partition) or not math.isfinite(shown):
        return []
    half = 0.5 * 10.0 ** (-decimals)
    low = math.ceil(2.0 * (shown - half) - 1e-9) / 2.0
    high = math.floor(2.0 * (shown + half) + 1e-9) / 2.0
    if low > high:
        return []  # no multiple of 0.5 prints as shown
    total = {cells[p]: 1.0 for p in spec.partition}
    downs: list[tuple[dict[int, float], float]] = []  # (count of contributors <= x, x)
    running: dict[int, float] = {}
    for name in sorted(spec.partition, key=lambda p: spec.ranges[p][0]):
        last = spec.ranges[name][1]
        running = {**running, cells[name]: 1.0}
        if last is not None:
            downs.append((running, float(last)))
    for name, (first, last) in spec.ranges.items():
        if name not in cells or name in spec.partition:
            continue
        if first == 0 and last is not None:
            downs.append(({cells[name]: 1.0}, float(last)))
        elif last is None and first > 0:
            rest = dict(total)
            rest[cells[name]] = rest.get(cells[name], 0.0) - 1.0
            downs.append((rest, float(first - 1)))
    rows: list[dict[int, float]] = []
    for down, x in downs:
        if x >= high:  # T - 2 D <= 0
            sign = -1.0
        elif x < low:  # 2 D - T <= 0
            sign = 1.0
        else:
            continue
        row = {c: -sign * a for c, a in total.items()}
        for c, a in down.items():
            row[c] = row.get(c, 0.0) + 2.0 * sign * a
        row = {c: a for c, a in row.items() if a != 0.0}
        if row and row not in rows:
            rows.append(row)
    return rows


def median_relations(
    counts: pd.DataFrame, medians: pd.DataFrame, decimals: int
) -> list[dict[int, float]]:
    """The rows (``<= 0``) that the medians of a measures table give its counts.

    ``counts`` as for :func:`measure_relations`; ``medians``: the table's median rows
    (:data:`CELL_KEY` columns and ``value``, the median as computed; it is read as printed to
    ``decimals``). Rows that do not hold for the true counts are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> key = dict(period_start="s", period_end="e", breakdown="england", group="England")
    >>> bands = {"waiting_for_treatment_0_to_18_weeks": 12,
    ...     "waiting_for_treatment_over_18_weeks": 3}
    >>> counts = pd.DataFrame([dict(key, measure=m, true_value=v) for m, v in bands.items()])
    >>> medians = pd.DataFrame([dict(key, measure="median_wait_so_far_waiting_for_treatment",
    ...     value=40.0)])
    >>> median_relations(counts, medians, 1)
    [{0: -1.0, 1: 1.0}]
    """
    specs = {m.median: m for m in MEDIAN_COUNTS}
    medians = medians[medians["measure"].astype(str).isin(specs)]
    if medians.empty:
        return []
    vals = counts["true_value"].to_numpy(dtype=np.int64)
    by_cell: dict[tuple[str, ...], dict[str, int]] = {}
    for pos, key in enumerate(counts[list(CELL_KEY)].astype(str).to_numpy().tolist()):
        by_cell.setdefault(tuple(key[:-1]), {})[key[-1]] = pos
    rows: list[dict[int, float]] = []
    for rec in medians.to_dict("records"):
        value = pd.to_numeric(pd.Series([rec["value"]]), errors="coerce").iloc[0]
        cells = by_cell.get(tuple(str(rec[c]) for c in CELL_KEY[:-1]), {})
        if pd.isna(value) or not cells:
            continue
        shown = float(fmt(float(value), decimals))
        for row in median_rows(cells, specs[str(rec["measure"])], shown, decimals):
            if holds_on(row, vals):
                rows.append(row)
    return rows
