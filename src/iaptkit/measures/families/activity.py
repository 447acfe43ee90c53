"""Per-pathway activity counts for families 2 and 5: care contacts, appointments, IET logs.

One row per PathwayID with any IDS201 contact or IDS205 log as at E, holding whole numbers
that add up over pathways (docs/measures.md §5.4 CareContact_Count, §5.7 appointments).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from iaptkit.data.text import strip_blanks
from iaptkit.definitions import Definitions
from iaptkit.measures.contacts import in_window, window_bounds
from iaptkit.measures.counting import in_period
from iaptkit.measures.families.specs import FAMILY_MEASURES
from iaptkit.measures.sources import PathwaySource, split_source

__all__ = ["ACTIVITY_COLUMNS", "pathway_activity"]

#: AttendOrDNACode -> appointment measure (docs/measures.md §5.7, M083-M088).
_ATTEND = {
    "2": "appts_cancelled_patient",
    "3": "appts_dna",
    "4": "appts_cancelled_provider",
    "5": "appts_attended",
    "6": "appts_attended_late",
    "7": "appts_late_not_seen",
}
_MECHANISM_PREFIX = "appts_by_mechanism_"
#: ConsMediumUsed (v2.0) codes that map to a v2.1 ConsMechanism (docs/measures.md §5.7).
_V20_MEDIUM = {"03": "11", "06": "09", "08": "10"}
_FOLLOW_UP = "06"

#: The activity columns: care contacts and every family-5 count.
ACTIVITY_COLUMNS: tuple[str, ...] = (
    "care_contacts",
    *(m.name for m in FAMILY_MEASURES if m.family == 5 and m.kind == "count"),
)


def _code(col: ir.Value) -> ir.StringValue:
    text = strip_blanks(col.cast("string"))
    return text.re_replace(r"\.0$", "")


def pathway_activity(
    source: PathwaySource, referrals: ir.Table, start: date, end: date, defs: Definitions
) -> ir.Table:
    """Per PathwayID: ``care_contacts`` and the appointment counts of the period (lazy).

    Parameters
    ----------
    source
        The extract or a part of its pathways.
    referrals
        The referrals as at ``end`` (PathwayID, ReferralRequestReceivedDate, ServDischDate).
    start, end
        The period P.
    defs
        Attendance codes and the unplanned indicator.

    Notes
    -----
    docs/measures.md §5.4: CareContact_Count counts attended or unplanned contacts in the window,
    any AppType but 06, employment support included, plus IET logs with a duration started in
    the window **(choice)**. §5.7: appointments are every contact dated in P (no window);
    mechanisms count attended or unplanned contacts; IET logs count by their end date.

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> from iaptkit.definitions import load_definitions
    >>> ex, E = example_extract(), date(2024, 6, 30)
    >>> a = pathway_activity(ex, ex.referrals_as_at(E), date(2024, 4, 1), E, load_definitions())
    >>> a.execute()[["care_contacts", "appointments", "appts_dna"]].values.tolist()
    [[3, 4, 1]]
    """
    extract, where = split_source(source)
    contacts = extract.activity_as_at("IDS201CareContact", end, where=where)
    logs = extract.activity_as_at("IDS205InternetTherLog", end, where=where)
    bounds = window_bounds(referrals).rename(_bP="PathwayID")
    # Trim and map every code ONCE, in a projection under the join: the join keeps ibis from
    # fusing (and so repeating) these expressions into each of the count columns below, which
    # DuckDB would then evaluate (regular expressions included) once per column and row.
    raw_mech = (
        _code(contacts.ConsMechanism)
        if "ConsMechanism" in contacts.columns
        else ibis.null("string")
    )
    # v2.0 ConsMediumUsed codes -> v2.1 ConsMechanism (no mapped code is mapped again)
    mech_cases = [(raw_mech == old, ibis.literal(new)) for old, new in _V20_MEDIUM.items()]
    coded = contacts.select(
        "PathwayID",
        "CareContDate",
        _attend=_code(contacts.AttendOrDNACode),
        _unplanned=(
            strip_blanks(contacts.PlannedCareContIndicator) == defs.contacts.unplanned_indicator
        ).coalesce(False),
        _follow_up=(_code(contacts.AppType) == _FOLLOW_UP).coalesce(False),
        _mech=ibis.cases(*mech_cases, else_=raw_mech),
    )
    c = coded.left_join(bounds, coded.PathwayID == bounds._bP)
    attend = c._attend
    attended = attend.isin(defs.contacts.attended_codes).coalesce(False) | c._unplanned
    window = in_window(c.CareContDate, c._R, c._D, end)
    follow_up = c._follow_up
    dated = in_period(c.CareContDate, start, end)
    mech = c._mech
    known = [
        m.name.removeprefix(_MECHANISM_PREFIX)
        for m in FAMILY_MEASURES
        if m.name.startswith(_MECHANISM_PREFIX) and not m.name.endswith("unknown")
    ]
    cols: dict[str, Any] = {
        "care_contacts": (attended & window & ~follow_up).ifelse(1, 0),
        "appointments": dated.ifelse(1, 0),
    }
    for code, name in _ATTEND.items():
        cols[name] = (dated & (attend == code).coalesce(False)).ifelse(1, 0)
    counted_mech = dated & attended
    for code in known:
        cols[f"{_MECHANISM_PREFIX}{code}"] = (counted_mech & (mech == code).coalesce(False)).ifelse(
            1, 0
        )
    cols[f"{_MECHANISM_PREFIX}unknown"] = (counted_mech & ~mech.isin(known).coalesce(False)).ifelse(
        1, 0
    )
    per_contact = c.select(PathwayID=c.PathwayID, iet_sessions=ibis.literal(0), **cols)
    lg = logs.left_join(bounds, logs.PathwayID == bounds._bP)
    long_enough = (lg.DurationIntEnabledTher > defs.contacts.iet_min_duration_exclusive).coalesce(
        False
    )
    log_cols: dict[str, Any] = {name: ibis.literal(0) for name in cols}
    log_cols["care_contacts"] = (
        long_enough & in_window(lg.StartDateIntEnabledTherLog, lg._R, lg._D, end)
    ).ifelse(1, 0)
    per_log = lg.select(
        PathwayID=lg.PathwayID,
        iet_sessions=in_period(lg.EndDateIntEnabledTherLog, start, end).ifelse(1, 0),
        **log_cols,
    )
    rows = per_contact.union(per_log.select(*per_contact.columns), distinct=False)
    return rows.group_by("PathwayID").aggregate(
        **{name: rows[name].cast("int64").sum() for name in ACTIVITY_COLUMNS}
    )
