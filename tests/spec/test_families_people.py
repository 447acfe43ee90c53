"""Spec: family 7's intensities and family 8 (employment, long-term conditions, WSAS).

docs/measures.md §5.9-§5.10. Each test builds a tiny extract (June 2024: S = 2024-06-01,
E = 2024-06-30) where the finished courses end in June with at least two treatment sessions,
and states the England figures expected, worked out by hand in the comments.
"""

from __future__ import annotations

from datetime import date

import pytest
from builders import EMPLOYMENT_SUPPORT, build

from iaptkit.measures.published import published_measures

S, E = date(2024, 6, 1), date(2024, 6, 30)
LI, LI2 = "748051000000105", "748101000000105"
HI = "1127281000000100"
WORK, HOME, SOCIAL, PRIVATE, RELATIONSHIPS = (
    "932621000000100",
    "932581000000100",
    "932611000000106",
    "932591000000103",
    "932601000000109",
)

#: Five courses finished on 2024-06-20 (P1-P3, P5, P6) and P4 still open; P1-P6 are
#: RecordNumber 1-6.
REFERRALS = """
    PathwayID | ReferralRequestReceivedDate | ServDischDate
    P1        | 2024-04-01                  | 2024-06-20
    P2        | 2024-04-01                  | 2024-06-20
    P3        | 2024-04-01                  | 2024-06-20
    P4        | 2024-04-01                  |
    P5        | 2024-04-01                  | 2024-06-20
    P6        | 2024-04-01                  | 2024-06-20
"""
#: Two treatment sessions each (P4: one); CC-ids as given.
CONTACTS = """
    PathwayID | CareContactId | CareContDate | AttendOrDNACode
    P1        | A1            | 2024-04-10   | 5
    P1        | A2            | 2024-05-10   | 5
    P2        | B1            | 2024-04-10   | 5
    P2        | B2            | 2024-05-10   | 6
    P3        | C1            | 2024-04-10   | 5
    P3        | C2            | 2024-05-10   | 5
    P4        | D1            | 2024-04-10   | 5
    P5        | E1            | 2024-04-10   | 5
    P5        | E2            | 2024-05-10   | 5
    P5        | E3            | 2024-05-12   | 5
    P6        | F1            | 2024-04-10   | 5
    P6        | F2            | 2024-05-10   | 5
    P6        | F3            | 2024-05-12   | 3
"""


def figures(**tables: object) -> dict[str, float]:
    ex = build(REFERRALS, contacts=CONTACTS, **tables)  # type: ignore[arg-type]
    m = published_measures(ex, S, E, "england", families="sessions,employment_ltc_wsas")
    assert set(m.family) == {7, 8}
    return dict(zip(m.measure, m.value, strict=True))


def test_stepped_care_groups_and_mean_hi_li_sessions() -> None:
    v = figures(
        activities=f"""
        PathwayID | CareContactId | CodeProcAndProcStatus
        P1        | A1            | {LI}
        P1        | A2            | {HI}
        P1        | A2            | {LI2}
        P2        | B1            | {LI}
        P2        | B2            | {LI}
        P2        | B2            | {LI2}
        P3        | C1            | {HI}
        P3        | C2            | 999999
        P5        | E1            | 999999
        P5        | E2            | 999999
        """,
        iet="""
        PathwayID | StartDateIntEnabledTherLog | DurationIntEnabledTher
        P3        | 2024-05-20                 | 30
        P3        | 2024-05-27                 | 0
        P3        | 2024-07-01                 | 30
        """,
    )
    # P1: A1 LI, A2 both -> LI 2, HI 1 (li_and_hi). P2: B1 LI, B2 two LI codes counted once
    # -> LI 2 (li_only). P3: C1 HI + one IET log with a duration in the window -> HI 2
    # (hi_only). P5: codes in neither list; P6: no activities -> neither. P4 is not finished.
    assert v["stepped_care_li_only"] == 1
    assert v["stepped_care_li_and_hi"] == 1
    assert v["stepped_care_hi_only"] == 1
    assert v["stepped_care_neither"] == 2
    # HI over finished courses with any HI: P1 1, P3 2 -> 1.5; LI: P1 2, P2 2 -> 2.0
    assert v["mean_hi_sessions"] == pytest.approx(1.5)
    assert v["mean_li_sessions"] == pytest.approx(2.0)
    assert v["sum_sessions_finished"] == 2 + 2 + 3 + 3 + 2  # P3: 2 contacts + 1 log


