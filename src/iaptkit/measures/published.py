"""Published measures: counts, rates and means of measures.md §2, by breakdown (§3).

The input is the pathway table (one row per PathwayID, state and derivations as at the period
end; owned by :mod:`iaptkit.measures.derive`, or built from NHS-derived fields by
:mod:`iaptkit.measures.nhs_flags`). This module:

1. turns each pathway into one boolean per count measure (cohort membership in the period),
   keeping only the group columns the requested breakdowns need — one engine pass, cached;
2. counts pathways per group for every breakdown in a single UNION ALL of GROUP BYs over that
   cached narrow table — a second engine pass;
3. in pandas (a few hundred rows), computes rates (per cent, Wilson 95 % bounds) and means, and
   lays everything out as the long table of INTERFACES.md ("Published measures").

Counts are of distinct PathwayIDs: the pathway table has one row per PathwayID, which is checked
(a duplicate is a bug upstream and raises), so a row count is a distinct-pathway count.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from iaptkit.errors import ConfigError, IaptkitError
from iaptkit.measures.catalogue import (
    BREAKDOWN_COLUMNS,
    COUNT_MEASURES,
    GROUP_SEPARATOR,
    LONG_COLUMNS,
    MEASURES,
    MISSING_GROUP,
    PublishedParameters,
    breakdown_name,
    parse_breakdowns,
)
from iaptkit.measures.statistics import rate, wilson_interval

_DATE_COLUMNS = (
    "ReferralRequestReceivedDate",
    "ServDischDate",
    "TherapySession_FirstDate",
    "TherapySession_SecondDate",
)
_FLAG_COLUMNS = (
    "CompletedTreatment_Flag",
    "NotCaseness_Flag",
    "Recovery_Flag",
    "ReliableImprovement_Flag",
    "NoChange_Flag",
    "ReliableDeterioration_Flag",
    "ReliableRecovery_Flag",
)

#: Internal column: total TreatmentCareContact_Count over finished pathways (the mean's numerator).
SESSIONS = "sessions_finished"

if TYPE_CHECKING:
    from iaptkit.data.loading import Extract
    from iaptkit.definitions.model import Definitions

__all__ = [
    "indicator_table",
    "measures_from_pathways",
    "published_measures",
    "published_measures_with_count",
]


def _in_period(col: ir.DateValue, start: date, end: date) -> ir.BooleanValue:
    result: ir.BooleanValue = ((col >= start) & (col <= end)).fill_null(False)
    return result


def _flag(t: ir.Table, name: str) -> ir.BooleanValue:
    result: ir.BooleanValue = t[name].fill_null(False)
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
        The pathway table (INTERFACES.md columns).
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
    Cohorts exactly as measures.md §2 (R = ReferralRequestReceivedDate, D = ServDischDate).

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
        **{c: pathways[c].cast("date") for c in _DATE_COLUMNS},
        **{c: pathways[c].cast("boolean") for c in _FLAG_COLUMNS},
        wait_to_first_treatment=pathways.wait_to_first_treatment.cast("int64"),
    )
    finished = _in_period(t.ServDischDate, start, end) & _flag(t, "CompletedTreatment_Flag")
    not_case = finished & _flag(t, "NotCaseness_Flag")
    wait = t.wait_to_first_treatment
    second = _in_period(t.TherapySession_SecondDate, start, end)
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
        referrals_received=_in_period(t.ReferralRequestReceivedDate, start, end),
        entered_treatment=_in_period(t.TherapySession_FirstDate, start, end),
        ended_referrals=_in_period(t.ServDischDate, start, end),
        finished_treatment=finished,
        not_at_caseness=not_case,
        at_caseness=finished & ~not_case,
        recovered=finished & _flag(t, "Recovery_Flag"),
        reliably_improved=finished & _flag(t, "ReliableImprovement_Flag"),
        reliably_deteriorated=finished & _flag(t, "ReliableDeterioration_Flag"),
        no_reliable_change=finished & _flag(t, "NoChange_Flag"),
        reliably_recovered=finished & _flag(t, "ReliableRecovery_Flag"),
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


def _natural_key(text: str) -> tuple[tuple[int, float | str], ...]:
    return tuple(
        (0, float(tok)) if tok.isdigit() else (1, tok.lower())
        for tok in re.findall(r"\d+|\D+", text)
    )


def _long_table(
    counts: pd.DataFrame,
    breakdowns: tuple[tuple[str, ...], ...],
    start: date,
    end: date,
    version: str,
) -> pd.DataFrame:
    order = {breakdown_name(bd): i for i, bd in enumerate(breakdowns)}
    counts = counts.copy()
    if "England" not in set(counts.loc[counts["breakdown"] == "england", "group"]) and (
        ("england",) in breakdowns
    ):
        zero = {c: 0 for c in (*COUNT_MEASURES, SESSIONS, "pathways")}
        counts = pd.concat(
            [counts, pd.DataFrame([{**zero, "breakdown": "england", "group": "England"}])],
            ignore_index=True,
        )
    counts["_b"] = counts["breakdown"].map(order)
    counts["_g"] = counts["group"].map(_natural_key)
    counts = counts.sort_values(["_b", "_g"], kind="stable").reset_index(drop=True)
    for c in (*COUNT_MEASURES, SESSIONS):
        counts[c] = pd.to_numeric(counts[c]).fillna(0).astype("int64")
    blocks: list[pd.DataFrame] = []
    n = len(counts)
    for spec in MEASURES:
        ci_lo = ci_hi = np.full(n, np.nan)
        if spec.kind == "count":
            value = counts[spec.name].to_numpy(dtype=np.float64)
        elif spec.kind == "rate":
            assert spec.numerator is not None
            assert spec.denominator is not None
            num = counts[spec.numerator].to_numpy(dtype=np.float64)
            den = counts[spec.denominator].to_numpy(dtype=np.float64)
            value = rate(num, den)
            ci_lo, ci_hi = wilson_interval(num, den)
        else:
            assert spec.denominator is not None
            value = rate(counts[SESSIONS], counts[spec.denominator], per=1.0)
        blocks.append(
            pd.DataFrame(
                {
                    "_b": counts["_b"].to_numpy(),
                    "_row": np.arange(n),
                    "breakdown": counts["breakdown"].to_numpy(),
                    "group": counts["group"].to_numpy(),
                    "measure": spec.name,
                    "value": value,
                    "kind": spec.kind,
                    "numerator": spec.numerator if spec.numerator else None,
                    "denominator": spec.denominator if spec.denominator else None,
                    "ci_lower": ci_lo,
                    "ci_upper": ci_hi,
                }
            )
        )
    out = pd.concat(blocks, ignore_index=True)
    rank = {spec.name: i for i, spec in enumerate(MEASURES)}
    out["_m"] = out["measure"].map(rank)
    out = out.sort_values(["_row", "_m"], kind="stable").reset_index(drop=True)
    out.insert(0, "period_start", start)
    out.insert(1, "period_end", end)
    out["definitions_version"] = version
    out = out.drop(columns=["_b", "_row", "_m"])
    return out.loc[:, list(LONG_COLUMNS)]


def measures_from_pathways(
    pathways: ir.Table | pd.DataFrame,
    start: date,
    end: date,
    by: str | Sequence[str] = ("england",),
    *,
    definitions_version: str,
    params: PublishedParameters | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Compute the published measures from a pathway table already derived as at ``end``.

    Parameters
    ----------
    pathways
        The pathway table (ibis, lazy; or pandas), one row per PathwayID.
    start, end
        The period ``[start, end]``; the table must describe the state as at ``end``.
    by
        Breakdowns (see :func:`parse_breakdowns`).
    definitions_version
        Written into every row.
    params
        Wait and gap thresholds (default 42, 126, 90 days).
    progress
        Called with a short message before each engine pass.

    Returns
    -------
    pandas.DataFrame
        The long table (:data:`LONG_COLUMNS`), ordered by breakdown (as requested), group
        (natural order) and measure (publication order).

    Raises
    ------
    ConfigError
        If the period or a breakdown is invalid.
    IaptkitError
        If the pathway table has more than one row for a PathwayID.

    Notes
    -----
    measures.md §2 (cohorts, rates, means; zero denominators give missing rates) and §3
    (breakdowns). Rates are per cent with 95 % Wilson bounds (:mod:`iaptkit.measures.statistics`).

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"PathwayID": ["a", "b"], "provider": ["P1", "P2"],
    ...     "ReferralRequestReceivedDate": [date(2024, 1, 2), date(2023, 5, 1)],
    ...     "ServDischDate": [None, date(2024, 1, 20)],
    ...     "TherapySession_FirstDate": [None, date(2023, 6, 1)],
    ...     "TherapySession_SecondDate": [None, date(2023, 6, 8)],
    ...     "TreatmentCareContact_Count": [0, 6], "CompletedTreatment_Flag": [False, True],
    ...     "NotCaseness_Flag": [False, False], "Recovery_Flag": [False, True],
    ...     "ReliableImprovement_Flag": [False, True], "ReliableDeterioration_Flag": [False, False],
    ...     "NoChange_Flag": [False, False], "ReliableRecovery_Flag": [False, True],
    ...     "wait_to_first_treatment": [None, 31]})
    >>> m = measures_from_pathways(p, date(2024, 1, 1), date(2024, 1, 31), "england",
    ...                            definitions_version="test")
    >>> m.set_index("measure").loc[["referrals_received", "recovery_rate",
    ...     "mean_sessions_finished"], "value"].tolist()
    [1.0, 100.0, 6.0]
    """
    table, _ = _compute(pathways, start, end, by, definitions_version, params, progress)
    return table


