"""Each pathway's membership of the catalogue cohorts, and the values its statistics summarise.

From the pathway table (docs/module-contracts.md), the referral fields it lacks (EndCode,
SourceOfReferralMH / SourceOfReferralIAPT) and the activity counts of
:mod:`~iaptkit.measures.families.activity`: one whole number per count measure (1/0 for a
cohort, a number of contacts for appointments) and one value per statistic (null outside its
cohort). Every rule is docs/measures.md §5.3-§5.9.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from iaptkit.data.schema import TABLES
from iaptkit.data.text import read_code, strip_blanks
from iaptkit.definitions import Definitions
from iaptkit.definitions.bands import (
    EIGHTEEN_WEEKS_DAYS,
    SIX_WEEKS_DAYS,
    WAITING_WEEKS,
    wait_band_ranges,
)
from iaptkit.measures.counting import in_period
from iaptkit.measures.families.activity import ACTIVITY_COLUMNS
from iaptkit.measures.families.cohorts8 import extra_cohorts
from iaptkit.measures.families.specs import FAMILY_MEASURES
from iaptkit.measures.outcomes import usable_adsm_keys
from iaptkit.measures.pathway_schema import flag_set

__all__ = ["COUNT_NAMES", "STAT_VALUES", "cohort_table"]

#: Every count measure of families 1-8, in publication order.
COUNT_NAMES: tuple[str, ...] = tuple(m.name for m in FAMILY_MEASURES if m.kind == "count")
#: The per-pathway values the means, medians and internal statistics summarise.
STAT_VALUES: tuple[str, ...] = tuple(
    dict.fromkeys(m.value for m in FAMILY_MEASURES if m.value is not None)
)

#: How the referral's end code is read (a code that may arrive as a number).
_END_CODE = TABLES["IDS101Referral"].field("EndCode")


def _flag(x: ir.BooleanValue) -> ir.IntegerValue:
    return x.fill_null(False).ifelse(1, 0).cast("int64")


def _between(x: ir.IntegerValue, lo: int | None, hi: int | None) -> ir.BooleanValue:
    cond = x.notnull()
    if lo is not None:
        cond = cond & (x >= lo)
    if hi is not None:
        cond = cond & (x <= hi)
    return cond.fill_null(False)


def _days(later: ir.DateValue, earlier: ir.DateValue) -> ir.IntegerValue:
    return later.delta(earlier, unit="day").cast("int64")


def _bands(prefix: str, cohort: ir.BooleanValue, wait: ir.IntegerValue) -> dict[str, Any]:
    ok = cohort & (wait >= 0).fill_null(False)
    return {
        name: _flag(ok & _between(wait, first, last))
        for name, (first, last) in wait_band_ranges(prefix).items()
    }


def _published_caseness(t: ir.Table, defs: Definitions) -> ir.BooleanValue:
    """First PHQ-9 and anxiety scores both present and not NotCaseness: one is a case."""
    needed = ("PHQ9_FirstScore", "GAD_FirstScore", "ADSM", "ADSM_FirstScore", "ADSM_LastScore")
    if any(col not in t.columns for col in needed):
        return ibis.literal(False)
    usable = usable_adsm_keys(defs) or ("",)
    use_adsm = (t.ADSM.cast("string").isin(usable) & t.ADSM_LastScore.notnull()).fill_null(False)
    anx_first = ibis.ifelse(use_adsm, t.ADSM_FirstScore.notnull(), t.GAD_FirstScore.notnull())
    both = t.PHQ9_FirstScore.notnull() & anx_first
    return (both & ~flag_set(t, "NotCaseness_Flag")).fill_null(False)


def cohort_table(
    t: ir.Table,
    start: date,
    end: date,
    defs: Definitions,
    *,
    stock_providers: tuple[str, ...] | None = None,
) -> ir.Table:
    """Per pathway: the group columns kept (``g_*``), every count and every statistic value.

    Parameters
    ----------
    t
        The pathway table joined with ``EndCode``, ``SourceOfReferral`` and
        :data:`~iaptkit.measures.families.activity.ACTIVITY_COLUMNS` (null when absent).
    start, end
        The period P; stocks (family 3) are evaluated at ``end``.
    defs
        The catalogue settings (``defs.catalogue``) and the first-to-second threshold.
    stock_providers
        With ``catalogue.stock_rule = reporting-month``: the providers with a submission in
        ``end``'s month; other providers' referrals are not in the stocks. ``None``: all.

    Notes
    -----
    Waits are whole days, later date minus earlier; a negative wait (possible only with
    NHS-derived dates) is a data error and is neither banded nor averaged (docs/measures.md
    §5.3). Rates and statistics are computed from the counts afterwards.
    """
    cat = defs.catalogue
    R, D = t.ReferralRequestReceivedDate, t.ServDischDate
    A, F = t.Assessment_FirstDate, t.TherapySession_FirstDate
    F2, L = t.TherapySession_SecondDate, t.TherapySession_LastDate
    N = t.TreatmentCareContact_Count.cast("int64").fill_null(0)
    ended = in_period(D, start, end)
    finished = ended & flag_set(t, "CompletedTreatment_Flag")
    entered = in_period(F, start, end)
    assessed = in_period(A, start, end)
    second = in_period(F2, start, end)
    wait_treat = _days(F, R)
    wait_assess = _days(A, R)
    gap = _days(F2, F)
    c: dict[str, Any] = {
        # family 0: NHS's published at-caseness count (both first scores, one a case)
        "at_caseness_published": _flag(finished & _published_caseness(t, defs)),
        # family 1
        "entered_treatment": _flag(entered),
        **_bands("entered_wait_", entered, wait_treat),
        "entered_waited_6_weeks": _flag(entered & _between(wait_treat, 0, SIX_WEEKS_DAYS)),
        "entered_waited_18_weeks": _flag(entered & _between(wait_treat, 0, EIGHTEEN_WEEKS_DAYS)),
        "finished_treatment": _flag(finished),
        "first_assessment": _flag(assessed),
        **_bands("first_assessment_wait_", assessed, wait_assess),
    }
    # family 2
    care = t.care_contacts.cast("int64").fill_null(0)
    code = read_code(t.EndCode.cast("string"), decimal=_END_CODE.numeric_code).nullif("")
    no_treatment = F.isnull()
    c.update(
        ended_referrals=_flag(ended),
        ended_not_seen=_flag(ended & (care == 0)),
        ended_seen_not_treated=_flag(ended & (N == 0) & (care > 0)),
        ended_before_treatment=_flag(ended & no_treatment),
        ended_treated_once=_flag(ended & (N == 1)),
        ended_before_assessment=_flag(ended & A.isnull()),
        ended_treated_once_or_more=_flag(ended & ((N == 1) | finished)),
        ended_after_treatment=_flag(ended & ~no_treatment),
    )
    for end_code in cat.end_codes:
        c[f"ended_endcode_{end_code}"] = _flag(ended & (code == end_code))
    c["ended_endcode_invalid"] = _flag(ended & code.notnull() & ~code.isin(tuple(cat.end_codes)))
    c["ended_endcode_missing"] = _flag(ended & code.isnull())
    for group, codes in cat.end_code_groups.items():
        c[f"ended_group_{group}"] = _flag(ended & code.isin(codes))
    # family 3: stocks at E
    open_ = (D.isnull() | (end < D)) & (end >= R)
    if cat.stock_rule == "reporting-month" and stock_providers is not None:
        open_ = open_ & t.provider.isin(stock_providers or ("",))
    so_far = _days(ibis.literal(end), R)
    waiting_assess = open_ & A.isnull()
    if cat.waiting_for_assessment_requires_no_treatment:
        waiting_assess = waiting_assess & F.isnull()
    waiting_treat = open_ & F.isnull()
    since_last = _days(ibis.literal(end), L)
    in_treatment = open_ & L.notnull()
    c.update(
        open_referrals=_flag(open_),
        waiting_for_assessment=_flag(waiting_assess),
        waiting_for_assessment_over_90_days=_flag(waiting_assess & (so_far > 90)),
        waiting_for_treatment=_flag(waiting_treat),
        **{
            f"waiting_for_treatment_0_to_{w}_weeks": _flag(waiting_treat & (so_far <= 7 * w))
            for w in WAITING_WEEKS
        },
        waiting_for_treatment_over_18_weeks=_flag(waiting_treat & (so_far > EIGHTEEN_WEEKS_DAYS)),
        waiting_for_treatment_over_90_days=_flag(waiting_treat & (so_far > 90)),
        open_in_treatment=_flag(in_treatment),
        open_no_activity_le_60_days=_flag(in_treatment & _between(since_last, None, 60)),
        open_no_activity_61_to_90_days=_flag(in_treatment & _between(since_last, 61, 90)),
        open_no_activity_91_to_120_days=_flag(in_treatment & _between(since_last, 91, 120)),
        open_no_activity_over_120_days=_flag(in_treatment & _between(since_last, 121, None)),
        open_no_activity_over_90_days=_flag(in_treatment & _between(since_last, 91, None)),
    )
    # family 4
    c.update(
        second_treatment=_flag(second),
        first_to_second_le_28_days=_flag(second & _between(gap, None, 28)),
        first_to_second_29_to_90_days=_flag(second & _between(gap, 29, 90)),
        first_to_second_over_28_days=_flag(second & _between(gap, 29, None)),
        first_to_second_over_90_days=_flag(
            second & _between(gap, defs.first_to_second_max_days + 1, None)
        ),
        **_bands("finished_first_to_second_", finished & F2.notnull(), gap),
    )
    # family 5: contacts of the pathway (already per period)
    for name in ACTIVITY_COLUMNS:
        if name != "care_contacts":
            c[name] = t[name].cast("int64").fill_null(0)
    # family 6
    received = in_period(R, start, end)
    source = strip_blanks(t.SourceOfReferral.cast("string")).upper().nullif("")
    all_codes = tuple(x for codes in cat.referral_sources.values() for x in codes)
    c["referrals_received"] = _flag(received)
    c["self_referrals"] = _flag(received & source.isin(cat.referral_sources["self"]))
    for name, codes in cat.referral_sources.items():
        if name != "self":
            c[f"referrals_source_{name}"] = _flag(received & source.isin(codes))
    c["referrals_source_invalid"] = _flag(received & source.notnull() & ~source.isin(all_codes))
    c["referrals_source_missing"] = _flag(received & source.isnull())
    # family 7
    c["sum_sessions_finished"] = finished.ifelse(N, 0)
    # family 7 intensities and family 8 (every measure over finished courses)
    extra_counts, extra_stats = extra_cohorts(t, finished)
    c.update(extra_counts)

    # statistic values: null outside the statistic's cohort (negative waits are errors)
    def only(cohort: ir.BooleanValue, value: ir.IntegerValue) -> ir.IntegerValue:
        return ibis.ifelse(cohort & (value >= 0).fill_null(False), value, ibis.null("int64"))

    stats: dict[str, Any] = {
        "wait_entered": only(entered, wait_treat),
        "wait_finished": only(finished, wait_treat),
        "wait_assessment": only(assessed, wait_assess),
        "wait_so_far": only(waiting_treat, so_far),
        "gap": only(second, gap),
        "between_treatments": only(finished & (N > 1), _days(L, F)),
        "sessions": only(finished, N),
        # the denominator of mean_days_between_treatments: sum of (N - 1)
        "between_treatments_n": ibis.ifelse(finished & (N > 1), N - 1, 0),
        **extra_stats,
    }
    missing = set(COUNT_NAMES) - set(c)
    assert not missing, missing
    groups = {col: t[col] for col in t.columns if col.startswith("g_")}
    return t.select(
        PathwayID=t.PathwayID,
        **groups,
        **{name: c[name] for name in COUNT_NAMES},
        **{f"v_{k}": v for k, v in stats.items()},
    )
