"""Spec: which rows count (docs/data-model.md rules 1-4) as seen through the pathway table.

Submissions are written out explicitly here: Sub (UniqueSubmissionID), Month
(Unique_MonthID). May 2024 is month 1490 and June 2024 month 1491.
"""

from __future__ import annotations

from datetime import date

from builders import build, derive


def test_superseded_submission_rows_are_ignored() -> None:
    ex = build(
        """
        UniqueSubmissionID | Unique_MonthID | PathwayID | RecordNumber | ServDischDate
        10                 | 1491           | P1        | 1            | -
        11                 | 1491           | P1        | 1            | 2024-06-20
        """,
        contacts="""
        UniqueSubmissionID | Unique_MonthID | PathwayID | CareContactId | CareContDate
        10                 | 1491           | P1        | C1            | 2024-04-10
        10                 | 1491           | P1        | C9            | 2024-04-11
        11                 | 1491           | P1        | C1            | 2024-04-10
        11                 | 1491           | P1        | C2            | 2024-04-17
        """,
        people="""
        Sub | Month | RecordNumber | Person_ID | Gender | Ethnic | IMD
        10  | 1491  | 1            | X1        | 1      | A      | 2
        11  | 1491  | 1            | X1        | 2      | M      | 9
        """,
    )
    row = derive(ex).loc["P1"]
    assert row.ServDischDate == date(2024, 6, 20)  # the refresh (11) counts
    assert row.TreatmentCareContact_Count == 2  # C1 and C2; C9 only in the superseded one
    assert row.TherapySession_SecondDate == date(2024, 4, 17)
    assert (row.gender, row.ethnic_group, row.imd_decile) == ("Female", "Black", "9")


def test_pathway_state_is_taken_from_the_latest_month_up_to_the_as_at_date() -> None:
    ex = build(
        """
        Sub | Month | PathwayID | ServDischDate | Age
        20  | 1490  | P1        | -             | 17
        21  | 1491  | P1        | 2024-06-05    | 17
        """,
        contacts="""
        UniqueSubmissionID | Unique_MonthID | PathwayID | CareContactId | CareContDate
        20                 | 1490           | P1        | C1            | 2024-05-02
        21                 | 1491           | P1        | C2            | 2024-06-03
        """,
    )
    may = derive(ex, date(2024, 5, 31)).loc["P1"]
    assert may.ServDischDate is None
    assert may.TreatmentCareContact_Count == 1  # June's contact is not yet known
    june = derive(ex).loc["P1"]
    assert june.ServDischDate == date(2024, 6, 5)
    assert june.TreatmentCareContact_Count == 2  # activity is the union over months
    assert june.CompletedTreatment_Flag
    assert june.age_band == "Under 18"
