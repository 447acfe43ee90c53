"""Spec: the NHS measure catalogue families 1-7 (docs/measures.md §5), one rule at a time.

Each test writes a few pathways, already derived as at the period end, as a small table and
states the figures expected for the period June 2024 (S = 2024-06-01, E = 2024-06-30). Dates
are written as days relative to a reference so that every boundary (28/29, 42/43, 56/57,
90/91, 126/127 days) is visible. Blank cells are null.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import ibis
import pandas as pd
import pytest
from builders import build, site_definitions

from iaptkit.definitions import Definitions, load_definitions
from iaptkit.measures.families.activity import ACTIVITY_COLUMNS
from iaptkit.measures.families.cohorts import cohort_table
from iaptkit.measures.families.counts import family_counts
from iaptkit.measures.families.layout import family_rows
from iaptkit.measures.published import published_measures

S, E = date(2024, 6, 1), date(2024, 6, 30)
DEFS = load_definitions()

COLUMNS = {
    "id": "PathwayID",
    "provider": "provider",
    "R": "ReferralRequestReceivedDate",
    "D": "ServDischDate",
    "A": "Assessment_FirstDate",
    "F": "TherapySession_FirstDate",
    "F2": "TherapySession_SecondDate",
    "L": "TherapySession_LastDate",
    "N": "TreatmentCareContact_Count",
    "end": "EndCode",
    "source": "SourceOfReferral",
    "contacts": "care_contacts",
}
DEFAULTS = {"provider": "R1A", "R": "2024-01-01", "N": "0", "contacts": "0"}
DATES = ("R", "D", "A", "F", "F2", "L")


def _resolve(row: dict[str, str], short: str, seen: tuple[str, ...] = ()) -> date | None:
    """``2024-06-10``; or ``X+n`` / ``X-n``: n days after / before column X of the row (or E)."""
    raw = row.get(short, "").strip()
    if not raw:
        return None
    if raw[0].isdigit():
        return date.fromisoformat(raw)
    sign = "+" if "+" in raw else "-"
    base, n = raw.split(sign)
    assert base not in seen, f"circular date reference {raw}"
    anchor = E if base == "E" else _resolve(row, base, (*seen, short))
    assert anchor is not None, f"{raw}: {base} is empty"
    days = int(n) if sign == "+" else -int(n)
    return anchor + timedelta(days=days)


def pathways(text: str) -> pd.DataFrame:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    header = [h.strip() for h in lines[0].split("|")]
    rows = []
    for ln in lines[1:]:
        cells = dict(zip(header, (c.strip() for c in ln.split("|")), strict=True))
        rows.append({**DEFAULTS, **cells})
    out: dict[str, list[object]] = {v: [] for v in COLUMNS.values()}
    for row in rows:
        for short, col in COLUMNS.items():
            if short in DATES:
                out[col].append(_resolve(row, short))
            elif short in ("N", "contacts"):
                out[col].append(int(row[short]))
            else:
                out[col].append(row.get(short) or None)
    frame = pd.DataFrame(out)
    for short in DATES:
        frame[COLUMNS[short]] = pd.to_datetime(frame[COLUMNS[short]]).dt.date
    frame["CompletedTreatment_Flag"] = frame["ServDischDate"].notna() & (
        frame["TreatmentCareContact_Count"] >= 2
    )
    for c in ACTIVITY_COLUMNS:
        if c != "care_contacts":
            frame[c] = 0
    frame["g_england"] = "England"
    frame["g_provider"] = frame["provider"]
    return frame


def june(
    text: str,
    defs: Definitions = DEFS,
    providers: tuple[str, ...] | None = None,
    families: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7),
) -> dict[str, float]:
    """The England figures of June 2024 as {measure: value}."""
    frame = pathways(text)
    t = ibis.memtable(frame).cast({COLUMNS[d]: "date" for d in DATES})
    cohorts = cohort_table(t, S, E, defs, stock_providers=providers)
    counts = family_counts(cohorts, (("england",), ("provider",)))
    rows = family_rows(counts, families, S, E, "spec")
    eng = rows[rows.breakdown == "england"]
    return dict(zip(eng.measure, eng.value, strict=True))


# --------------------------------------------------------------------------- family 1: waits


def test_entered_treatment_wait_bands_at_every_boundary() -> None:
    m = june(
        """
        id | R     | F
        a  | F-28  | 2024-06-15
        b  | F-29  | 2024-06-15
        c  | F-56  | 2024-06-15
        d  | F-57  | 2024-06-15
        e  | F-90  | 2024-06-15
        f  | F-91  | 2024-06-15
        g  | F-10  | 2024-05-31
        """
    )
    # g entered before S: not in the cohort
    assert m["entered_treatment"] == 6
    assert m["entered_wait_le_28_days"] == 1
    assert m["entered_wait_29_to_56_days"] == 2
    assert m["entered_wait_57_to_90_days"] == 2
    assert m["entered_wait_over_90_days"] == 1


def test_entered_within_6_and_18_weeks_and_rates() -> None:
    m = june(
        """
        id | R     | F
        a  | F-42  | 2024-06-01
        b  | F-43  | 2024-06-01
        c  | F-126 | 2024-06-30
        d  | F-127 | 2024-06-30
        """
    )
    assert (m["entered_waited_6_weeks"], m["entered_waited_18_weeks"]) == (1, 3)
    assert m["entered_waited_6_weeks_rate"] == 25.0
    assert m["entered_waited_18_weeks_rate"] == 75.0
    assert m["mean_wait_entered"] == (42 + 43 + 126 + 127) / 4
    # even count: the mean of the two middle values
    assert m["median_wait_entered"] == (43 + 126) / 2


def test_first_assessment_waits_and_their_mean_and_median() -> None:
    m = june(
        """
        id | R    | A
        a  | A-28 | 2024-06-10
        b  | A-29 | 2024-06-10
        c  | A-90 | 2024-06-10
        d  | A-91 | 2024-06-10
        e  | A-10 | 2024-07-01
        """
    )
    assert m["first_assessment"] == 4
    assert m["first_assessment_wait_le_28_days"] == 1
    assert m["first_assessment_wait_29_to_56_days"] == 1
    assert m["first_assessment_wait_57_to_90_days"] == 1
    assert m["first_assessment_wait_over_90_days"] == 1
    assert m["mean_wait_first_assessment"] == (28 + 29 + 90 + 91) / 4
    assert m["median_wait_first_assessment"] == (29 + 90) / 2


def test_waits_of_finished_courses_and_empty_cohorts() -> None:
    m = june(
        """
        id | R          | F          | D          | N
        a  | 2024-01-01 | R+10       | 2024-06-10 | 2
        b  | 2024-01-01 | R+30       | 2024-06-10 | 3
        c  | 2024-01-01 | R+50       | 2024-06-10 | 4
        d  | 2024-01-01 | R+70       | 2024-06-10 | 1
        """
    )
    assert m["finished_treatment"] == 3
    assert (m["mean_wait_finished"], m["median_wait_finished"]) == (30.0, 30.0)
    assert math.isnan(m["mean_wait_entered"])  # nobody entered in June
    assert math.isnan(m["median_wait_entered"])
    assert math.isnan(m["entered_waited_6_weeks_rate"])


def test_a_negative_wait_is_neither_banded_nor_averaged() -> None:
    m = june(
        """
        id | R          | F
        a  | 2024-06-20 | 2024-06-10
        b  | 2024-06-01 | 2024-06-11
        """
    )
    assert m["entered_treatment"] == 2
    assert m["entered_wait_le_28_days"] == 1
    assert m["entered_waited_6_weeks"] == 1
    assert m["mean_wait_entered"] == 10.0


# --------------------------------------------------------------------------- family 2: ended


def test_ended_referrals_by_type_add_up() -> None:
    m = june(
        """
        id | D          | A          | F          | N | contacts
        a  | 2024-06-05 |            |            | 0 | 0
        b  | 2024-06-05 | 2024-02-01 |            | 0 | 1
        c  | 2024-06-05 | 2024-02-01 | 2024-03-01 | 1 | 3
        d  | 2024-06-05 | 2024-02-01 | 2024-03-01 | 2 | 4
        e  | 2024-06-05 |            | 2024-03-01 | 5 | 5
        f  | 2024-05-31 |            |            | 0 | 0
        """
    )
    assert m["ended_referrals"] == 5
    assert m["ended_not_seen"] == 1
    assert m["ended_seen_not_treated"] == 1
    assert m["ended_before_treatment"] == 2
    assert m["ended_treated_once"] == 1
    assert m["finished_treatment"] == 2
    assert m["ended_before_assessment"] == 2  # a and e
    parts = ("ended_not_seen", "ended_seen_not_treated", "ended_treated_once")
    assert sum(m[p] for p in parts) + m["finished_treatment"] == m["ended_referrals"]
    assert m["ended_treated_once_or_more"] == 3
    assert m["ended_after_treatment"] == 3
    assert m["ended_before_treatment_rate"] == 40.0
    assert m["ended_treated_once_rate"] == 20.0
    assert m["ended_finished_rate"] == 40.0
    assert m["ended_one_or_more_treatment_rate"] == 60.0
    assert m["finished_of_treated_rate"] == pytest.approx(200 / 3)
    assert m["access_attrition_rate"] == pytest.approx(100 / 3)


def test_end_codes_invalid_missing_and_groups() -> None:
    m = june(
        """
        id | D          | end
        a  | 2024-06-05 | 46
        b  | 2024-06-05 | 46.0
        c  | 2024-06-05 |  10
        d  | 2024-06-05 | 50
        e  | 2024-06-05 | 99
        f  | 2024-06-05 |
        g  |            | 47
        """
    )
    assert m["ended_endcode_46"] == 2
    assert m["ended_endcode_10"] == 1
    assert m["ended_endcode_50"] == 1
    assert m["ended_endcode_47"] == 0  # open referral: its end code is ignored
    assert (m["ended_endcode_invalid"], m["ended_endcode_missing"]) == (1, 1)
    assert m["ended_group_treated"] == 2
    assert m["ended_group_assessed_not_treated"] == 1
    assert m["ended_group_not_assessed"] == 1


# --------------------------------------------------------------------------- family 3: stocks


def test_open_at_the_period_end() -> None:
    m = june(
        """
        id | R          | D
        a  | 2024-06-30 |
        b  | 2024-07-01 |
        c  | 2024-03-01 | 2024-06-30
        d  | 2024-03-01 | 2024-07-01
        e  | 2024-03-01 | 2024-05-01
        """
    )
    # R > E is not open; a discharge on E is not open; one after E is
    assert m["open_referrals"] == 2


def test_waiting_for_treatment_bands_are_cumulative_at_every_boundary() -> None:
    m = june(
        """
        id | R
        a  | E-14
        b  | E-15
        c  | E-28
        d  | E-42
        e  | E-84
        f  | E-90
        g  | E-91
        h  | E-126
        i  | E-127
        """
    )
    assert m["waiting_for_treatment"] == 9
    assert m["waiting_for_treatment_0_to_2_weeks"] == 1
    assert m["waiting_for_treatment_0_to_4_weeks"] == 3
    assert m["waiting_for_treatment_0_to_6_weeks"] == 4
    assert m["waiting_for_treatment_0_to_12_weeks"] == 5
    assert m["waiting_for_treatment_0_to_18_weeks"] == 8
    assert m["waiting_for_treatment_over_18_weeks"] == 1
    assert m["waiting_for_treatment_over_90_days"] == 3
    waits = [14, 15, 28, 42, 84, 90, 91, 126, 127]
    assert m["mean_wait_so_far_waiting_for_treatment"] == sum(waits) / 9
    assert m["median_wait_so_far_waiting_for_treatment"] == 84.0


def test_waiting_for_assessment_literal_and_strict_readings(tmp_path: Path) -> None:
    text = """
        id | R     | A          | F
        a  | E-90  |            |
        b  | E-91  |            |
        c  | E-100 |            | 2024-05-01
        d  | E-100 | 2024-05-01 |
        """
    m = june(text)
    # c was treated without an assessment contact: M029 counts it (literal reading)
    assert (m["waiting_for_assessment"], m["waiting_for_assessment_over_90_days"]) == (3, 2)
    strict = site_definitions(
        tmp_path, settings={"catalogue.waiting_for_assessment_requires_no_treatment": True}
    )
    m = june(text, strict)
    assert (m["waiting_for_assessment"], m["waiting_for_assessment_over_90_days"]) == (2, 1)


def test_open_referrals_without_activity_count_only_treated_referrals() -> None:
    m = june(
        """
        id | R          | F          | L
        a  | 2024-01-01 | 2024-02-01 | E-60
        b  | 2024-01-01 | 2024-02-01 | E-61
        c  | 2024-01-01 | 2024-02-01 | E-90
        d  | 2024-01-01 | 2024-02-01 | E-91
        e  | 2024-01-01 | 2024-02-01 | E-120
        f  | 2024-01-01 | 2024-02-01 | E-121
        g  | 2024-01-01 |            |
        """
    )
    assert m["open_in_treatment"] == 6
    assert m["open_no_activity_le_60_days"] == 1
    assert m["open_no_activity_61_to_90_days"] == 2
    assert m["open_no_activity_91_to_120_days"] == 2
    assert m["open_no_activity_over_120_days"] == 1
    assert m["open_no_activity_over_90_days"] == 3
    assert m["open_no_activity_over_90_days_rate"] == 50.0


def test_stock_rule_reporting_month_drops_providers_without_a_submission(tmp_path: Path) -> None:
    text = """
        id | provider | R
        a  | R1A      | 2024-05-01
        b  | R2B      | 2024-05-01
        """
    assert june(text)["waiting_for_treatment"] == 2
    nhs = site_definitions(tmp_path, settings={"catalogue.stock_rule": "reporting-month"})
    m = june(text, nhs, providers=("R2B",))
    assert (m["open_referrals"], m["waiting_for_treatment"]) == (1, 1)


# --------------------------------------------------------------------------- family 4


def test_first_to_second_gaps_at_every_boundary() -> None:
    m = june(
        """
        id | F      | F2
        a  | F2-0   | 2024-06-12
        b  | F2-28  | 2024-06-12
        c  | F2-29  | 2024-06-12
        d  | F2-90  | 2024-06-12
        e  | F2-91  | 2024-06-12
        f  | F2-5   | 2024-05-31
        """
    )
    assert m["second_treatment"] == 5
    assert m["first_to_second_le_28_days"] == 2
    assert m["first_to_second_29_to_90_days"] == 2
    assert m["first_to_second_over_28_days"] == 3
    assert m["first_to_second_over_90_days"] == 1
    assert m["first_to_second_le_28_days_rate"] == 40.0
    assert m["first_to_second_over_90_days_rate"] == 20.0
    assert m["first_to_second_over_28_days_rate"] == 60.0
    assert m["mean_first_to_second_days"] == (0 + 28 + 29 + 90 + 91) / 5


def test_finished_first_to_second_bands_and_days_between_treatments() -> None:
    m = june(
        """
        id | F          | F2    | L     | D          | N
        a  | 2024-01-01 | F+28  | F+100 | 2024-06-10 | 5
        b  | 2024-01-01 | F+29  | F+29  | 2024-06-10 | 2
        c  | 2024-01-01 | F+56  | F+56  | 2024-06-10 | 2
        d  | 2024-01-01 | F+57  | F+57  | 2024-06-10 | 2
        e  | 2024-01-01 | F+91  | F+91  | 2024-06-10 | 2
        """
    )
    assert m["finished_first_to_second_le_28_days"] == 1
    assert m["finished_first_to_second_29_to_56_days"] == 2
    assert m["finished_first_to_second_57_to_90_days"] == 1
    assert m["finished_first_to_second_over_90_days"] == 1
    assert m["finished_first_to_second_29_to_56_days_rate"] == 40.0
    # sum(L - F) / sum(N - 1)
    assert m["mean_days_between_treatments"] == (100 + 29 + 56 + 57 + 91) / (4 + 1 + 1 + 1 + 1)


# --------------------------------------------------------------------------- families 6 and 7


def test_referral_sources() -> None:
    m = june(
        """
        id | R          | source
        a  | 2024-06-01 | B1
        b  | 2024-06-30 | b1
        c  | 2024-06-10 | A1
        d  | 2024-06-10 | B2
        e  | 2024-06-10 | M3
        f  | 2024-06-10 | ZZ
        g  | 2024-06-10 |
        h  | 2024-05-31 | B1
        """
    )
    assert m["referrals_received"] == 7
    assert m["self_referrals"] == 2
    assert m["referrals_source_gp"] == 1
    assert m["referrals_source_carer_relative"] == 1
    assert m["referrals_source_other"] == 1
    assert (m["referrals_source_invalid"], m["referrals_source_missing"]) == (1, 1)
    assert m["self_referral_share"] == pytest.approx(200 / 7)


def test_sessions_of_finished_courses() -> None:
    m = june(
        """
        id | D          | N
        a  | 2024-06-10 | 2
        b  | 2024-06-10 | 3
        c  | 2024-06-10 | 8
        d  | 2024-06-10 | 12
        e  | 2024-06-10 | 1
        """
    )
    assert m["sum_sessions_finished"] == 25
    assert m["median_sessions_finished"] == 5.5
    assert (m["max_sessions_finished"], m["min_sessions_finished"]) == (12.0, 2.0)


# --------------------------------------------------------------------------- end to end


def test_appointments_and_care_contacts_from_an_extract() -> None:
    ex = build(
        """
        PathwayID | ReferralRequestReceivedDate | ServDischDate | EndCode | SourceOfReferralMH
        P1        | 2024-04-01                  | 2024-06-20    | 12      | A1
        P2        | 2024-04-01                  | 2024-06-20    | 11      | B1
        P3        | 2024-06-02                  |               |         | B1
        """,
        contacts="""
        PathwayID | CareContDate | AppType | AttendOrDNACode | ConsMechanism
        P1        | 2024-04-05   | 01      | 5               | 02
        P1        | 2024-06-03   | 01      | 3               | 02
        P1        | 2024-06-04   | 01      | 2               | 01
        P1        | 2024-06-25   | 06      | 5               | 01
        P2        | 2024-06-05   | 02      | 7               | 01
        P3        | 2024-06-10   | 01      | 6               | 03
        """,
    )
    m = published_measures(ex, S, E, "england", families="ended,appointments,referral_sources")
    v = dict(zip(m.measure, m.value, strict=True))
    assert v["appointments"] == 5  # every contact dated in June, follow-up included
    assert (v["appts_dna"], v["appts_cancelled_patient"], v["appts_late_not_seen"]) == (1, 1, 1)
    assert (v["appts_attended"], v["appts_attended_late"]) == (1, 1)
    # mechanisms count attended contacts; ConsMediumUsed 03 (v2.0 telemedicine) is video 11
    assert (v["appts_by_mechanism_01"], v["appts_by_mechanism_11"]) == (1, 1)
    assert v["dna_rate"] == 20.0
    # P1 was seen (an attended assessment in the window); P2's only contact was not attended
    assert (v["ended_seen_not_treated"], v["ended_not_seen"]) == (1, 1)
    assert (v["ended_endcode_12"], v["ended_endcode_11"]) == (1, 1)
    assert (v["referrals_received"], v["self_referrals"]) == (1, 1)
    assert set(m.family) == {2, 5, 6}
    assert m.set_index("measure").loc["appts_dna", "nhs_measure_id"] == "M084"
