"""Rows not used: the reasons, and their counts per table, in one query for all tables.

Companion to :mod:`iaptkit.data.submissions` (which rows count): the resubmission rules of
``docs/data-model.md`` ("Monthly resubmission: which rows count"), and the validation problems
that keep a row out of the derivation (a blank PathwayID, a score that is not a score of its
measure, a contact with no date or dated before its referral); docs/ledger.md lists them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from iaptkit.data.parsing import SCORE_PATTERN
from iaptkit.data.schema import TABLES, TableSpec, month_id
from iaptkit.data.text import trim_text
from iaptkit.definitions.loading import load_definitions
from iaptkit.definitions.model import Definitions

__all__ = [
    "EXCLUSION_REASONS",
    "counted_submissions",
    "exclusion_columns",
    "exclusion_counts",
    "reason_rows",
]

#: Reasons a row is not used, as reported by :func:`exclusion_counts`.
EXCLUSION_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "invalid_submission_id": "UniqueSubmissionID missing or not a whole number",
        "unknown_submission": "UniqueSubmissionID not found in IDS000 or IDS101",
        "superseded_submission": "a later submission for the same provider and month counts",
        "pathway_flag_false": "IDS101 row with UsePathway_Flag false",
        "invalid_month_id": "Unique_MonthID missing or not a whole number",
        "after_as_at_month": "submitted for a month after the as-at date's month",
        "missing_pathway_id": "no PathwayID (blank): the row belongs to no pathway",
        "missing_referral_date": (
            "IDS101 row with no ReferralRequestReceivedDate (blank or not a date); validate only"
        ),
        "score_unknown_tool": "IDS606/IDS607 CodedAssToolType of no measure in the definitions",
        "score_unparseable": "IDS606/IDS607 PersScore that does not parse as a number",
        "score_out_of_range": "IDS606/IDS607 PersScore outside its measure's valid range",
        "score_not_integer": "IDS606/IDS607 PersScore not a whole number, for an integer measure",
        "earlier_month_state": "IDS101 row replaced by a later month's state of the pathway",
        "duplicate_across_submissions": "activity row repeated in another counted submission",
        "no_referral_as_at": "activity row whose PathwayID has no referral as at the date",
        "not_in_referral_state": (
            "IDS001 row not linked (UniqueSubmissionID, RecordNumber) to the state of any "
            "referral as at the date"
        ),
        "contact_undated": "IDS201 row whose CareContDate is blank or not a date",
        "no_referral_date": (
            "IDS201 row of a pathway whose referral as at the date has no "
            "ReferralRequestReceivedDate, so no window"
        ),
        "contact_before_referral": (
            "IDS201 row dated before its referral's ReferralRequestReceivedDate"
        ),
        "contact_after_as_at": (
            "IDS201 row dated after the as-at date (the period's end): no pathway as at the "
            "date reads it"
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
    ('UniqueSubmissionID', 'Unique_MonthID', 'PathwayID', 'CareContactId', 'CareContDate')
    """
    spec = TABLES[table]
    extra: tuple[str, ...] = ()
    if table == "IDS101Referral":
        extra = ("PathwayID", "UsePathway_Flag", "ReferralRequestReceivedDate")
    elif table == "IDS001MPI":
        extra = ("RecordNumber",)
    elif spec.activity_key is not None:
        extra = spec.activity_key + tuple(
            c for c in _CHECKED.get(table, ()) if c not in spec.activity_key
        )
    return ("UniqueSubmissionID", "Unique_MonthID", *extra)


#: Fields read for the value checks of a table, besides its keys.
_CHECKED: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "IDS201CareContact": ("CareContDate",),
        "IDS606CodedScoreAssessmentRefer": ("CodedAssToolType", "PersScore"),
        "IDS607CodedScoreAssessmentAct": ("CodedAssToolType", "PersScore"),
    }
)
_SCORE_TABLES = ("IDS606CodedScoreAssessmentRefer", "IDS607CodedScoreAssessmentAct")


