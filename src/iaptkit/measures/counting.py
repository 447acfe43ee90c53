"""Counting the published measures: cohorts of each pathway, then counts by breakdown.

The input is the pathway table (:mod:`iaptkit.measures.pathway_schema`; one row per PathwayID,
state and derivations as at the period end). :func:`indicator_table` turns each pathway into one
boolean per count measure (cohort membership in the period, docs/measures.md §2), keeping only the
group columns the requested breakdowns need; :func:`pathway_counts` caches it (one engine
pass) and counts pathways per group for every breakdown in a single UNION ALL of GROUP BYs over
that cached narrow table (a second pass). :func:`added_counts` adds up the counts of disjoint
parts of the pathways.

Counts are of distinct PathwayIDs: the pathway table has one row per PathwayID, which is checked
(a duplicate is a bug upstream and raises), so a row count is a distinct-pathway count.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from iaptkit.definitions.labels import GROUP_SEPARATOR
from iaptkit.errors import IaptkitError
from iaptkit.measures.catalogue import (
    COUNT_MEASURES,
    MISSING_GROUP,
    PublishedParameters,
    breakdown_name,
)
from iaptkit.measures.pathway_schema import (
    BREAKDOWN_COLUMNS,
    MEASURED_COLUMNS,
    MEASURED_DATE_COLUMNS,
    MEASURED_FLAG_COLUMNS,
    flag_set,
)

__all__ = [
    "SESSIONS",
    "added_counts",
    "checked_table",
    "in_period",
    "indicator_table",
    "pathway_counts",
]

#: Internal column: total TreatmentCareContact_Count over finished pathways (the mean's numerator).
SESSIONS = "sessions_finished"


def in_period(col: ir.DateValue, start: date, end: date) -> ir.BooleanValue:
    """``start <= col <= end``, false (never null) when ``col`` is missing.

    Examples
    --------
    >>> t = ibis.memtable({"d": [date(2024, 1, 5), None]}, schema={"d": "date"})
    >>> ibis.duckdb.connect().execute(in_period(t.d, date(2024, 1, 1), date(2024, 1, 31))).tolist()
    [True, False]
    """
    result: ir.BooleanValue = ((col >= start) & (col <= end)).fill_null(False)
    return result


def indicator_table(
    pathways: ir.Table,
    start: date,
    end: date,
    breakdowns: tuple[tuple[str, ...], ...],
    params: PublishedParameters,
) -> ir.Table:
    """One row per pathway: group columns and one boolean per count measure (lazy).

    Parameters
    ----------
    pathways
        The pathway table (docs/module-contracts.md columns).
    start, end
        The period ``[start, end]``.
    breakdowns
        From :func:`parse_breakdowns`; decides which group columns are kept.
    params
        Wait and gap thresholds.

    Returns
    -------
    ibis.Table
        Columns ``PathwayID``, ``g_<breakdown>`` (string, nulls as ``Unknown``), the count
        measures (boolean) and ``sessions_finished`` (int64, 0 unless finished).

    Notes
    -----
    Cohorts exactly as docs/measures.md §2 (R = ReferralRequestReceivedDate, D = ServDischDate).

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"PathwayID": ["a"], "ReferralRequestReceivedDate": [date(2024, 1, 5)]})
    >>> t = t.mutate(**{c: ibis.null("date") for c in ("ServDischDate",
    ...     "TherapySession_FirstDate", "TherapySession_SecondDate")},
    ...     TreatmentCareContact_Count=0, CompletedTreatment_Flag=False,
    ...     NotCaseness_Flag=False, Recovery_Flag=False, ReliableImprovement_Flag=False,
    ...     ReliableDeterioration_Flag=False, NoChange_Flag=False, ReliableRecovery_Flag=False,
    ...     wait_to_first_treatment=ibis.null("int64"))
    >>> ind = indicator_table(t, date(2024, 1, 1), date(2024, 1, 31), (("england",),),
    ...                       PublishedParameters())
    >>> bool(ind.execute()["referrals_received"].iloc[0])
    True
    """
    t = pathways.mutate(
        **{c: pathways[c].cast("date") for c in MEASURED_DATE_COLUMNS},
        **{c: pathways[c].cast("boolean") for c in MEASURED_FLAG_COLUMNS},
        wait_to_first_treatment=pathways.wait_to_first_treatment.cast("int64"),
    )
    finished = in_period(t.ServDischDate, start, end) & flag_set(t, "CompletedTreatment_Flag")
    not_case = finished & flag_set(t, "NotCaseness_Flag")
    wait = t.wait_to_first_treatment
    second = in_period(t.TherapySession_SecondDate, start, end)
    gap = (
        t.TherapySession_SecondDate
        > t.TherapySession_FirstDate + ibis.interval(days=params.first_to_second_days)
    ).fill_null(False)
    cols: dict[str, Any] = {"PathwayID": t.PathwayID}
    for parts in breakdowns:
        for p in parts:
            col = BREAKDOWN_COLUMNS[p]
            key = f"g_{p}"
            if key in cols:
                continue
            if col is None:
                cols[key] = ibis.literal("England")
            else:
                cols[key] = t[col].cast("string").fill_null(MISSING_GROUP)
    cols.update(
        referrals_received=in_period(t.ReferralRequestReceivedDate, start, end),
        entered_treatment=in_period(t.TherapySession_FirstDate, start, end),
        ended_referrals=in_period(t.ServDischDate, start, end),
        finished_treatment=finished,
        not_at_caseness=not_case,
        at_caseness=finished & ~not_case,
        recovered=finished & flag_set(t, "Recovery_Flag"),
        reliably_improved=finished & flag_set(t, "ReliableImprovement_Flag"),
        reliably_deteriorated=finished & flag_set(t, "ReliableDeterioration_Flag"),
        no_reliable_change=finished & flag_set(t, "NoChange_Flag"),
        reliably_recovered=finished & flag_set(t, "ReliableRecovery_Flag"),
        waited_6_weeks=finished & (wait <= params.wait_short_days).fill_null(False),
        waited_18_weeks=finished & (wait <= params.wait_long_days).fill_null(False),
        second_treatment=second,
        first_to_second_over_90_days=second & gap,
        sessions_finished=finished.ifelse(
            t.TreatmentCareContact_Count.cast("int64").fill_null(0), 0
        ),
    )
    return t.select(**cols)


def _aggregate(ind: ir.Table, breakdowns: tuple[tuple[str, ...], ...]) -> ir.Table:
    parts = []
    for bd in breakdowns:
        keys = [ind[f"g_{p}"] for p in bd]
        group = keys[0]
        for k in keys[1:]:
            group = group.concat(GROUP_SEPARATOR, k)
        aggs: dict[str, Any] = {m: ind.count(where=ind[m]) for m in COUNT_MEASURES}
        aggs[SESSIONS] = ind[SESSIONS].sum()
        aggs["pathways"] = ind.count()
        parts.append(
            ind.group_by(group=group)
            .aggregate(**aggs)
            .mutate(breakdown=ibis.literal(breakdown_name(bd)))
        )
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def checked_table(
    pathways: ir.Table | pd.DataFrame, breakdowns: tuple[tuple[str, ...], ...]
) -> ir.Table:
    """``pathways`` as an ibis table, checked to have the columns the measures read.

    Raises
    ------
    IaptkitError
        If a column of :data:`~iaptkit.measures.pathway_schema.MEASURED_COLUMNS` or of a
        requested breakdown is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> checked_table(pd.DataFrame({"PathwayID": ["a"]}), (("england",),))
    Traceback (most recent call last):
    iaptkit.errors.IaptkitError: pathway table: expected columns ['ReferralRequestReceivedDate', ...
    """
    table = ibis.memtable(pathways) if isinstance(pathways, pd.DataFrame) else pathways
    missing = [
        c
        for c in (
            *MEASURED_COLUMNS,
            *(BREAKDOWN_COLUMNS[p] for bd in breakdowns for p in bd if BREAKDOWN_COLUMNS[p]),
        )
        if c not in table.columns
    ]
    if missing:
        raise IaptkitError(
            f"pathway table: expected columns {missing} "
            "(docs/module-contracts.md, 'Pathway table'); "
            f"found {list(table.columns)}."
        )
    return table


def pathway_counts(
    pathways: ir.Table | pd.DataFrame,
    start: date,
    end: date,
    breakdowns: tuple[tuple[str, ...], ...],
    params: PublishedParameters,
    progress: Callable[[str], None] | None,
    label: str = "",
) -> tuple[pd.DataFrame, int]:
    """Counts per breakdown and group (one row each) and the number of pathways.

    Parameters
    ----------
    pathways
        The pathway table (ibis, lazy; or pandas), one row per PathwayID.
    start, end
        The period ``[start, end]``.
    breakdowns
        From :func:`~iaptkit.measures.catalogue.parse_breakdowns`.
    params
        Wait and gap thresholds.
    progress
        Called with a short message before each engine pass (prefixed by ``label``).
    label
        Prefix of the progress messages (e.g. ``"part 2 of 4: "``).

    Returns
    -------
    (pandas.DataFrame, int)
        Columns ``breakdown``, ``group``, the count measures, :data:`SESSIONS` and
        ``pathways``; and the number of pathways in the table.

    Raises
    ------
    IaptkitError
        If a column is missing, or the table has more than one row for a PathwayID.

    Examples
    --------
    >>> import pandas as pd
    >>> from iaptkit.measures.catalogue import PublishedParameters
    >>> p = pd.DataFrame({"PathwayID": ["a", "b"], "ReferralRequestReceivedDate":
    ...     [date(2024, 1, 2), date(2024, 1, 9)], "ServDischDate": [None, None],
    ...     "TherapySession_FirstDate": [None, None], "TherapySession_SecondDate": [None, None],
    ...     "TreatmentCareContact_Count": [0, 0], "wait_to_first_treatment": [None, None],
    ...     **{f: [False, False] for f in MEASURED_FLAG_COLUMNS}})
    >>> counts, rows = pathway_counts(p, date(2024, 1, 1), date(2024, 1, 31), (("england",),),
    ...                               PublishedParameters(), None)
    >>> counts[["group", "referrals_received", "entered_treatment"]].values.tolist(), rows
    ([['England', 2, 0]], 2)
    """
    table = checked_table(pathways, breakdowns)
    ind = indicator_table(table, start, end, breakdowns, params)
    if progress:
        progress(f"{label}deriving pathways and cohorts")
    cached = ind.cache()
    try:
        if progress:
            progress(f"{label}counting by breakdown")
        check = cached.aggregate(rows=cached.count(), ids=cached.PathwayID.nunique()).execute()
        rows, ids = int(check["rows"].iloc[0]), int(check["ids"].iloc[0])
        if rows != ids:
            raise IaptkitError(
                f"pathway table: expected one row per PathwayID, found {rows} rows for {ids} "
                "distinct PathwayIDs (a bug in the pathway derivation; please report it)."
            )
        counts = _aggregate(cached, breakdowns).execute()
    finally:
        cached.release()
    return counts, rows


def added_counts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The counts of disjoint sets of pathways, added up per (breakdown, group).

    Examples
    --------
    >>> import pandas as pd
    >>> one = pd.DataFrame({"breakdown": ["england"], "group": ["England"],
    ...     **{c: [1] for c in (*COUNT_MEASURES, SESSIONS, "pathways")}})
    >>> int(added_counts([one, one]).loc[0, "recovered"])
    2
    """
    if len(parts) == 1:
        return parts[0]
    frame = pd.concat(parts, ignore_index=True)
    values = [*COUNT_MEASURES, SESSIONS, "pathways"]
    for c in values:
        frame[c] = pd.to_numeric(frame[c]).fillna(0).astype("int64")
    summed = frame.groupby(["breakdown", "group"], sort=False, as_index=False)[values].sum()
    return summed