_CATEGORIES = ("in_work", "off_sick", "not_employed", "unknown")


def test_employment_first_and_last_category_and_employment_support() -> None:
    v = figures(
        activities=f"""
        PathwayID | CareContactId | CodeProcAndProcStatus
        P5        | E3            | {EMPLOYMENT_SUPPORT}
        P6        | F3            | {EMPLOYMENT_SUPPORT}
        """,
        extra={
            "IDS004EmpStatus": """
            RecordNumber | EmployStatus | EmployStatusRecDate | SickAbsenceInd
            1            | 04           | 2024-03-31          | 8
            1            | 01           | 2024-04-01          | Y
            1            | 01           | 2024-06-20          | N
            1            | 02           | 2024-06-21          | 8
            2            | ZZ           | 2024-05-01          | Z
            2            | 4            | 2024-05-02          | 8
            4            | 01           | 2024-05-02          | N
            5            | 01           | 2024-05-02          |
            """
        },
    )
    # P1: the records of 31 March and 21 June are outside [R, D]; first 01/Y off sick (on R),
    # last 01/N in work (on D). P2: ZZ is not a status; "4" is 04 -> not employed, first and
    # last. P3, P6: no record -> unknown. P5: 01 without SickAbsenceInd -> unknown.
    # P4 (open) is not counted.
    first = {c: v[f"finished_first_employment_{c}"] for c in ("in_work", "off_sick")}
    assert first == {"in_work": 0, "off_sick": 1}
    assert v["finished_first_employment_not_employed"] == 1
    assert v["finished_first_employment_unknown"] == 3
    assert v["finished_last_employment_in_work"] == 1
    assert v["finished_last_employment_off_sick"] == 0
    assert v["finished_last_employment_not_employed"] == 1
    assert v["finished_last_employment_unknown"] == 3
    # employment support: P5's attended ES contact; P6's ES contact was not attended (DNA)
    assert v["finished_employment_support"] == 1
    assert v["finished_es_first_employment_unknown"] == 1
    assert v["finished_es_last_employment_unknown"] == 1
    assert v["finished_es_last_employment_in_work"] == 0
    # therapy only (no employment support in the window): P1, P2, P3, P6 (P6's ES was a DNA)
    tt_first = {c: v[f"finished_tt_only_first_employment_{c}"] for c in _CATEGORIES}
    assert tt_first == {"in_work": 0, "off_sick": 1, "not_employed": 1, "unknown": 2}
    tt_last = {c: v[f"finished_tt_only_last_employment_{c}"] for c in _CATEGORIES}
    assert tt_last == {"in_work": 1, "off_sick": 0, "not_employed": 1, "unknown": 2}
    # last EmployStatus: P1 01, P5 01, P2 04
    assert v["finished_last_employstatus_01"] == 2
    assert v["finished_last_employstatus_04"] == 1
    assert v["finished_last_employstatus_02"] == 0


def test_long_term_condition_status() -> None:
    v = figures(
        extra={
            "IDS602LongTermCondition": """
            PathwayID | LongTermCondition
            P1        | 748031000000103
            P1        | 73211009
            P2        | 748031000000103
            P3        | 12345
            P4        | 73211009
            """
        }
    )
    # P1: a condition beats "no condition"; P2: no condition; P3 (unknown code), P5, P6 (no
    # row): not stated; P4 is not finished.
    assert (v["finished_ltc"], v["finished_no_ltc"], v["finished_ltc_not_stated"]) == (1, 1, 3)