def _score_bounds(t: ir.Table, defs: Definitions) -> ir.Table:
    """Score rows with their parsed PersScore and their measure's range, by one small join.

    Adds ``_iapt_num`` (decimal(12,4), null unless a plain number), ``_iapt_tool`` (the tool
    code, null when no measure has it), ``_iapt_lo``, ``_iapt_hi`` and ``_iapt_whole``; a tool
    code's measure is :attr:`Definitions.tool_measures`'s.
    """
    seen = {
        c: (str(m.valid_min), str(m.valid_max), m.whole_numbers)
        for c, m in defs.tool_measures.items()
    }
    dec = "decimal(12, 4)"
    bounds = ibis.memtable(
        {
            "_iapt_tool": list(seen),
            "_iapt_lo_text": [v[0] for v in seen.values()],
            "_iapt_hi_text": [v[1] for v in seen.values()],
            "_iapt_whole": [v[2] for v in seen.values()],
        },
        schema={
            "_iapt_tool": "string",
            "_iapt_lo_text": "string",
            "_iapt_hi_text": "string",
            "_iapt_whole": "boolean",
        },
    )
    text = trim_text(t.PersScore)
    parsed = t.mutate(
        _iapt_code=trim_text(t.CodedAssToolType),
        _iapt_num=ibis.ifelse(
            text.re_search(SCORE_PATTERN).fill_null(False), text.try_cast(dec), ibis.null(dec)
        ),
    )
    j = parsed.left_join(bounds, parsed._iapt_code == bounds._iapt_tool)
    return j.select(
        *parsed.columns,
        _iapt_tool=j._iapt_tool,
        _iapt_lo=j._iapt_lo_text.cast(dec),
        _iapt_hi=j._iapt_hi_text.cast(dec),
        _iapt_whole=j._iapt_whole,
    ).drop("_iapt_code")


def _score_reasons(t: ir.Table, as_at: date | None) -> list[tuple[Any, Any]]:
    """Cases of a score row that is not a score of any measure (docs/measures.md §1 Scores)."""
    known = t._iapt_tool.notnull()
    number = t._iapt_num
    cases: list[tuple[Any, Any]] = []
    if as_at is not None:  # an unknown tool is validation's info, the derivation's non-score
        cases.append((~known, "score_unknown_tool"))
    cases += [
        (known & number.isnull(), "score_unparseable"),
        ((known & ((number < t._iapt_lo) | (number > t._iapt_hi))).fill_null(False),
         "score_out_of_range"),
        ((known & t._iapt_whole & (number != number.floor())).fill_null(False),
         "score_not_integer"),
    ]  # fmt: skip
    return cases


def _reason_column(
    typed: ir.Table, spec: TableSpec, known: ir.Table, as_at: date | None, defs: Definitions
) -> ir.Table:
    columns = typed.columns
    if spec.name in _SCORE_TABLES:
        typed = _score_bounds(typed, defs)
    joined = typed.left_join(known, typed.UniqueSubmissionID == known._iapt_sid)
    sid = joined.UniqueSubmissionID
    cases: list[tuple[Any, Any]] = [
        (sid.isnull(), "invalid_submission_id"),
        (joined._iapt_sid.isnull(), "unknown_submission"),
        (~joined._iapt_counted, "superseded_submission"),
    ]
    if spec.name == "IDS101Referral":
        cases.append((joined.UsePathway_Flag.fill_null(True) == False, "pathway_flag_false"))  # noqa: E712
    # a row with no month is not used by any command (validation reports it as unparseable_int)
    cases.append((joined.Unique_MonthID.isnull(), "invalid_month_id"))
    if as_at is not None:
        cases.append((joined.Unique_MonthID > month_id(as_at), "after_as_at_month"))
    if "PathwayID" in typed.columns:
        cases.append((joined.PathwayID.isnull(), "missing_pathway_id"))
    if spec.name == "IDS101Referral" and as_at is None:
        cases.append((joined.ReferralRequestReceivedDate.isnull(), "missing_referral_date"))
    if spec.name in _SCORE_TABLES:
        cases += _score_reasons(joined, as_at)
    reason = ibis.cases(*cases, else_=ibis.literal("used"))
    return joined.select(*columns, _iapt_reason=reason)


def reason_rows(
    name: str, typed: ir.Table, known: ir.Table, as_at: date | None, definitions: Definitions
) -> ir.Table:
    """Each row of table ``name`` with ``_iapt_reason``: the first reason it is not used, or
    ``"used"``, before the per-key checks (the Spark ledger's first pass, data.spark_ledger).

    ``known``: ``_iapt_sid`` (UniqueSubmissionID), ``_iapt_counted`` (one row per submission).
    """
    return _reason_column(typed, TABLES[name], known, as_at, definitions)


