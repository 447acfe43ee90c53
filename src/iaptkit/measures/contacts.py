"""Contacts: attended contacts, treatment sessions and assessments (docs/measures.md §1 Contacts).

Every function builds ibis expressions only (no engine-specific functions), so the same
derivation runs on DuckDB and PySpark. Ties never matter here: sessions are reduced to dates.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from iaptkit.data.text import strip_blanks
from iaptkit.definitions import Definitions
from iaptkit.measures.sources import ActivitySource

__all__ = [
    "CONTACT_REASONS",
    "IET_REASONS",
    "classified_contacts",
    "classified_iet_logs",
    "contact_summary",
    "in_window",
    "window_bounds",
]

#: Why a contact is not a treatment session nor an assessment, checked in this order.
CONTACT_REASONS: tuple[str, ...] = (
    "contact_no_pathway",
    "contact_undated",
    "contact_outside_window",
    "contact_not_attended",
    "contact_other_app_type",
    "contact_employment_support_only",
)

#: Why an internet-enabled therapy log (IDS205) is not a treatment session.
IET_REASONS: tuple[str, ...] = (
    "iet_no_pathway",
    "iet_undated",
    "iet_outside_window",
    "iet_zero_duration",
)


def window_bounds(referrals: ir.Table) -> ir.Table:
    """``PathwayID`` with the window bounds ``_R`` (received) and ``_D`` (discharge or null).

    Notes
    -----
    docs/measures.md §1: R is ReferralRequestReceivedDate, D the ServDischDate (null if open at E).

    Examples
    --------
    >>> t = ibis.memtable({"PathwayID": ["P1"], "ReferralRequestReceivedDate": [date(2024, 4, 1)],
    ...                    "ServDischDate": [date(2024, 6, 1)]})
    >>> window_bounds(t).columns
    ('PathwayID', '_R', '_D')
    """
    return referrals.select(
        PathwayID=referrals.PathwayID,
        _R=referrals.ReferralRequestReceivedDate,
        _D=referrals.ServDischDate,
    )


def in_window(
    value: ir.DateValue, r: ir.DateValue, d: ir.DateValue, as_at: date
) -> ir.BooleanValue:
    """``R <= value <= min(D, E)``, false (never null) when anything is missing.

    Notes
    -----
    docs/measures.md §1: the window is R ≤ date ≤ min(D, E); D is null while the referral is open
    at E (a discharge after E is open, docs/data-model.md rule 3).

    Examples
    --------
    >>> t = ibis.memtable({"x": [date(2024, 1, 5), date(2024, 3, 1)],
    ...                    "r": [date(2024, 1, 1)] * 2, "d": [None, None]})
    >>> t = t.mutate(d=t.d.cast("date"))
    >>> ibis.duckdb.connect().execute(in_window(t.x, t.r, t.d, date(2024, 2, 1))).tolist()
    [True, False]
    """
    e = ibis.literal(as_at, type="date")
    cond = (value >= r) & (value <= e) & (d.isnull() | (value <= d))
    return cond.coalesce(ibis.literal(False))


def _attended(c: ir.Table, defs: Definitions) -> ir.BooleanValue:
    rules = defs.contacts
    code = strip_blanks(c.AttendOrDNACode)
    planned = strip_blanks(c.PlannedCareContIndicator).upper()
    cond = code.isin(rules.attended_codes) | (planned == rules.unplanned_indicator)
    return cond.coalesce(ibis.literal(False))


def classified_contacts(
    extract: ActivitySource, referrals: ir.Table, as_at: date, defs: Definitions
) -> ir.Table:
    """Every IDS201 contact as at E with ``is_treatment``, ``is_assessment`` and ``reason``.

    ``reason`` is null for a contact that is a treatment session or an assessment, else the
    first of :data:`CONTACT_REASONS` that applies. Columns: PathwayID, CareContactId,
    CareContDate, is_treatment, is_assessment, reason.

    Notes
    -----
    docs/measures.md §1 Contacts: attended = AttendOrDNACode 5/6 or PlannedCareContIndicator N;
    treatment = attended, in the window, AppType 02/03/05 and not employment-support-only
    **(choice)**; assessment = attended, in the window, AppType 01/03. All codes come from the
    definitions file.

    Examples
    --------
    >>> from datetime import date
    >>> from iaptkit.measures.examples import example_extract
    >>> from iaptkit.definitions import load_definitions
    >>> ex, E, defs = example_extract(), date(2024, 6, 30), load_definitions()
    >>> c = classified_contacts(ex, ex.referrals_as_at(E), E, defs).execute()
    >>> c = c.sort_values("CareContactId")
    >>> c.is_treatment.tolist(), c.is_assessment.tolist(), c.reason.tolist()[3]
    ([False, True, True, False], [True, False, False, False], 'contact_not_attended')
    """
    rules = defs.contacts
    contacts = extract.activity_as_at("IDS201CareContact", as_at)
    activities = extract.activity_as_at("IDS202CareActivity", as_at)
    emp_codes = rules.employment_support_codes or ("",)
    acts = activities.group_by(_aP=activities.PathwayID, _aC=activities.CareContactId).aggregate(
        _n_acts=activities.CareActId.count(),
        _n_emp=strip_blanks(activities.CodeProcAndProcStatus).isin(emp_codes).ifelse(1, 0).sum(),
    )
    bounds = window_bounds(referrals).rename(_bP="PathwayID")
    c = contacts.select(
        "PathwayID",
        "CareContactId",
        "CareContDate",
        "AppType",
        "AttendOrDNACode",
        "PlannedCareContIndicator",
    )
    c = c.left_join(bounds, c.PathwayID == bounds._bP)
    c = c.left_join(acts, (c.PathwayID == acts._aP) & (c.CareContactId == acts._aC))
    app = strip_blanks(c.AppType)
    attended = _attended(c, defs)
    window = in_window(c.CareContDate, c._R, c._D, as_at)
    emp_only = (c._n_acts.coalesce(0) > 0) & (c._n_acts == c._n_emp)
    if not rules.exclude_employment_support_only:
        emp_only = ibis.literal(False)
    treatment_type = app.isin(rules.treatment_app_types).coalesce(ibis.literal(False))
    assessment_type = app.isin(rules.assessment_app_types).coalesce(ibis.literal(False))
    usable = attended & window
    is_treatment = usable & treatment_type & ~emp_only.coalesce(ibis.literal(False))
    is_assessment = usable & assessment_type
    reason = ibis.cases(
        (c._bP.isnull(), ibis.literal("contact_no_pathway")),
        (c.CareContDate.isnull(), ibis.literal("contact_undated")),
        (~window, ibis.literal("contact_outside_window")),
        (~attended, ibis.literal("contact_not_attended")),
        (~(treatment_type | assessment_type), ibis.literal("contact_other_app_type")),
        (~(is_treatment | is_assessment), ibis.literal("contact_employment_support_only")),
        else_=ibis.null("string"),
    )
    return c.select(
        PathwayID=c.PathwayID,
        CareContactId=c.CareContactId,
        CareContDate=c.CareContDate,
        is_treatment=is_treatment,
        is_assessment=is_assessment,
        reason=reason,
    )


def classified_iet_logs(
    extract: ActivitySource, referrals: ir.Table, as_at: date, defs: Definitions
) -> ir.Table:
    """Every IDS205 log as at E with ``is_treatment`` and ``reason`` (null when it counts).

    Notes
    -----
    docs/measures.md §1 Contacts: an internet-enabled therapy log is a treatment session dated on
    its StartDateIntEnabledTherLog when that date is in the window and DurationIntEnabledTher > 0
    (the threshold is ``contacts.iet_min_duration_exclusive``).

    Examples
    --------
    >>> from datetime import date
    >>> from iaptkit.measures.examples import example_extract
    >>> from iaptkit.definitions import load_definitions
    >>> ex, E, defs = example_extract(), date(2024, 6, 30), load_definitions()
    >>> len(classified_iet_logs(ex, ex.referrals_as_at(E), E, defs).execute())  # no IDS205
    0
    """
    logs = extract.activity_as_at("IDS205InternetTherLog", as_at)
    bounds = window_bounds(referrals).rename(_bP="PathwayID")
    t = logs.select("PathwayID", "StartDateIntEnabledTherLog", "DurationIntEnabledTher")
    t = t.left_join(bounds, t.PathwayID == bounds._bP)
    window = in_window(t.StartDateIntEnabledTherLog, t._R, t._D, as_at)
    long_enough = (t.DurationIntEnabledTher > defs.contacts.iet_min_duration_exclusive).coalesce(
        ibis.literal(False)
    )
    reason = ibis.cases(
        (t._bP.isnull(), ibis.literal("iet_no_pathway")),
        (t.StartDateIntEnabledTherLog.isnull(), ibis.literal("iet_undated")),
        (~window, ibis.literal("iet_outside_window")),
        (~long_enough, ibis.literal("iet_zero_duration")),
        else_=ibis.null("string"),
    )
    return t.select(
        PathwayID=t.PathwayID,
        session_date=t.StartDateIntEnabledTherLog,
        is_treatment=window & long_enough,
        reason=reason,
    )


def contact_summary(
    extract: ActivitySource, referrals: ir.Table, as_at: date, defs: Definitions
) -> ir.Table:
    """Per PathwayID with any session or assessment: the contact-derived fields.

    Columns: PathwayID, Assessment_FirstDate, TherapySession_FirstDate,
    TherapySession_SecondDate, TherapySession_LastDate, TreatmentCareContact_Count.

    Notes
    -----
    docs/measures.md §1 Fields: sessions are ordered by date; two sessions on one date give the same
    first and second date. Sessions are attended treatment contacts plus counted IET logs.

    Examples
    --------
    >>> from datetime import date
    >>> from iaptkit.measures.examples import example_extract
    >>> from iaptkit.definitions import load_definitions
    >>> ex, E, defs = example_extract(), date(2024, 6, 30), load_definitions()
    >>> row = contact_summary(ex, ex.referrals_as_at(E), E, defs).execute().iloc[0]
    >>> str(row.Assessment_FirstDate.date()), str(row.TherapySession_SecondDate.date())
    ('2024-04-03', '2024-04-17')
    >>> int(row.TreatmentCareContact_Count)
    2
    """
    contacts = classified_contacts(extract, referrals, as_at, defs)
    logs = classified_iet_logs(extract, referrals, as_at, defs)
    treat = contacts.filter(contacts.is_treatment).select(
        PathwayID=contacts.PathwayID, session_date=contacts.CareContDate
    )
    iet = logs.filter(logs.is_treatment).select("PathwayID", "session_date")
    sessions = treat.union(iet, distinct=False)
    ranked = sessions.mutate(
        _n=ibis.row_number().over(group_by=sessions.PathwayID, order_by=sessions.session_date)
    )
    per_session = ranked.group_by(_sP=ranked.PathwayID).aggregate(
        TherapySession_FirstDate=ranked.session_date.min(),
        TherapySession_SecondDate=ranked.session_date.max(where=ranked._n == 1),
        TherapySession_LastDate=ranked.session_date.max(),
        TreatmentCareContact_Count=ranked.session_date.count(),
    )
    assessments = contacts.filter(contacts.is_assessment)
    per_assessment = assessments.group_by(_aP=assessments.PathwayID).aggregate(
        Assessment_FirstDate=assessments.CareContDate.min()
    )
    ids = per_session.select(PathwayID=per_session._sP).union(
        per_assessment.select(PathwayID=per_assessment._aP), distinct=True
    )
    out = ids.left_join(per_session, ids.PathwayID == per_session._sP)
    out = out.left_join(per_assessment, out.PathwayID == per_assessment._aP)
    return out.select(
        "PathwayID",
        "Assessment_FirstDate",
        "TherapySession_FirstDate",
        "TherapySession_SecondDate",
        "TherapySession_LastDate",
        TreatmentCareContact_Count=out.TreatmentCareContact_Count.coalesce(0).cast("int64"),
    )
