"""Monthly resubmission rules: which rows count, the state as at a date, activity unions.

Pure ibis functions over typed tables (:meth:`iaptkit.data.Extract.table`): the same code runs on
DuckDB and Spark. Every ordering is total and spells out where nulls go, so both engines pick the
same row.

The rules are those of ``docs/data-model.md`` ("Monthly resubmission: which rows count"):

1. For each (provider, Unique_MonthID) only the submission with the highest UniqueSubmissionID
   counts (from IDS000 and IDS101); rows of every table from a superseded submission are ignored.
2. IDS101 rows with UsePathway_Flag false are ignored (null counts as true).
3. The state of a pathway as at E is its IDS101 row from the latest counted month not after E's
   month (ties: highest UniqueSubmissionID, then lowest ServiceRequestId, then every other column);
   demographics from IDS001 with the same (UniqueSubmissionID, RecordNumber); a ServDischDate
   after E counts as open (ServDischDate and EndCode null).
4. Activity is the union of counted submissions up to E's month, deduplicated on the table's
   ``activity_key``, keeping the row of the latest (Unique_MonthID, UniqueSubmissionID).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from iaptkit.data.schema import NHS_DERIVED_FIELDS, TableSpec, month_id

__all__ = [
    "DEMOGRAPHIC_FIELDS",
    "activity_as_at",
    "counted_rows",
    "latest_rows",
    "referrals_as_at",
    "submission_columns",
    "submission_index",
    "without_nhs_fields",
]

#: IDS001 fields joined onto referrals as at a date.
DEMOGRAPHIC_FIELDS: tuple[str, ...] = (
    "Person_ID",
    "Gender",
    "EthnicCategory",
    "IndicesOfDeprivationDecile",
    "Age_RP_EndDate",
)


def submission_columns(table: str) -> tuple[str, ...]:
    """The fields :func:`submission_index` reads from a table.

    Notes
    -----
    docs/data-model.md: IDS000 calls the provider ``OrgIDProv``; every other table
    ``OrgID_Provider``.

    Examples
    --------
    >>> submission_columns("IDS000Header")
    ('OrgIDProv', 'Unique_MonthID', 'UniqueSubmissionID')
    """
    provider = "OrgIDProv" if table == "IDS000Header" else "OrgID_Provider"
    return (provider, "Unique_MonthID", "UniqueSubmissionID")


def submission_index(sources: Sequence[ir.Table]) -> ir.Table:
    """Every submission seen, flagged ``counted`` when it is the latest of its provider-month.

    Parameters
    ----------
    sources
        Typed tables to read submissions from: IDS000 (``OrgIDProv``) and/or IDS101, or, when
        an extract has neither, the tables it has.

    Returns
    -------
    ibis.Table
        Distinct ``OrgID_Provider, Unique_MonthID, UniqueSubmissionID`` plus ``counted``
        (the highest UniqueSubmissionID of its (OrgID_Provider, Unique_MonthID)).

    Notes
    -----
    docs/data-model.md, "Monthly resubmission", rule 1.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"OrgID_Provider": ["A", "A", "A"], "Unique_MonthID": [1, 1, 2],
    ...                    "UniqueSubmissionID": [10, 11, 12]})
    >>> out = submission_index([t]).order_by("UniqueSubmissionID").execute()
    >>> out.counted.tolist()
    [False, True, True]
    """
    parts = []
    for table in sources:
        provider = table.OrgIDProv if "OrgIDProv" in table.columns else table.OrgID_Provider
        parts.append(
            table.select(
                # typed tables hold ODS codes upper case (schema.ORG_CODE_FIELDS)
                OrgID_Provider=provider.cast("string"),
                Unique_MonthID=table.Unique_MonthID.cast("int64"),
                UniqueSubmissionID=table.UniqueSubmissionID.cast("int64"),
            )
        )
    allsubs = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=True)
    allsubs = allsubs.filter(allsubs.UniqueSubmissionID.notnull()).distinct()
    window = ibis.window(group_by=[allsubs.OrgID_Provider, allsubs.Unique_MonthID])
    latest = allsubs.UniqueSubmissionID.max().over(window)
    return allsubs.mutate(counted=(allsubs.UniqueSubmissionID == latest).fill_null(False))


def _counted_ids(subs: ir.Table) -> ir.Table:
    ids = subs.filter(subs.counted).select(_counted_sid=subs.UniqueSubmissionID).distinct()
    return ids


def counted_rows(typed: ir.Table, spec: TableSpec, subs: ir.Table) -> ir.Table:
    """Typed rows of counted submissions only; IDS101 also drops UsePathway_Flag false.

    Notes
    -----
    docs/data-model.md, "Monthly resubmission", rules 1 and 2.

    Examples
    --------
    >>> import ibis
    >>> from iaptkit.data.schema import TABLES
    >>> subs = ibis.memtable({"UniqueSubmissionID": [10, 11], "counted": [False, True]})
    >>> rows = ibis.memtable({"UniqueSubmissionID": [10, 11, 11], "x": [1, 2, 3]})
    >>> counted_rows(rows, TABLES["IDS201CareContact"], subs).x.execute().sort_values().tolist()
    [2, 3]
    """
    ids = _counted_ids(subs)
    rows = typed.semi_join(ids, typed.UniqueSubmissionID == ids._counted_sid)
    if spec.name == "IDS101Referral" and "UsePathway_Flag" in rows.columns:
        rows = rows.filter(rows.UsePathway_Flag.isnull() | rows.UsePathway_Flag)
    return rows


def latest_rows(
    table: ir.Table,
    key: Sequence[str],
    first: Sequence[tuple[str, bool]] = (),
    prefer: Callable[[ir.Table], ir.BooleanValue] | None = None,
) -> ir.Table:
    """Keep one row per ``key``: latest (Unique_MonthID, UniqueSubmissionID), then ``first``.

    With ``prefer``, rows for which it is true win before anything else (then the latest).

    Parameters
    ----------
    table
        Typed rows carrying Unique_MonthID and UniqueSubmissionID.
    key
        The columns identifying one record.
    first
        Further ``(column, ascending)`` tie-breakers before every remaining column (ascending,
        nulls last), so that the choice is fully deterministic and the same on every engine.

    Notes
    -----
    docs/data-model.md, "Monthly resubmission", rules 3 and 4 (the latest row counts). Orderings
    state ``nulls_first=False`` explicitly: DuckDB and Spark differ in their default.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"k": ["a", "a", "b"], "Unique_MonthID": [1, 2, 1],
    ...                    "UniqueSubmissionID": [5, 6, 7], "v": ["old", "new", "b"]})
    >>> latest_rows(t, ["k"]).order_by("k").v.execute().tolist()
    ['new', 'b']
    """
    used = {*key, "Unique_MonthID", "UniqueSubmissionID", *(c for c, _ in first)}
    columns = table.columns
    order: list[Any] = []
    if prefer is not None:
        # computed once per row in a projection under the window: written inside the window's
        # ORDER BY, DuckDB evaluates every repeated sub-expression of the predicate (trims,
        # score parsing, one lookup per measure) again, several times the cost of the sort
        table = table.mutate(_iapt_prefer=prefer(table).coalesce(ibis.literal(False)))
        order.append(ibis.desc(table._iapt_prefer.cast("int8")))
    order += [
        ibis.desc(table.Unique_MonthID, nulls_first=False),
        ibis.desc(table.UniqueSubmissionID, nulls_first=False),
    ]
    for column, ascending in first:
        sort = ibis.asc if ascending else ibis.desc
        order.append(sort(table[column], nulls_first=False))
    order.extend(ibis.asc(table[c], nulls_first=False) for c in columns if c not in used)
    window = ibis.window(group_by=[table[c] for c in key], order_by=order)
    ranked = table.mutate(_iapt_rank=ibis.row_number().over(window))
    return ranked.filter(ranked._iapt_rank == 0).select(*columns)


def without_nhs_fields(referrals: ir.Table) -> ir.Table:
    """IDS101 rows without the NHS-derived fields (``schema.NHS_DERIVED_FIELDS``).

    Notes
    -----
    The NHS-derived fields come last in IDS101's field order, so they are the last
    tie-breakers of :func:`referrals_as_at`. Rows that tie on every other field are equal on
    every field kept here, so the as-at state of the kept fields is the same with or without
    them (docs/data-model.md, "Monthly resubmission", rule 3), at a much narrower sort.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"PathwayID": ["P"], "Recovery_Flag": [True]})
    >>> without_nhs_fields(t).columns
    ('PathwayID',)
    """
    derived = {f.name for f in NHS_DERIVED_FIELDS}
    return referrals.select(*(c for c in referrals.columns if c not in derived))


def referrals_as_at(referrals: ir.Table, people: ir.Table | None, as_at: date) -> ir.Table:
    """One row per PathwayID: its state as at ``as_at``, with demographics from IDS001.

    Parameters
    ----------
    referrals
        Counted IDS101 rows (:func:`counted_rows`).
    people
        Counted IDS001 rows, or ``None`` when the extract has no IDS001 (demographics null).
    as_at
        The date E.

    Notes
    -----
    docs/data-model.md, "Monthly resubmission", rule 3. Ties: highest UniqueSubmissionID, then the
    lowest ServiceRequestId, then every other column. Where IDS001 holds the same
    (UniqueSubmissionID, RecordNumber) twice, the row with the lowest Person_ID is used.

    Examples
    --------
    >>> import ibis
    >>> from datetime import date
    >>> r = ibis.memtable({"PathwayID": ["P", "P"], "Unique_MonthID": [1492, 1493],
    ...     "UniqueSubmissionID": [1, 2], "ServiceRequestId": ["S", "S"], "RecordNumber": [9, 9],
    ...     "ServDischDate": [None, date(2024, 8, 20)], "EndCode": [None, "46"]})
    >>> out = referrals_as_at(r, None, date(2024, 8, 10)).execute()
    >>> out.UniqueSubmissionID.tolist(), out.EndCode.isna().tolist()
    ([2], [True])
    """
    limit = month_id(as_at)
    rows = referrals.filter(referrals.Unique_MonthID <= limit, referrals.PathwayID.notnull())
    latest = latest_rows(rows, ["PathwayID"], first=[("ServiceRequestId", True)])
    after = latest.ServDischDate > ibis.literal(as_at)
    is_open = after.fill_null(False)
    latest = latest.mutate(
        ServDischDate=ibis.ifelse(is_open, ibis.null("date"), latest.ServDischDate),
        EndCode=ibis.ifelse(is_open, ibis.null("string"), latest.EndCode),
    )
    if people is None:
        return latest.mutate(
            Person_ID=ibis.null("string"),
            Gender=ibis.null("string"),
            EthnicCategory=ibis.null("string"),
            IndicesOfDeprivationDecile=ibis.null("int64"),
            Age_RP_EndDate=ibis.null("int64"),
        )
    window = ibis.window(
        group_by=[people.UniqueSubmissionID, people.RecordNumber],
        order_by=[
            ibis.asc(people[c], nulls_first=False)
            for c in people.columns
            if c not in ("UniqueSubmissionID", "RecordNumber")
        ],
    )
    ranked = people.mutate(_iapt_rank=ibis.row_number().over(window))
    person = ranked.filter(ranked._iapt_rank == 0).select(
        _iapt_sid=ranked.UniqueSubmissionID,
        _iapt_rec=ranked.RecordNumber,
        **{c: ranked[c] for c in DEMOGRAPHIC_FIELDS},
    )
    joined = latest.left_join(
        person,
        [latest.UniqueSubmissionID == person._iapt_sid, latest.RecordNumber == person._iapt_rec],
    )
    return joined.select(*latest.columns, *DEMOGRAPHIC_FIELDS)


def activity_as_at(
    counted: ir.Table,
    spec: TableSpec,
    as_at: date,
    pathways: ir.Table | None = None,
    prefer: Callable[[ir.Table], ir.BooleanValue] | None = None,
) -> ir.Table:
    """Union of counted rows up to ``as_at``'s month, one per ``spec.activity_key`` (latest).

    Parameters
    ----------
    counted
        Counted rows of the table (:func:`counted_rows`).
    spec
        The table; its ``activity_key`` must include PathwayID when ``pathways`` is given.
    as_at
        The date E.
    pathways
        Optional table with a ``PathwayID`` column: only the activity of these pathways. The
        rows are filtered before the de-duplication (PathwayID is part of every activity key,
        so each record keeps all its rows or none): the same rows as filtering afterwards.
    prefer
        Optional predicate on the rows: where one record has several rows, a row for which it
        is true wins over the others, latest first (a valid score over an invalid one).

    Notes
    -----
    docs/data-model.md, "Monthly resubmission", rule 4.

    Examples
    --------
    >>> import ibis
    >>> from datetime import date
    >>> from iaptkit.data.schema import TABLES
    >>> t = ibis.memtable({"PathwayID": ["P", "P", "P"], "CareContactId": ["C", "C", "D"],
    ...     "Unique_MonthID": [1492, 1493, 1494], "UniqueSubmissionID": [1, 2, 3],
    ...     "AppType": ["01", "02", "02"]})
    >>> out = activity_as_at(t, TABLES["IDS201CareContact"], date(2024, 8, 31)).execute()
    >>> out.AppType.tolist()
    ['02']
    """
    if spec.activity_key is None:
        raise ValueError(f"{spec.name} has no activity key")
    rows = counted.filter(counted.Unique_MonthID <= month_id(as_at))
    if pathways is not None:
        if "PathwayID" not in spec.activity_key:
            raise ValueError(f"{spec.name}: its activity key has no PathwayID")
        wanted = pathways.select(_iapt_pathway=pathways.PathwayID)
        rows = rows.semi_join(wanted, rows.PathwayID == wanted._iapt_pathway)
    return latest_rows(rows, list(spec.activity_key), prefer=prefer)