def _activity_counts(
    reasons: ir.Table,
    spec: TableSpec,
    referrals: ir.Table | None,
    dates: ir.Table | None,
    as_at: date | None,
) -> list[ir.Table]:
    """Counts (``_iapt_reason``, ``rows``) of an activity table: each key used once.

    The rows not used for an earlier reason are counted by reason; of the used rows, the first
    of each key is used and the others are ``duplicate_across_submissions`` (counted as the
    used rows less the keys, by one GROUP BY key); with ``referrals``, a key whose PathwayID
    has no referral as at the date is ``no_referral_as_at``. IDS201 rows are then checked for
    a date (``contact_undated``) and, with ``dates`` (PathwayID, ReferralRequestReceivedDate,
    one row per pathway), for a referral date (``no_referral_date``) not after the contact
    (``contact_before_referral``), and with ``as_at`` for a date after it
    (``contact_after_as_at``): there the row of each key checked is picked by a window (its
    date is not part of the key): the latest (Unique_MonthID, UniqueSubmissionID), as the
    derivation keeps, then the earliest date.
    """
    key = list(spec.activity_key or ())
    is_used = reasons._iapt_reason == "used"
    other = reasons.filter(~is_used)
    out = [other.group_by("_iapt_reason").aggregate(rows=other.count())]
    used = reasons.filter(is_used)
    contacts = spec.name == "IDS201CareContact"
    if contacts:
        # the row the derivation keeps (docs/data-model.md rule 4: the latest); an order, so
        # the count does not depend on which repeat the engine meets first
        order = [
            ibis.desc(used.Unique_MonthID, nulls_first=False),
            ibis.desc(used.UniqueSubmissionID, nulls_first=False),
            ibis.asc(used.CareContDate, nulls_first=False),
        ]
        rank = ibis.row_number().over(group_by=[used[k] for k in key], order_by=order)
        r = used.mutate(_iapt_first=rank == 0)
        if dates is not None:
            # one row per PathwayID: its referral's ReferralRequestReceivedDate (window's start)
            d = dates.select(_iapt_dp=dates.PathwayID, _iapt_r=dates.ReferralRequestReceivedDate)
            r = r.left_join(d, r.PathwayID == d._iapt_dp)
        cases: list[tuple[Any, Any]] = [
            (~r._iapt_first, ibis.literal("duplicate_across_submissions"))
        ]
    else:
        # one row per key, with its number of rows: the repeats are counted, not ranked
        r = used.group_by(key).aggregate(_iapt_n=used.count())
        dups = r.aggregate(rows=(r._iapt_n - 1).sum().fill_null(0).cast("int64"))
        out.append(dups.mutate(_iapt_reason=ibis.literal("duplicate_across_submissions")))
        cases = []
    if referrals is not None and "PathwayID" in key:
        ids = referrals.select(_iapt_pid=referrals.PathwayID)
        linked = r.PathwayID.isin(ids._iapt_pid).fill_null(False)
        cases.append((~linked, ibis.literal("no_referral_as_at")))
    if contacts:
        cases.append((r.CareContDate.isnull(), ibis.literal("contact_undated")))
        if dates is not None:
            no_date = r._iapt_dp.notnull() & r._iapt_r.isnull()
            cases.append((no_date, ibis.literal("no_referral_date")))
            early = (r.CareContDate < r._iapt_r).fill_null(False)
            cases.append((early, ibis.literal("contact_before_referral")))
        if as_at is not None:  # no pathway as at the date reads a later contact
            late = r.CareContDate > ibis.literal(as_at, type="date")
            cases.append((late.fill_null(False), ibis.literal("contact_after_as_at")))
    reason = ibis.cases(*cases, else_=ibis.literal("used")) if cases else ibis.literal("used")
    r = r.mutate(_iapt_reason=reason)
    out.append(r.group_by("_iapt_reason").aggregate(rows=r.count()))
    return out


def _table_counts(
    name: str,
    table: ir.Table,
    known: ir.Table,
    as_at: date | None,
    referrals: ir.Table | None,
    dates: ir.Table | None,
    defs: Definitions,
) -> list[ir.Table]:
    """One table's counts as (``table``, ``reason``, ``rows``) relations, to be unioned.

    Besides the reasons (and ``used``), internal counts the caller turns into reasons: for
    IDS001 with ``referrals``, ``_iapt_linked`` (used rows linked to a referral state) and
    ``_iapt_pairs`` (their distinct (UniqueSubmissionID, RecordNumber)); for IDS101 with
    ``as_at``, ``_iapt_missing`` (used rows with no PathwayID) and ``_iapt_ids`` (distinct
    PathwayIDs of the used rows).
    """
    spec = TABLES[name]
    reasons = _reason_column(table, spec, known, as_at, defs)
    if spec.activity_key is not None and name != "IDS101Referral":
        parts = _activity_counts(reasons, spec, referrals, dates, as_at)
    else:
        parts = [reasons.group_by("_iapt_reason").aggregate(rows=reasons.count())]
    used = reasons.filter(reasons._iapt_reason == "used")
    if name == "IDS001MPI" and referrals is not None:
        link = referrals.select(
            _iapt_sid=referrals.UniqueSubmissionID, _iapt_rec=referrals.RecordNumber
        ).distinct()
        linked = used.semi_join(
            link, [used.UniqueSubmissionID == link._iapt_sid, used.RecordNumber == link._iapt_rec]
        )
        pairs = linked.group_by(["UniqueSubmissionID", "RecordNumber"]).aggregate(
            _iapt_n=linked.count()
        )
        linked_rows = pairs.aggregate(rows=pairs._iapt_n.sum().fill_null(0).cast("int64"))
        parts.append(linked_rows.mutate(_iapt_reason=ibis.literal("_iapt_linked")))
        parts.append(
            pairs.aggregate(rows=pairs.count()).mutate(_iapt_reason=ibis.literal("_iapt_pairs"))
        )
    elif name == "IDS101Referral" and as_at is not None:
        missing = used.filter(used.PathwayID.isnull())
        parts.append(
            missing.aggregate(rows=missing.count()).mutate(
                _iapt_reason=ibis.literal("_iapt_missing")
            )
        )
        ids = used.filter(used.PathwayID.notnull()).group_by("PathwayID").aggregate()
        parts.append(ids.aggregate(rows=ids.count()).mutate(_iapt_reason=ibis.literal("_iapt_ids")))
    return [
        p.select(
            table=ibis.literal(name, type="string"),
            reason=p._iapt_reason.cast("string"),
            rows=p.rows.cast("int64"),
        )
        for p in parts
    ]