def test_wsas_first_and_last_scores_of_finished_courses() -> None:
    v = figures(
        scores=f"""
        PathwayID | Tool           | PersScore | AssToolCompDate
        P1        | {WORK}         | 6         | 2024-04-02
        P1        | {WORK}         | 7         | 2024-04-02
        P1        | {WORK}         | 3         | 2024-06-10
        P1        | {HOME}         | 9         | 2024-04-02
        P1        | {HOME}         | 4         | 2024-05-01
        P2        | {WORK}         | 8         | 2024-03-20
        P2        | {WORK}         | 5         | 2024-04-05
        P2        | {WORK}         | 1         | 2024-06-20
        P2        | {HOME}         | 2         | 2024-04-05
        P2        | {HOME}         | 2.5       | 2024-06-15
        P4        | {WORK}         | 8         | 2024-04-05
        P4        | {WORK}         | 8         | 2024-05-05
        P5        | {WORK}         | 4         | 2024-04-05
        P5        | {WORK}         | 2         | 2024-06-05
        P5        | {SOCIAL}       | 1         | 2024-04-05
        P5        | {SOCIAL}       | 0         | 2024-06-05
        P5        | {PRIVATE}      | 3         | 2024-04-05
        P5        | {PRIVATE}      | 3         | 2024-06-05
        P5        | {RELATIONSHIPS}| 5         | 2024-04-05
        P5        | {RELATIONSHIPS}| 6         | 2024-06-05
        """,
        activities=f"""
        PathwayID | CareContactId | CareActId | CodeProcAndProcStatus
        P3        | C1            | X1        | {HI}
        P3        | C2            | X2        | {EMPLOYMENT_SUPPORT}
        """,
        act_scores=f"""
        PathwayID | CareActId | Tool   | PersScore
        P3        | X1        | {WORK} | 6
        P3        | X2        | {WORK} | 2
        """,
    )
    # work: P1 first 7 (highest of its first day), last 3; P2 first 5 (20 March is before R),
    # last 1 (on D); P5 4 -> 2. P3's second score is in an employment-support activity: one
    # clinical day, not paired. P4 is not finished.
    assert v["finished_wsas_work_paired"] == 3
    assert v["mean_wsas_work_first"] == pytest.approx((7 + 5 + 4) / 3)
    assert v["median_wsas_work_first"] == 5.0
    assert v["mean_wsas_work_last"] == pytest.approx((3 + 1 + 2) / 3)
    assert v["median_wsas_work_last"] == 2.0
    # home: P1's 9 is not a score (0-8) -> one day; P2's 2.5 is not a whole number -> one day
    assert v["finished_wsas_home_management_paired"] == 0
    assert v["mean_wsas_home_management_first"] != v["mean_wsas_home_management_first"]  # NaN
    assert v["finished_wsas_social_leisure_paired"] == 1
    assert (v["mean_wsas_social_leisure_first"], v["mean_wsas_social_leisure_last"]) == (1, 0)
    # P5 has four of five dimensions paired: the WSAS total cohort
    assert v["finished_wsas_total_paired"] == 1


def test_an_invalid_wsas_activity_row_does_not_hide_a_valid_one() -> None:
    # as for the measures' scores (issue 18): one activity carries two WSAS work rows, one
    # not a score (-1 and 10 are out of 0-8, 1.5 is not whole), one valid; the valid row
    # counts. Each invalid text sorts first, so a de-duplication by the row's values alone
    # would keep it.
    v = figures(
        activities="""
        PathwayID | CareContactId | CareActId
        P1        | A1            | X1
        P1        | A2            | X2
        P2        | B1            | Y1
        P2        | B2            | Y2
        """,
        act_scores=f"""
        PathwayID | CareActId | Tool   | PersScore | Sub | Month
        P1        | X1        | {WORK} | 6         | 1   | 1491
        P1        | X1        | {WORK} | -1        | 1   | 1491
        P1        | X2        | {WORK} | 10        | 1   | 1491
        P1        | X2        | {WORK} | 2         | 1   | 1491
        P2        | Y1        | {WORK} | 5         | 1   | 1491
        P2        | Y2        | {WORK} | 3         | 1   | 1491
        P2        | Y2        | {WORK} | 1.5       | 1   | 1491
        """,
    )
    # P1 6 -> 2 and P2 5 -> 3 (P1's invalid rows hide nothing)
    assert v["finished_wsas_work_paired"] == 2
    assert v["mean_wsas_work_first"] == pytest.approx((6 + 5) / 2)
    assert v["mean_wsas_work_last"] == pytest.approx((2 + 3) / 2)
