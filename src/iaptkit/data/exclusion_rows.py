"""Rows not used by the resubmission rules: the reasons, and their counts per table.

Companion to :mod:`iaptkit.data.submissions` (which rows count); the reasons are those of
``docs/data-model.md`` ("Monthly resubmission: which rows count") and docs/ledger.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from iaptkit.data.schema import TABLES, TableSpec, month_id

__all__ = ["EXCLUSION_REASONS", "exclusion_columns", "exclusion_counts"]

#: Reasons a row is not used, as reported by :func:`exclusion_counts`.
EXCLUSION_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "invalid_submission_id": "UniqueSubmissionID missing or not a whole number",
        "unknown_submission": "UniqueSubmissionID not found in IDS000 or IDS101",
        "superseded_submission": "a later submission for the same provider and month counts",
        "pathway_flag_false": "IDS101 row with UsePathway_Flag false",
        "invalid_month_id": "Unique_MonthID missing or not a whole number",
        "after_as_at_month": "submitted for a month after the as-at date's month",
        "missing_pathway_id": "IDS101 row without a PathwayID",
        "earlier_month_state": "IDS101 row replaced by a later month's state of the pathway",
        "duplicate_across_submissions": "activity row repeated in another counted submission",
        "no_referral_as_at": "activity row whose PathwayID has no referral as at the date",
        "not_in_referral_state": (
            "IDS001 row not linked (UniqueSubmissionID, RecordNumber) to the state of any "
            "referral as at the date"
        ),
        "duplicate_record_number": (
            "IDS001 row repeating the (UniqueSubmissionID, RecordNumber) of another; the lowest "
            "Person_ID is used"
        ),
    }
)


def exclusion_columns(table: str) -> tuple[str, ...]:
    """The fields :func:`exclusion_counts` reads from a table.

    Notes
    -----
    The submission fields, plus UsePathway_Flag and PathwayID for IDS101 (docs/data-model.md rules
    2 and 3) or the table's ``activity_key`` (rule 4).

    Examples
    --------
    >>> exclusion_columns("IDS201CareContact")
    ('UniqueSubmissionID', 'Unique_MonthID', 'PathwayID', 'CareContactId')
    """
    spec = TABLES[table]
    extra: tuple[str, ...] = ()
    if table == "IDS101Referral":
        extra = ("PathwayID", "UsePathway_Flag")
    elif table == "IDS001MPI":
        extra = ("RecordNumber",)
    elif spec.activity_key is not None:
        extra = spec.activity_key
    return ("UniqueSubmissionID", "Unique_MonthID", *extra)


def _reason_column(
    typed: ir.Table, spec: TableSpec, known: ir.Table, as_at: date | None
) -> ir.Table:
    joined = typed.left_join(known, typed.UniqueSubmissionID == known._iapt_sid)
    sid = joined.UniqueSubmissionID
    cases: list[tuple[Any, Any]] = [
        (sid.isnull(), "invalid_submission_id"),
        (joined._iapt_sid.isnull(), "unknown_submission"),
        (~joined._iapt_counted, "superseded_submission"),
    ]
    if spec.name == "IDS101Referral":
        cases.append((joined.UsePathway_Flag.fill_null(True) == False, "pathway_flag_false"))  # noqa: E712
    if as_at is not None:
        cases.append((joined.Unique_MonthID.isnull(), "invalid_month_id"))
        cases.append((joined.Unique_MonthID > month_id(as_at), "after_as_at_month"))
    reason = ibis.cases(*cases, else_=ibis.literal("used"))
    return joined.select(*typed.columns, _iapt_reason=reason)


def _activity_reasons(reasons: ir.Table, spec: TableSpec, referrals: ir.Table | None) -> ir.Table:
    """Activity rows used once per key (others: duplicates), of pathways with a referral.

    One query with the other reasons: the first row of each key among the used rows is used, the
    others are ``duplicate_across_submissions``; with ``referrals``, a used row whose PathwayID
    has no referral as at the date is ``no_referral_as_at``.
    """
    key = list(spec.activity_key or ())
    used = reasons._iapt_reason == "used"
    rank = ibis.row_number().over(group_by=[*(reasons[k] for k in key), used])
    r = reasons.mutate(_iapt_first=rank == 0)
    cases: list[tuple[Any, Any]] = [
        (r._iapt_reason != "used", r._iapt_reason),
        (~r._iapt_first, ibis.literal("duplicate_across_submissions")),
    ]
    if referrals is not None and "PathwayID" in key:
        ids = referrals.select(_iapt_pid=referrals.PathwayID)
        linked = r.PathwayID.isin(ids._iapt_pid).fill_null(False)
        cases.append((~linked, ibis.literal("no_referral_as_at")))
    return r.mutate(_iapt_reason=ibis.cases(*cases, else_=ibis.literal("used")))


def exclusion_counts(
    typed: Mapping[str, ir.Table],
    subs: ir.Table,
    as_at: date | None = None,
    referrals: ir.Table | None = None,
) -> pd.DataFrame:
    """Count every row not used, by table and reason.

    Parameters
    ----------
    typed
        Typed tables by data-dictionary name (:meth:`~iaptkit.data.Extract.table`).
    subs
        The submission index (:func:`submission_index`).
    as_at
        With a date, also the rows after its month, the earlier IDS101 states and the activity
        duplicates up to it; without, the reasons that do not depend on a date, and activity
        duplicates across all counted submissions.

    Returns
    -------
    pandas.DataFrame
        ``table, reason, rows`` (rows > 0 only), in schema table order. For each table, the
        rows used plus these equal the rows read.

    Notes
    -----
    Reasons: :data:`EXCLUSION_REASONS`; rules from docs/data-model.md "Monthly resubmission".

    Examples
    --------
    >>> import ibis
    >>> subs = ibis.memtable({"OrgID_Provider": ["A", "A"], "Unique_MonthID": [1, 1],
    ...                       "UniqueSubmissionID": [10, 11], "counted": [False, True]})
    >>> t = ibis.memtable({"UniqueSubmissionID": [10, 11], "Unique_MonthID": [1, 1]})
    >>> exclusion_counts({"IDS001MPI": t}, subs).to_dict("records")
    [{'table': 'IDS001MPI', 'reason': 'superseded_submission', 'rows': 1}]
    """
    known = subs.group_by("UniqueSubmissionID").aggregate(_iapt_counted=subs.counted.max())
    known = known.select(_iapt_sid=known.UniqueSubmissionID, _iapt_counted=known._iapt_counted)
    records: list[dict[str, Any]] = []
    for name in TABLES:
        if name not in typed:
            continue
        spec = TABLES[name]
        reasons = _reason_column(typed[name], spec, known, as_at)
        if spec.activity_key is not None and name != "IDS101Referral":
            reasons = _activity_reasons(reasons, spec, referrals)
        counts = reasons.group_by("_iapt_reason").aggregate(rows=reasons.count()).execute()
        by_reason = {
            str(r): int(n) for r, n in zip(counts["_iapt_reason"], counts["rows"], strict=True)
        }
        used = reasons.filter(reasons._iapt_reason == "used")
        extra: dict[str, int] = {}
        if spec.name == "IDS001MPI" and referrals is not None:
            n_used = by_reason.get("used", 0)
            link = referrals.select(
                _iapt_sid=referrals.UniqueSubmissionID, _iapt_rec=referrals.RecordNumber
            ).distinct()
            linked = used.semi_join(
                link,
                [used.UniqueSubmissionID == link._iapt_sid, used.RecordNumber == link._iapt_rec],
            )
            pairs = linked.select("UniqueSubmissionID", "RecordNumber")
            agg = pairs.aggregate(
                n=pairs.count(),
                distinct=(pairs.UniqueSubmissionID.cast("string") + ":"
                          + pairs.RecordNumber.cast("string")).nunique(),
            ).execute()  # fmt: skip
            n_linked, n_pairs = int(agg["n"].iloc[0]), int(agg["distinct"].iloc[0])
            extra["not_in_referral_state"] = n_used - n_linked
            extra["duplicate_record_number"] = n_linked - n_pairs
        elif spec.name == "IDS101Referral" and as_at is not None:
            n_used = by_reason.get("used", 0)
            agg = used.aggregate(
                missing=used.PathwayID.isnull().cast("int64").sum(),
                distinct=used.PathwayID.nunique(),
            ).execute()
            missing = int(agg["missing"].fillna(0).iloc[0])
            distinct = int(agg["distinct"].fillna(0).iloc[0])
            extra["missing_pathway_id"] = missing
            extra["earlier_month_state"] = n_used - missing - distinct
        for reason in EXCLUSION_REASONS:
            rows = by_reason.get(reason, 0) + extra.get(reason, 0)
            if rows > 0:
                records.append({"table": name, "reason": reason, "rows": rows})
    return pd.DataFrame.from_records(records, columns=["table", "reason", "rows"]).astype(
        {"rows": "int64"}
    )
