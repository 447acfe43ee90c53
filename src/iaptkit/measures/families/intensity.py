"""Per-pathway low- and high-intensity session counts for family 7 (docs/measures.md §5.9).

A treatment session (an attended contact of a treatment AppType in the window) counts as low
(high) intensity when one of its care activities carries a code of
``catalogue.low_intensity_therapies`` (``high_intensity_therapies``); a session with codes of
both counts in both, and a session with neither list in neither. Every internet-enabled therapy
log that is a treatment session counts as high intensity. Per therapy of
``catalogue.therapy_types``, a session counts when one of its activities carries one of the
therapy's codes (a session with two codes counts in both). The sessions, in date order, also make
the stepped-care stages of :mod:`~iaptkit.measures.families.stages` (high intensity there leaves
out ``catalogue.stage_high_intensity_omitted``).
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from iaptkit.data.text import strip_blanks
from iaptkit.definitions import Definitions
from iaptkit.definitions.catalogue_rules import THERAPY_TYPES
from iaptkit.measures.contacts import in_window, window_bounds
from iaptkit.measures.families.stages import STAGE_COLUMNS, pathway_stages
from iaptkit.measures.sources import PathwaySource, split_source

__all__ = ["INTENSITY_COLUMNS", "pathway_intensity"]

#: The per-pathway session counts of :func:`pathway_intensity` (whole numbers).
INTENSITY_COLUMNS: tuple[str, ...] = (
    "li_sessions",
    "hi_sessions",
    *(f"{t}_sessions" for t in THERAPY_TYPES),
)


def pathway_intensity(
    source: PathwaySource, referrals: ir.Table, end: date, defs: Definitions
) -> ir.Table:
    """Per PathwayID with any session: its session counts and stages as at ``end`` (lazy).

    The columns are :data:`INTENSITY_COLUMNS` and
    :data:`~iaptkit.measures.families.stages.STAGE_COLUMNS` (null without a stage).

    Parameters
    ----------
    source
        The extract or a part of its pathways.
    referrals
        The referrals as at ``end`` (PathwayID, ReferralRequestReceivedDate, ServDischDate).
    end
        The date E.
    defs
        Attendance codes, treatment AppTypes, the therapy code lists.

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> from iaptkit.definitions import load_definitions
    >>> ex, E = example_extract(), date(2024, 6, 30)
    >>> t = pathway_intensity(ex, ex.referrals_as_at(E), E, load_definitions()).execute()
    >>> t[["li_sessions", "hi_sessions"]].values.tolist()  # its sessions carry no therapy code
    [[0, 0]]
    """
    extract, where = split_source(source)
    rules, cat = defs.contacts, defs.catalogue
    contacts = extract.activity_as_at("IDS201CareContact", end, where=where)
    activities = extract.activity_as_at("IDS202CareActivity", end, where=where)
    logs = extract.activity_as_at("IDS205InternetTherLog", end, where=where)
    code = strip_blanks(activities.CodeProcAndProcStatus)
    therapies = {
        f"_t_{t}": code.isin(codes).fill_null(False).ifelse(1, 0).max()
        for t, codes in cat.therapy_types.items()
    }
    stage_hi = tuple(
        c for c in cat.high_intensity_therapies if c not in cat.stage_high_intensity_omitted
    )
    acts = activities.group_by(_aP=activities.PathwayID, _aC=activities.CareContactId).aggregate(
        _li=code.isin(cat.low_intensity_therapies).fill_null(False).ifelse(1, 0).max(),
        _hi=code.isin(cat.high_intensity_therapies).fill_null(False).ifelse(1, 0).max(),
        _hs=code.isin(stage_hi).fill_null(False).ifelse(1, 0).max(),
        **therapies,
    )
    bounds = window_bounds(referrals).rename(_bP="PathwayID")
    c = contacts.left_join(bounds, contacts.PathwayID == bounds._bP)
    c = c.left_join(acts, (c.PathwayID == acts._aP) & (c.CareContactId == acts._aC))
    attend = strip_blanks(c.AttendOrDNACode.cast("string")).re_replace(r"\.0$", "")
    attended = attend.isin(rules.attended_codes).fill_null(False) | (
        strip_blanks(c.PlannedCareContIndicator) == rules.unplanned_indicator
    ).fill_null(False)
    treatment = (
        attended
        & in_window(c.CareContDate, c._R, c._D, end)
        & strip_blanks(c.AppType).isin(rules.treatment_app_types).fill_null(False)
    )
    per_contact = c.select(
        PathwayID=c.PathwayID,
        d=c.CareContDate,
        o=c.CareContactId.cast("string"),
        li_sessions=(treatment & (c._li.fill_null(0) == 1)).ifelse(1, 0),
        hi_sessions=(treatment & (c._hi.fill_null(0) == 1)).ifelse(1, 0),
        _hs=(treatment & (c._hs.fill_null(0) == 1)).ifelse(1, 0),
        **{
            f"{t}_sessions": (treatment & (c[f"_t_{t}"].fill_null(0) == 1)).ifelse(1, 0)
            for t in THERAPY_TYPES
        },
    )
    lg = logs.left_join(bounds, logs.PathwayID == bounds._bP)
    iet = (lg.DurationIntEnabledTher > rules.iet_min_duration_exclusive).fill_null(False) & (
        in_window(lg.StartDateIntEnabledTherLog, lg._R, lg._D, end)
    )
    per_log = lg.select(
        PathwayID=lg.PathwayID,
        d=lg.StartDateIntEnabledTherLog,
        o=ibis.literal("~log ") + lg.StartDateIntEnabledTherLog.cast("string"),
        li_sessions=ibis.literal(0),
        hi_sessions=iet.ifelse(1, 0),
        _hs=iet.ifelse(1, 0),
        **{f"{t}_sessions": ibis.literal(0) for t in THERAPY_TYPES},
    )
    rows = per_contact.union(per_log, distinct=False)
    counts = rows.group_by("PathwayID").aggregate(
        **{name: rows[name].cast("int64").sum() for name in INTENSITY_COLUMNS}
    )
    # stages: one row per session and intensity (low before high on one date)
    low = rows.filter(rows.li_sessions == 1).select("PathwayID", "d", "o", k=ibis.literal(0))
    high = rows.filter(rows._hs == 1).select("PathwayID", "d", "o", k=ibis.literal(1))
    stages = pathway_stages(low.union(high, distinct=False)).rename(_sP="PathwayID")
    out = counts.left_join(stages, counts.PathwayID == stages._sP)
    return out.select("PathwayID", *INTENSITY_COLUMNS, *STAGE_COLUMNS)