def counted_submissions(subs: ir.Table) -> ir.Table:
    """One row per UniqueSubmissionID: ``_iapt_sid`` and whether it counts (``_iapt_counted``).

    The ``known`` relation of :func:`reason_rows`, from the submission index
    (:func:`~iaptkit.data.submissions.submission_index`): a submission id listed for two
    provider-months counts where any of them counts.

    Examples
    --------
    >>> import ibis
    >>> subs = ibis.memtable({"UniqueSubmissionID": [10, 11, 11],
    ...                       "counted": [False, True, False]})
    >>> counted_submissions(subs).order_by("_iapt_sid").execute().values.tolist()
    [[10, False], [11, True]]
    """
    known = subs.group_by("UniqueSubmissionID").aggregate(_iapt_counted=subs.counted.max())
    return known.select(_iapt_sid=known.UniqueSubmissionID, _iapt_counted=known._iapt_counted)


def exclusion_counts(
    typed: Mapping[str, ir.Table],
    subs: ir.Table,
    as_at: date | None = None,
    referrals: ir.Table | None = None,
    *,
    definitions: Definitions | None = None,
    dates: ir.Table | None = None,
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
    referrals
        With ``as_at``: the referrals as at the date (PathwayID, UniqueSubmissionID,
        RecordNumber); activity of other pathways is ``no_referral_as_at``.
    definitions
        The measures' tool codes and valid ranges (score rows); the packaged default if ``None``.
    dates
        PathwayID, ReferralRequestReceivedDate (one row per pathway): the contacts' checks
        against their referral's date.

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
    defs = definitions if definitions is not None else load_definitions()
    known = counted_submissions(subs)
    parts: list[ir.Table] = []
    for name in TABLES:
        if name in typed:
            parts += _table_counts(name, typed[name], known, as_at, referrals, dates, defs)
    if not parts:
        return pd.DataFrame({"table": [], "reason": [], "rows": []}).astype({"rows": "int64"})
    # every table's counts in one query, compiled and run once
    counts = ibis.union(*parts, distinct=False).execute()
    found: dict[tuple[str, str], int] = {}
    for t, r, n in zip(counts["table"], counts["reason"], counts["rows"], strict=True):
        found[str(t), str(r)] = found.get((str(t), str(r)), 0) + int(n)
    records: list[dict[str, Any]] = []
    for name in TABLES:
        if name not in typed:
            continue
        by_reason = {r: n for (t, r), n in found.items() if t == name}
        extra: dict[str, int] = {}
        n_used = by_reason.get("used", 0)
        if name == "IDS001MPI" and referrals is not None:
            n_linked, n_pairs = by_reason.get("_iapt_linked", 0), by_reason.get("_iapt_pairs", 0)
            extra["not_in_referral_state"] = n_used - n_linked
            extra["duplicate_record_number"] = n_linked - n_pairs
        elif name == "IDS101Referral" and as_at is not None:
            missing, distinct = by_reason.get("_iapt_missing", 0), by_reason.get("_iapt_ids", 0)
            extra["missing_pathway_id"] = missing
            extra["earlier_month_state"] = n_used - missing - distinct
        for reason in EXCLUSION_REASONS:
            rows = by_reason.get(reason, 0) + extra.get(reason, 0)
            if rows > 0:
                records.append({"table": name, "reason": reason, "rows": rows})
    return pd.DataFrame.from_records(records, columns=["table", "reason", "rows"]).astype(
        {"rows": "int64"}
    )