def _checked_table(
    pathways: ir.Table | pd.DataFrame, breakdowns: tuple[tuple[str, ...], ...]
) -> ir.Table:
    table = ibis.memtable(pathways) if isinstance(pathways, pd.DataFrame) else pathways
    missing = [
        c
        for c in (
            "PathwayID",
            *_DATE_COLUMNS,
            "TreatmentCareContact_Count",
            *_FLAG_COLUMNS,
            "wait_to_first_treatment",
            *(BREAKDOWN_COLUMNS[p] for bd in breakdowns for p in bd if BREAKDOWN_COLUMNS[p]),
        )
        if c not in table.columns
    ]
    if missing:
        raise IaptkitError(
            f"pathway table: expected columns {missing} (INTERFACES.md, 'Pathway table'); "
            f"found {list(table.columns)}."
        )
    return table


def _counts(
    pathways: ir.Table | pd.DataFrame,
    start: date,
    end: date,
    breakdowns: tuple[tuple[str, ...], ...],
    params: PublishedParameters,
    progress: Callable[[str], None] | None,
    label: str = "",
) -> tuple[pd.DataFrame, int]:
    """Counts per breakdown and group (one row each) and the number of pathways."""
    table = _checked_table(pathways, breakdowns)
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


def _added(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The counts of disjoint sets of pathways, added up per (breakdown, group)."""
    if len(parts) == 1:
        return parts[0]
    frame = pd.concat(parts, ignore_index=True)
    values = [*COUNT_MEASURES, SESSIONS, "pathways"]
    for c in values:
        frame[c] = pd.to_numeric(frame[c]).fillna(0).astype("int64")
    summed = frame.groupby(["breakdown", "group"], sort=False, as_index=False)[values].sum()
    return summed


def _compute(
    pathways: ir.Table | pd.DataFrame,
    start: date,
    end: date,
    by: str | Sequence[str],
    definitions_version: str,
    params: PublishedParameters | None,
    progress: Callable[[str], None] | None,
) -> tuple[pd.DataFrame, int]:
    if end < start:
        raise ConfigError(f"period: the end {end} is before the start {start}.")
    breakdowns = parse_breakdowns(by)
    counts, rows = _counts(
        pathways, start, end, breakdowns, params or PublishedParameters(), progress
    )
    return _long_table(counts, breakdowns, start, end, definitions_version), rows


def published_measures(
    extract: Extract,
    start: date,
    end: date,
    by: str | Sequence[str] = ("england",),
    definitions: Definitions | None = None,
    use_nhs_flags: bool = False,
    *,
    progress: Callable[[str], None] | None = None,
    parts: int | None = None,
) -> pd.DataFrame:
    """All published measures of a period, by breakdown, from an extract.

    Parameters
    ----------
    extract
        The loaded extract (:func:`iaptkit.data.load_extract`).
    start, end
        The period ``[start, end]``; pathway state and derivations are taken as at ``end``.
    by
        Breakdowns, e.g. ``("england", "provider", "provider x age_band")``.
    definitions
        Measure definitions; ``None`` loads the packaged default.
    use_nhs_flags
        Use the NHS-derived IDS101 fields instead of iaptkit's own derivation
        (:func:`iaptkit.measures.nhs_flags.nhs_pathway_table`).
    progress
        Called with a short message before each engine pass.
    parts
        Derive in this many disjoint slices of the pathways, one after another, and add up
        their counts (the same result, less memory at once; DuckDB only). ``None`` chooses from
        the extract's size and the DuckDB memory limit
        (:func:`iaptkit.measures.partitions.auto_parts`): 1 unless the extract is large.

    Returns
    -------
    pandas.DataFrame
        Long table: period_start, period_end, breakdown, group, measure, value, kind, numerator,
        denominator, ci_lower, ci_upper, definitions_version.

    Raises
    ------
    ConfigError
        If the period, a breakdown or ``parts`` is invalid.
    ExtractError
        If ``use_nhs_flags`` and the extract lacks the NHS-derived fields.

    Notes
    -----
    measures.md §2 and §3; INTERFACES.md "Published measures". Every measure is a count or a
    sum over pathways, so the counts of disjoint parts add up to those of the whole.

    Examples
    --------
    >>> from iaptkit.measures.catalogue import MEASURES
    >>> len(MEASURES)
    24
    """
    table, _ = published_measures_with_count(
        extract, start, end, by, definitions, use_nhs_flags, progress=progress, parts=parts
    )
    return table


def published_measures_with_count(
    extract: Extract,
    start: date,
    end: date,
    by: str | Sequence[str] = ("england",),
    definitions: Definitions | None = None,
    use_nhs_flags: bool = False,
    *,
    progress: Callable[[str], None] | None = None,
    parts: int | None = None,
) -> tuple[pd.DataFrame, int]:
    """:func:`published_measures` and the number of pathways in the pathway table.

    Parameters
    ----------
    extract, start, end, by, definitions, use_nhs_flags, progress, parts
        As for :func:`published_measures`.

    Returns
    -------
    (pandas.DataFrame, int)
        The long table and the number of pathways (as at ``end``) it was computed from.

    Notes
    -----
    Used by ``iaptkit measures`` for its summary (pathways seen).

    Examples
    --------
    >>> callable(published_measures_with_count)
    True
    """
    from iaptkit.definitions.model import load_definitions
    from iaptkit.measures.partitions import check_parts

    defs = definitions if definitions is not None else load_definitions()
    if end < start:
        raise ConfigError(f"period: the end {end} is before the start {start}.")
    breakdowns = parse_breakdowns(by)
    params = PublishedParameters.from_definitions(defs)
    check_parts(parts)
    if use_nhs_flags:
        from iaptkit.measures.nhs_flags import nhs_pathway_table, nhs_version

        # one table read once (IDS101 and IDS001): no parts needed
        pathways = nhs_pathway_table(extract, end, defs)
        counts, rows = _counts(pathways, start, end, breakdowns, params, progress)
        return _long_table(counts, breakdowns, start, end, nhs_version(defs)), rows
    if extract.engine != "duckdb":
        from iaptkit.measures.derive import pathway_table

        # Spark keeps one lazy plan (cached stages would nest every plan in the next) and
        # spreads it over its own cluster: no parts
        pathways = pathway_table(extract, end, defs)
        counts, rows = _counts(pathways, start, end, breakdowns, params, progress)
        return _long_table(counts, breakdowns, start, end, defs.version), rows
    counts, rows = _counts_in_parts(extract, start, end, breakdowns, defs, params, progress, parts)
    return _long_table(counts, breakdowns, start, end, defs.version), rows


def _counts_in_parts(
    extract: Extract,
    start: date,
    end: date,
    breakdowns: tuple[tuple[str, ...], ...],
    defs: Definitions,
    params: PublishedParameters,
    progress: Callable[[str], None] | None,
    parts: int | None,
) -> tuple[pd.DataFrame, int]:
    """Derive and count on DuckDB, in ``parts`` slices of the pathways (automatic if None)."""
    from iaptkit.measures.derive import pathway_table
    from iaptkit.measures.partitions import PathwayPart, auto_parts

    n = parts if parts is not None else auto_parts(extract)
    counted: list[pd.DataFrame] = []
    rows = 0
    for k in range(n):
        source = extract if n == 1 else PathwayPart(extract, k, n)
        # outcome flags count only for pathways finished in the period (indicator_table):
        # derive only what the period's measures read, in cached stages
        pathways = pathway_table(source, end, defs, outcomes_finished_in=(start, end))
        label = "" if n == 1 else f"part {k + 1} of {n}: "
        part, part_rows = _counts(pathways, start, end, breakdowns, params, progress, label)
        counted.append(part)
        rows += part_rows
        # drop this part's cached stages before the next part is derived
        del pathways
        gc.collect()
    return _added(counted), rows
