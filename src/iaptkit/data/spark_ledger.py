"""The row ledger on Spark: each row's reason in one pass per table, counted by one small query.

Same counts as :func:`iaptkit.data.exclusion_rows.exclusion_counts` (the definition of every
reason, docs/ledger.md), in another shape, because Spark plans the one-query form badly:

* :func:`~iaptkit.data.exclusion_rows.exclusion_counts` unions, for every table, several
  aggregates of the same classified rows (reasons, duplicates per key, links to the referral
  state, distinct pathways) into one query. DuckDB plans that in milliseconds and shares the
  scans. Catalyst analyses and optimises the union as one tree in which each table's
  classification appears several times: the plan of a small extract took about 30 s to
  optimise and ran as some 70 jobs, whatever the data's size.
* Here each table's rows get their *final* reason in one pass (a ``CASE`` over the reason of
  :func:`~iaptkit.data.exclusion_rows.reason_rows` and, for the rows it leaves used, one
  ``row_number`` window per key: the first row of a key is used, the others repeat it), and
  the rows are counted by reason: one ``GROUP BY`` per table, every table's counts collected
  together by one union of these small plans (each table's tree appears once). The referral
  state the derivation reads is the materialised stage of
  :meth:`iaptkit.data.Extract.referrals_as_at` (one scan of stored rows, shared).

Counting rows per key instead of keys (DuckDB's form: used rows less distinct keys) gives the
same numbers: in a group of ``n`` rows of one key, ``n - 1`` are not first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from iaptkit.data.exclusion_rows import EXCLUSION_REASONS, counted_submissions, reason_rows
from iaptkit.data.schema import TABLES, TableSpec
from iaptkit.definitions.loading import load_definitions
from iaptkit.definitions.model import Definitions

__all__ = ["spark_exclusion_counts"]


def _first_of(t: ir.Table, where: ir.BooleanValue, by: list[str], order: list[Any]) -> Any:
    """True on the first row (by ``order``) of each ``by`` group among rows where ``where``."""
    flag = where.fill_null(False)
    rank = ibis.row_number().over(group_by=[flag, *(t[k] for k in by)], order_by=order)
    return rank == 0


def _final_reasons(
    t: ir.Table,
    spec: TableSpec,
    as_at: date | None,
    referrals: ir.Table | None,
    dates: ir.Table | None,
) -> ir.Table:
    """``t`` (rows with ``_iapt_reason``) with ``_iapt_final``: the reason the ledger counts."""
    name = spec.name
    more: list[tuple[Any, Any]]
    if name == "IDS101Referral" and as_at is not None:
        # one state per PathwayID is used: the other used rows are earlier states
        used = (t._iapt_reason == "used") & t.PathwayID.notnull()
        t = t.mutate(_iapt_first=_first_of(t, used, ["PathwayID"], [t.Unique_MonthID]))
        more = [
            (t.PathwayID.isnull(), ibis.literal("missing_pathway_id")),
            (~t._iapt_first, ibis.literal("earlier_month_state")),
        ]
    elif name == "IDS001MPI" and referrals is not None:
        # linked to a referral state by (UniqueSubmissionID, RecordNumber); one row per pair
        link = referrals.select(
            _iapt_lsid=referrals.UniqueSubmissionID, _iapt_lrec=referrals.RecordNumber
        ).distinct()
        j = t.left_join(
            link,
            [t.UniqueSubmissionID == link._iapt_lsid, t.RecordNumber == link._iapt_lrec],
        )
        t = j.select(*t.columns, _iapt_linked=j._iapt_lsid.notnull())
        linked = (t._iapt_reason == "used") & t._iapt_linked
        pair = ["UniqueSubmissionID", "RecordNumber"]
        t = t.mutate(_iapt_first=_first_of(t, linked, pair, [t.UniqueSubmissionID]))
        more = [
            (~t._iapt_linked, ibis.literal("not_in_referral_state")),
            (~t._iapt_first, ibis.literal("duplicate_record_number")),
        ]
    elif spec.activity_key is not None and name != "IDS101Referral":
        t, more = _activity_cases(t, spec, referrals, dates, as_at)
    else:
        more = []
    reason = ibis.cases(
        (t._iapt_reason != "used", t._iapt_reason), *more, else_=ibis.literal("used")
    )
    return t.select(_iapt_final=reason)


def _activity_cases(
    t: ir.Table,
    spec: TableSpec,
    referrals: ir.Table | None,
    dates: ir.Table | None,
    as_at: date | None,
) -> tuple[ir.Table, list[tuple[Any, Any]]]:
    """The table with its helper columns, and the cases of its used rows (in order)."""
    key = list(spec.activity_key or ())
    used = t._iapt_reason == "used"
    contacts = spec.name == "IDS201CareContact"
    if contacts:
        # the row the derivation keeps (the latest, then the earliest date), as DuckDB counts
        order = [
            ibis.desc(t.Unique_MonthID, nulls_first=False),
            ibis.desc(t.UniqueSubmissionID, nulls_first=False),
            ibis.asc(t.CareContDate, nulls_first=False),
        ]
    else:
        order = [t.Unique_MonthID]
    t = t.mutate(_iapt_first=_first_of(t, used, key, order))
    if contacts and dates is not None:
        d = dates.select(_iapt_dp=dates.PathwayID, _iapt_r=dates.ReferralRequestReceivedDate)
        j = t.left_join(d, t.PathwayID == d._iapt_dp)
        t = j.select(*t.columns, _iapt_dp=j._iapt_dp, _iapt_r=j._iapt_r)
    cases: list[tuple[Any, Any]] = [(~t._iapt_first, ibis.literal("duplicate_across_submissions"))]
    if referrals is not None and "PathwayID" in key:
        ids = referrals.select(_iapt_pid=referrals.PathwayID)
        linked = t.PathwayID.isin(ids._iapt_pid).fill_null(False)
        cases.append((~linked, ibis.literal("no_referral_as_at")))
    if contacts:
        cases.append((t.CareContDate.isnull(), ibis.literal("contact_undated")))
        if dates is not None:
            no_date = t._iapt_dp.notnull() & t._iapt_r.isnull()
            cases.append((no_date, ibis.literal("no_referral_date")))
            early = (t.CareContDate < t._iapt_r).fill_null(False)
            cases.append((early, ibis.literal("contact_before_referral")))
        if as_at is not None:
            late = t.CareContDate > ibis.literal(as_at, type="date")
            cases.append((late.fill_null(False), ibis.literal("contact_after_as_at")))
    return t, cases


def spark_exclusion_counts(
    typed: Mapping[str, ir.Table],
    subs: ir.Table,
    as_at: date | None = None,
    referrals: ir.Table | None = None,
    *,
    definitions: Definitions | None = None,
    dates: ir.Table | None = None,
) -> pd.DataFrame:
    """Count every row not used, by table and reason: the Spark form of ``exclusion_counts``.

    Parameters
    ----------
    typed, subs, as_at, referrals, definitions, dates
        As for :func:`iaptkit.data.exclusion_rows.exclusion_counts`.

    Returns
    -------
    pandas.DataFrame
        ``table, reason, rows`` (rows > 0 only), in schema table order and
        :data:`~iaptkit.data.exclusion_rows.EXCLUSION_REASONS` order: the same frame as
        ``exclusion_counts`` gives for the same rows.

    Notes
    -----
    See the module's docstring for why Spark counts in this shape.

    Examples
    --------
    >>> import ibis
    >>> subs = ibis.memtable({"OrgID_Provider": ["A", "A"], "Unique_MonthID": [1, 1],
    ...                       "UniqueSubmissionID": [10, 11], "counted": [False, True]})
    >>> t = ibis.memtable({"UniqueSubmissionID": [10, 11], "Unique_MonthID": [1, 1]})
    >>> spark_exclusion_counts({"IDS001MPI": t}, subs).to_dict("records")
    [{'table': 'IDS001MPI', 'reason': 'superseded_submission', 'rows': 1}]
    """
    defs = definitions if definitions is not None else load_definitions()
    known = counted_submissions(subs)
    parts: list[ir.Table] = []
    for name in TABLES:
        if name not in typed:
            continue
        rows = reason_rows(name, typed[name], known, as_at, defs)
        final = _final_reasons(rows, TABLES[name], as_at, referrals, dates)
        counts = final.group_by("_iapt_final").aggregate(rows=final.count())
        parts.append(
            counts.select(
                table=ibis.literal(name, type="string"),
                reason=counts._iapt_final.cast("string"),
                rows=counts.rows.cast("int64"),
            )
        )
    records: list[dict[str, Any]] = []
    if parts:
        counts = ibis.union(*parts, distinct=False).execute()
        found = {
            (str(t), str(r)): int(n)
            for t, r, n in zip(counts["table"], counts["reason"], counts["rows"], strict=True)
        }
        for name in TABLES:
            for reason in EXCLUSION_REASONS:
                n = found.get((name, reason), 0)
                if name in typed and n > 0:
                    records.append({"table": name, "reason": reason, "rows": n})
    return pd.DataFrame.from_records(records, columns=["table", "reason", "rows"]).astype(
        {"rows": "int64"}
    )
