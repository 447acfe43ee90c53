"""Spec: treatment sessions, assessments and completion (docs/measures.md §1 Contacts, Fields).

Each test is one rule: a tiny extract written as inline tables, and the derived fields expected.
As-at date E is 2024-06-30 unless a test says otherwise; referrals are received 2024-04-01.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from builders import EMPLOYMENT_SUPPORT, build, derive


def d(text: str) -> date:
    return date.fromisoformat(text)


def test_sessions_are_attended_treatment_contacts_in_date_order() -> None:
    ex = build(
        """
        PathwayID | ServDischDate
        P1        | 2024-06-20
        """,
        contacts="""
        PathwayID | CareContDate | AppType | AttendOrDNACode
        P1        | 2024-05-20   | 03      | 6
        P1        | 2024-04-10   | 01      | 5
        P1        | 2024-04-24   | 02      | 5
        P1        | 2024-05-06   | 05      | 5
        P1        | 2024-05-13   | 02      | 3
        P1        | 2024-05-27   | 02      | 7
        """,
    )
    row = derive(ex).loc["P1"]
    assert row.Assessment_FirstDate == d("2024-04-10")
    assert row.TherapySession_FirstDate == d("2024-04-24")
    assert row.TherapySession_SecondDate == d("2024-05-06")
    assert row.TherapySession_LastDate == d("2024-05-20")
    assert row.TreatmentCareContact_Count == 3  # codes 3 (DNA) and 7 (late, not seen) do not count
    assert row.CompletedTreatment_Flag
    assert row.wait_to_first_treatment == 23  # 2024-04-01 -> 2024-04-24


def test_unplanned_contact_counts_as_attended() -> None:
    ex = build(
        "PathwayID\nP1",
        contacts="""
        PathwayID | CareContDate | AttendOrDNACode | PlannedCareContIndicator
        P1        | 2024-04-10   | -               | N
        P1        | 2024-04-17   | 2               | N
        P1        | 2024-04-24   | 3               | Y
        """,
    )
    row = derive(ex).loc["P1"]
    assert row.TreatmentCareContact_Count == 2
    assert row.TherapySession_LastDate == d("2024-04-17")


def test_contacts_outside_the_window_do_not_count() -> None:
    ex = build(
        """
        PathwayID | ReferralRequestReceivedDate | ServDischDate
        P1        | 2024-04-10                  | 2024-05-31
        P2        | 2024-04-10                  | -
        """,
        contacts="""
        PathwayID | CareContDate
        P1        | 2024-04-09
        P1        | 2024-04-10
        P1        | 2024-05-31
        P1        | 2024-06-01
        P2        | 2024-06-30
        P2        | 2024-07-01
        """,
    )
    rows = derive(ex)
    assert rows.loc["P1", "TreatmentCareContact_Count"] == 2  # R and D themselves are inside
    assert rows.loc["P1", "TherapySession_FirstDate"] == d("2024-04-10")
    assert rows.loc["P1", "TherapySession_LastDate"] == d("2024-05-31")
    assert rows.loc["P2", "TreatmentCareContact_Count"] == 1  # E is inside, after E is not
    assert rows.loc["P2", "TherapySession_SecondDate"] is None


def test_follow_up_contacts_are_neither_treatment_nor_assessment() -> None:
    ex = build(
        "PathwayID\nP1",
        contacts="""
        PathwayID | CareContDate | AppType
        P1        | 2024-04-10   | 06
        P1        | 2024-04-17   | 06
        """,
    )
    row = derive(ex).loc["P1"]
    assert row.TreatmentCareContact_Count == 0
    assert row.TherapySession_FirstDate is None
    assert row.Assessment_FirstDate is None
    assert pd.isna(row.wait_to_first_treatment)


def test_employment_support_only_contact_is_not_a_session_but_no_activity_counts() -> None:
    ex = build(
        "PathwayID\nP1",
        contacts="""
        PathwayID | CareContactId | CareContDate
        P1        | C1            | 2024-04-10
        P1        | C2            | 2024-04-17
        P1        | C3            | 2024-04-24
        """,
        activities=f"""
        PathwayID | CareContactId | CodeProcAndProcStatus
        P1        | C1            | {EMPLOYMENT_SUPPORT}
        P1        | C2            | {EMPLOYMENT_SUPPORT}
        P1        | C2            | 1127281000000100
        """,
    )
    row = derive(ex).loc["P1"]
    # C1: only employment support -> not a session; C2: also therapy -> session;
    # C3: no activity recorded -> session.
    assert row.TreatmentCareContact_Count == 2
    assert row.TherapySession_FirstDate == d("2024-04-17")
    assert row.TherapySession_LastDate == d("2024-04-24")


def test_internet_enabled_therapy_logs_with_time_spent_are_sessions() -> None:
    ex = build(
        """
        PathwayID | ServDischDate
        P1        | 2024-06-01
        """,
        iet="""
        PathwayID | StartDateIntEnabledTherLog | DurationIntEnabledTher
        P1        | 2024-03-25                 | 60
        P1        | 2024-04-08                 | 0
        P1        | 2024-04-15                 | 45
        P1        | 2024-04-22                 | 1
        P1        | 2024-06-03                 | 30
        """,
    )
    row = derive(ex).loc["P1"]
    # before R, zero minutes and after D do not count
    assert row.TreatmentCareContact_Count == 2
    assert row.TherapySession_FirstDate == d("2024-04-15")
    assert row.TherapySession_SecondDate == d("2024-04-22")
    assert row.CompletedTreatment_Flag


def test_two_sessions_on_one_day_give_the_same_first_and_second_date() -> None:
    ex = build(
        """
        PathwayID | ServDischDate
        P1        | 2024-05-01
        """,
        contacts="""
        PathwayID | CareContDate
        P1        | 2024-04-10
        """,
        iet="""
        PathwayID | StartDateIntEnabledTherLog
        P1        | 2024-04-10
        """,
    )
    row = derive(ex).loc["P1"]
    assert row.TherapySession_FirstDate == row.TherapySession_SecondDate == d("2024-04-10")
    assert row.TreatmentCareContact_Count == 2
    assert row.CompletedTreatment_Flag


def test_completed_needs_discharge_by_the_as_at_date_and_two_sessions() -> None:
    ex = build(
        """
        PathwayID | ServDischDate
        P1        | 2024-06-20
        P2        | 2024-07-15
        P3        | 2024-06-20
        """,
        contacts="""
        PathwayID | CareContDate
        P1        | 2024-04-10
        P1        | 2024-04-17
        P2        | 2024-04-10
        P2        | 2024-04-17
        P3        | 2024-04-10
        """,
    )
    rows = derive(ex)
    assert rows.loc["P1", "CompletedTreatment_Flag"]
    assert rows.loc["P1", "ServDischDate"] == d("2024-06-20")
    # discharged after E: open at E, not completed
    assert rows.loc["P2", "ServDischDate"] is None
    assert not rows.loc["P2", "CompletedTreatment_Flag"]
    # one session only
    assert not rows.loc["P3", "CompletedTreatment_Flag"]
    # as at a later date P2 is completed
    later = derive(ex, date(2024, 7, 31))
    assert later.loc["P2", "CompletedTreatment_Flag"]
