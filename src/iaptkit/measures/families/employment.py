"""Per-pathway employment status and employment support for family 8 (docs/measures.md §5.10).

IDS004 records reach a pathway through the referral rows of the same submission
(UniqueSubmissionID, RecordNumber), counted submissions up to E's month. A record is valid
when its EmployStatus is one of 01-08 (``4`` read as ``04``) and it is dated in the window
(R <= EmployStatusRecDate <= min(D, E)); the first (last) status is the earliest (latest)
valid record, ties broken by the highest UniqueSubmissionID, then the lowest EmployStatus
and SickAbsenceInd **(choice)**.
Employment support received = an attended contact in the window with an employment-support
care activity.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from iaptkit.data.schema import month_id
from iaptkit.data.text import strip_blanks
from iaptkit.definitions import Definitions
from iaptkit.measures.contacts import in_window, window_bounds
from iaptkit.measures.families.specs import EMPLOY_STATUSES
from iaptkit.measures.sources import PathwaySource, split_source

__all__ = ["EMPLOYMENT_COLUMNS", "employment_category", "pathway_employment"]

#: The per-pathway columns of :func:`pathway_employment`.
EMPLOYMENT_COLUMNS: tuple[str, ...] = (
    "emp_first_status",
    "emp_first_sick",
    "emp_last_status",
    "emp_last_sick",
    "employment_support",
)


def _code(col: ir.Value) -> ir.StringValue:
    return strip_blanks(col.cast("string")).re_replace(r"\.0$", "").upper().nullif("")


def _status(col: ir.Value) -> ir.StringValue:
    """EmployStatus as two characters: ``4`` and ``4.0`` are ``04``."""
    code = _code(col)
    return ibis.ifelse(code.length() == 1, ibis.literal("0").concat(code), code)


def employment_category(status: ir.StringValue, sick: ir.StringValue) -> ir.StringValue:
    """``in_work`` (01, N), ``off_sick`` (01, Y), ``not_employed`` (02-08, 8), else ``unknown``.

    Examples
    --------
    >>> t = ibis.memtable({"s": ["01", "01", "04", "04", None], "k": ["N", "Y", "8", "N", "N"]})
    >>> t.select(c=employment_category(t.s, t.k)).execute().c.tolist()
    ['in_work', 'off_sick', 'not_employed', 'unknown', 'unknown']
    """
    return ibis.cases(
        ((status == "01") & (sick == "N"), ibis.literal("in_work")),
        ((status == "01") & (sick == "Y"), ibis.literal("off_sick")),
        (status.isin(EMPLOY_STATUSES[1:]) & (sick == "8"), ibis.literal("not_employed")),
        else_=ibis.literal("unknown"),
    )


def _statuses(source: PathwaySource, referrals: ir.Table, end: date) -> ir.Table:
    """Per PathwayID: the first and last valid employment record in the window."""
    extract, where = split_source(source)
    if not extract.has_table("IDS004EmpStatus"):
        return ibis.memtable(
            {"PathwayID": [], **{c: [] for c in EMPLOYMENT_COLUMNS[:4]}},
            schema={"PathwayID": "string", **{c: "string" for c in EMPLOYMENT_COLUMNS[:4]}},
        )
    last_month = month_id(end)
    emp = extract.counted("IDS004EmpStatus")
    emp = emp.filter(emp.Unique_MonthID <= last_month)
    refs = extract.counted("IDS101Referral")
    if where is not None:
        refs = where(refs)
    refs = refs.filter(refs.Unique_MonthID <= last_month)
    links = refs.select(
        _lS=refs.UniqueSubmissionID, _lR=refs.RecordNumber, PathwayID=refs.PathwayID
    ).distinct()
    e = emp.inner_join(
        links, (emp.UniqueSubmissionID == links._lS) & (emp.RecordNumber == links._lR)
    )
    e = e.select(
        "PathwayID",
        "UniqueSubmissionID",
        day=e.EmployStatusRecDate,
        status=_status(e.EmployStatus),
        sick=_code(e.SickAbsenceInd),
    )
    bounds = window_bounds(referrals).rename(_bP="PathwayID")
    e = e.inner_join(bounds, e.PathwayID == bounds._bP)
    e = e.filter(e.status.isin(EMPLOY_STATUSES) & in_window(e.day, e._R, e._D, end))
    ties = [ibis.desc(e.UniqueSubmissionID), e.status, e.sick]
    first = ibis.row_number().over(group_by=e.PathwayID, order_by=[e.day, *ties])
    last = ibis.row_number().over(group_by=e.PathwayID, order_by=[ibis.desc(e.day), *ties])
    ranked = e.select("PathwayID", "status", "sick", _f=first, _l=last)
    a = ranked.filter(ranked._f == 0).select(
        "PathwayID", emp_first_status=ranked.status, emp_first_sick=ranked.sick
    )
    b = ranked.filter(ranked._l == 0).select(
        _p=ranked.PathwayID, emp_last_status=ranked.status, emp_last_sick=ranked.sick
    )
    return a.inner_join(b, a.PathwayID == b._p).drop("_p")


def _support(source: PathwaySource, referrals: ir.Table, end: date, defs: Definitions) -> ir.Table:
    """PathwayIDs with an attended employment-support contact in the window."""
    extract, where = split_source(source)
    rules = defs.contacts
    contacts = extract.activity_as_at("IDS201CareContact", end, where=where)
    activities = extract.activity_as_at("IDS202CareActivity", end, where=where)
    es = strip_blanks(activities.CodeProcAndProcStatus).isin(
        rules.employment_support_codes or ("",)
    )
    es_contacts = (
        activities.filter(es.fill_null(False))
        .select(_aP=activities.PathwayID, _aC=activities.CareContactId)
        .distinct()
    )
    bounds = window_bounds(referrals).rename(_bP="PathwayID")
    c = contacts.inner_join(
        es_contacts,
        (contacts.PathwayID == es_contacts._aP) & (contacts.CareContactId == es_contacts._aC),
    )
    c = c.inner_join(bounds, c.PathwayID == bounds._bP)
    attend = strip_blanks(c.AttendOrDNACode.cast("string")).re_replace(r"\.0$", "")
    attended = attend.isin(rules.attended_codes).fill_null(False) | (
        strip_blanks(c.PlannedCareContIndicator).upper() == rules.unplanned_indicator
    ).fill_null(False)
    c = c.filter(attended & in_window(c.CareContDate, c._R, c._D, end))
    return c.select(_sP=c.PathwayID).distinct()


def pathway_employment(
    source: PathwaySource, referrals: ir.Table, end: date, defs: Definitions
) -> ir.Table:
    """Per PathwayID of ``referrals``: first/last EmployStatus and SickAbsenceInd, and
    ``employment_support`` (1/0), as at ``end`` (lazy).

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> from iaptkit.definitions import load_definitions
    >>> ex, E = example_extract(), date(2024, 6, 30)
    >>> t = pathway_employment(ex, ex.referrals_as_at(E), E, load_definitions()).execute()
    >>> bool(t.emp_first_status.isna().all()), t.employment_support.tolist()
    (True, [0])
    """
    statuses = _statuses(source, referrals, end).rename(_eP="PathwayID")
    support = _support(source, referrals, end, defs)
    ids = referrals.select("PathwayID")
    t = ids.left_join(statuses, ids.PathwayID == statuses._eP)
    t = t.left_join(support, t.PathwayID == support._sP)
    return t.select(
        "PathwayID",
        *EMPLOYMENT_COLUMNS[:4],
        employment_support=t._sP.notnull().ifelse(1, 0),
    )
