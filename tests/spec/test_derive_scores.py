"""Spec: scores, one per day, first and last, pairing (docs/measures.md §1 Scores).

Scores in IDS606 are dated by AssToolCompDate; in IDS607 by the parent contact's CareContDate
(through IDS202). Tool names (PHQ9, GAD7, AgoraAlone...) stand for their SNOMED codes.
As-at date E is 2024-06-30; referrals are received 2024-04-01.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from builders import TOOL, build, dec, derive, site_definitions

from iaptkit.data.ledger import extract_ledger


def test_first_and_last_scores_by_date_and_pairing() -> None:
    ex = build(
        "PathwayID\nP1\nP2",
        scores="""
        PathwayID | Tool | PersScore | AssToolCompDate
        P1        | PHQ9 | 12        | 2024-05-01
        P1        | PHQ9 | 18        | 2024-04-03
        P1        | PHQ9 | 7         | 2024-06-01
        P1        | GAD7 | 11        | 2024-04-03
        P2        | PHQ9 | 15        | 2024-04-03
        """,
    )
    rows = derive(ex)
    assert rows.loc["P1", "PHQ9_FirstScore"] == dec("18")
    assert rows.loc["P1", "PHQ9_LastScore"] == dec("7")
    # GAD-7 scored on one day only: unpaired, LastScore null
    assert rows.loc["P1", "GAD_FirstScore"] == dec("11")
    assert pd.isna(rows.loc["P1", "GAD_LastScore"])
    assert rows.loc["P2", "PHQ9_FirstScore"] == dec("15")
    assert pd.isna(rows.loc["P2", "PHQ9_LastScore"])


def test_same_day_scores_the_highest_counts() -> None:
    ex = build(
        "PathwayID\nP1",
        scores="""
        PathwayID | Tool | PersScore | AssToolCompDate
        P1        | PHQ9 | 12        | 2024-04-03
        P1        | PHQ9 | 16        | 2024-04-03
        P1        | PHQ9 | 5         | 2024-06-01
        P1        | PHQ9 | 9         | 2024-06-01
        """,
    )
    row = derive(ex).loc["P1"]
    assert (row.PHQ9_FirstScore, row.PHQ9_LastScore) == (dec("16"), dec("9"))
    # the other score of each day is a score (a row used), not the one counted for its day
    assert scores_not_used(ex) == {}


def test_same_day_scores_from_both_tables_are_one_scoring_day() -> None:
    ex = build(
        "PathwayID\nP1",
        contacts="""
        PathwayID | CareContactId | CareContDate
        P1        | C1            | 2024-04-03
        """,
        activities="""
        PathwayID | CareContactId | CareActId
        P1        | C1            | A1
        """,
        act_scores="""
        PathwayID | CareActId | Tool | PersScore
        P1        | A1        | PHQ9 | 20
        """,
        scores="""
        PathwayID | Tool | PersScore | AssToolCompDate
        P1        | PHQ9 | 14        | 2024-04-03
        """,
    )
    row = derive(ex).loc["P1"]
    assert row.PHQ9_FirstScore == dec("20")
    assert pd.isna(row.PHQ9_LastScore)  # one scoring day: not paired
    assert scores_not_used(ex) == {}


def test_activity_scores_are_dated_by_their_contact_even_if_not_attended() -> None:
    ex = build(
        "PathwayID\nP1",
        contacts="""
        PathwayID | CareContactId | CareContDate | AttendOrDNACode
        P1        | C1            | 2024-04-03   | 5
        P1        | C2            | 2024-05-15   | 3
        P1        | C3            | 2024-03-01   | 5
        """,
        activities="""
        PathwayID | CareContactId | CareActId
        P1        | C1            | A1
        P1        | C2            | A2
        P1        | C3            | A3
        """,
        act_scores="""
        PathwayID | CareActId | Tool | PersScore
        P1        | A1        | GAD7 | 15
        P1        | A2        | GAD7 | 6
        P1        | A3        | GAD7 | 21
        P1        | A9        | GAD7 | 2
        """,
    )
    row = derive(ex).loc["P1"]
    # A3 is dated before R (outside the window); A9 has no parent activity (undated)
    assert (row.GAD_FirstScore, row.GAD_LastScore) == (dec("15"), dec("6"))
    # both are scores (rows used): only their date keeps them out of the pathway's scores
    assert scores_not_used(ex) == {}


def test_unparseable_and_out_of_range_scores_are_not_scores_and_are_counted() -> None:
    ex = build(
        "PathwayID\nP1",
        scores="""
        PathwayID | Tool      | PersScore | AssToolCompDate
        P1        | PHQ9      | abc       | 2024-04-02
        P1        | PHQ9      | 28        | 2024-04-03
        P1        | PHQ9      | -1        | 2024-04-04
        P1        | PHQ9      | 1e1       | 2024-04-05
        P1        | PHQ9      | 9         | 2024-04-10
        P1        | PHQ9      | 27        | 2024-05-10
        P1        | GAD7      | 21.5      | 2024-04-10
        P1        | 932621000000100 | 4   | 2024-04-10
        """,
    )
    row = derive(ex).loc["P1"]
    assert (row.PHQ9_FirstScore, row.PHQ9_LastScore) == (dec("9"), dec("27"))
    assert pd.isna(row.GAD_FirstScore)
    assert scores_not_used(ex) == {
        "IDS606CodedScoreAssessmentRefer": {
            "score_unparseable": 2,  # abc, 1e1
            "score_out_of_range": 3,  # 28, -1, 21.5
            "score_unknown_tool": 1,  # WSAS work item
        }
    }


def test_whole_number_measures_take_whole_numbers_only() -> None:
    ex = build(
        "PathwayID\nP1",
        scores="""
        PathwayID | Tool       | PersScore | AssToolCompDate
        P1        | PHQ9       | 7.5       | 2024-04-02
        P1        | PHQ9       | 12.0      | 2024-04-03
        P1        | PHQ9       | 99        | 2024-04-04
        P1        | PHQ9       | 12a       | 2024-04-05
        P1        | PHQ9       | 3         | 2024-05-10
        P1        | GAD7       | 6.25      | 2024-04-10
        P1        | AgoraAlone | 2.30      | 2024-04-10
        P1        | AgoraAlone | 1.57      | 2024-05-10
        """,
    )
    row = derive(ex).loc["P1"]
    # 7.5 is not a PHQ-9 score: the first is 12.0 (2024-04-03), the last 3
    assert (row.PHQ9_FirstScore, row.PHQ9_LastScore) == (dec("12"), dec("3"))
    assert pd.isna(row.GAD_FirstScore)
    assert scores_not_used(ex) == {
        "IDS606CodedScoreAssessmentRefer": {
            "score_not_integer": 2,  # PHQ-9 7.5, GAD-7 6.25 (the Mobility Inventory is decimal)
            "score_out_of_range": 1,  # 99
            "score_unparseable": 1,  # 12a
        }
    }
    report = ex.validate()
    assert report.counts()["score_not_integer"] == {"IDS606CodedScoreAssessmentRefer.PersScore": 2}


def scores_not_used(ex: object, definitions: object = None) -> dict[str, dict[str, int]]:
    """The ledger's IDS606/IDS607 rows not used as at 2024-06-30, by reason."""
    from iaptkit.data import Extract
    from iaptkit.definitions import Definitions

    assert isinstance(ex, Extract)
    assert definitions is None or isinstance(definitions, Definitions)
    ledger = extract_ledger(ex, date(2024, 6, 30), definitions)
    return {
        t.table: dict(t.rows_not_used)
        for t in ledger.tables
        if t.table.startswith(("IDS606", "IDS607")) and t.rows_not_used
    }


def test_a_sites_own_tool_code_is_a_score_to_the_derivation_and_the_ledger(
    tmp_path: Path,
) -> None:
    # a site adds a second PHQ-9 code (X9): its rows are PHQ-9 scores, and the ledger agrees
    # (one list of the tool codes, Definitions.tool_measures, read by both)
    site = site_definitions(tmp_path, tool_codes={"PHQ9": [TOOL["PHQ9"], "X9"]})
    ex = build(
        "PathwayID\nP1",
        scores="""
        PathwayID | Tool | PersScore | AssToolCompDate
        P1        | X9   | 20        | 2024-04-02
        P1        | PHQ9 | 14        | 2024-05-10
        P1        | X9   | 30        | 2024-05-20
        P1        | X8   | 5         | 2024-04-10
        """,
    )
    row = derive(ex, definitions=site).loc["P1"]
    assert (row.PHQ9_FirstScore, row.PHQ9_LastScore) == (dec("20"), dec("14"))
    assert scores_not_used(ex, site) == {
        "IDS606CodedScoreAssessmentRefer": {
            "score_out_of_range": 1,  # X9 30: PHQ-9's range, not unknown
            "score_unknown_tool": 1,  # X8
        }
    }
    # with the packaged definitions X9 is no measure's: not a score, and counted as such
    default = derive(ex).loc["P1"]
    assert default.PHQ9_FirstScore == dec("14")
    assert pd.isna(default.PHQ9_LastScore)  # one scoring day: no last score
    assert scores_not_used(ex)["IDS606CodedScoreAssessmentRefer"] == {"score_unknown_tool": 3}


def test_scores_outside_the_window_do_not_count() -> None:
    ex = build(
        """
        PathwayID | ReferralRequestReceivedDate | ServDischDate
        P1        | 2024-04-10                  | 2024-06-10
        """,
        scores="""
        PathwayID | Tool | PersScore | AssToolCompDate
        P1        | PHQ9 | 25        | 2024-04-09
        P1        | PHQ9 | 20        | 2024-04-10
        P1        | PHQ9 | 12        | 2024-06-10
        P1        | PHQ9 | 3         | 2024-06-11
        """,
    )
    row = derive(ex).loc["P1"]
    assert (row.PHQ9_FirstScore, row.PHQ9_LastScore) == (dec("20"), dec("12"))


def test_decimal_scores_are_kept_exactly() -> None:
    ex = build(
        """
        PathwayID | ServDischDate
        P1        | 2024-06-20
        """,
        complaints="""
        PathwayID | PresComp
        P1        | F400
        """,
        scores="""
        PathwayID | Tool       | PersScore | AssToolCompDate
        P1        | AgoraAlone | 2.30      | 2024-04-03
        P1        | AgoraAlone | 1.57      | 2024-06-01
        """,
    )
    row = derive(ex).loc["P1"]
    assert row.ADSM == "AgoraAlone"
    assert row.ADSM_FirstScore == dec("2.3")
    assert row.ADSM_LastScore == dec("1.57")
    assert row.ADSM_FirstScore - row.ADSM_LastScore == pytest.approx(dec("0.73"))


def test_an_invalid_activity_score_row_does_not_hide_a_valid_one() -> None:
    # issue 18: one activity carries two rows of the same questionnaire, one invalid, one valid;
    # the IDS607 de-duplication must keep the valid row (invalid rows are not scores)
    ex = build(
        "PathwayID\nP1\nP2\nP3",
        contacts="""
        PathwayID | CareContactId | CareContDate
        P1        | C1            | 2024-04-03
        P1        | C2            | 2024-05-03
        P2        | C1            | 2024-04-03
        P2        | C2            | 2024-05-03
        P3        | C1            | 2024-04-03
        P3        | C2            | 2024-05-03
        """,
        activities="""
        PathwayID | CareContactId | CareActId
        P1        | C1            | A1
        P1        | C2            | A2
        P2        | C1            | A1
        P2        | C2            | A2
        P3        | C1            | A1
        P3        | C2            | A2
        """,
        act_scores="""
        PathwayID | CareActId | Tool | PersScore | Sub | Month
        P1        | A1        | PHQ9 | -1        | 1   | 1491
        P1        | A1        | PHQ9 | 14        | 1   | 1491
        P1        | A2        | PHQ9 | 12a       | 1   | 1491
        P1        | A2        | PHQ9 | 8         | 1   | 1491
        P2        | A1        | PHQ9 | 16        | 1   | 1491
        P2        | A2        | PHQ9 | 9         | 1   | 1491
        P2        | A2        | PHQ9 | 99        | 1   | 1491
        P3        | A1        | PHQ9 | 17        | 1   | 1491
        P3        | A2        | PHQ9 | 6         | 1   | 1491
        """,
    )
    rows = derive(ex)
    assert (rows.loc["P1", "PHQ9_FirstScore"], rows.loc["P1", "PHQ9_LastScore"]) == (
        dec("14"),
        dec("8"),
    )
    assert (rows.loc["P2", "PHQ9_FirstScore"], rows.loc["P2", "PHQ9_LastScore"]) == (
        dec("16"),
        dec("9"),
    )
    assert (rows.loc["P3", "PHQ9_FirstScore"], rows.loc["P3", "PHQ9_LastScore"]) == (
        dec("17"),
        dec("6"),
    )
    # outcome flags follow: P1 is a case at 14 that ended at 8, a reliable improvement of 6
    assert rows.loc["P1", "PHQ9_FirstScore"] - rows.loc["P1", "PHQ9_LastScore"] == pytest.approx(6)


def test_a_later_invalid_resubmission_does_not_hide_an_earlier_valid_score() -> None:
    # the IDS607 de-duplication keeps, per activity and questionnaire, the latest *valid* row:
    # a later submission's invalid row leaves the earlier valid one, a later valid row wins,
    # and rows of other questionnaires on the same activity change neither (April's
    # submission 1, then May's submission 2, which resends the referral)
    ex = build(
        """
        PathwayID | Sub | Month
        P1        | 1   | 1489
        P1        | 2   | 1490
        """,
        contacts="""
        PathwayID | CareContactId | CareContDate | Sub | Month
        P1        | C1            | 2024-04-03   | 1   | 1489
        P1        | C2            | 2024-05-03   | 2   | 1490
        P1        | C3            | 2024-05-20   | 2   | 1490
        """,
        activities="""
        PathwayID | CareContactId | CareActId | Sub | Month
        P1        | C1            | A1        | 1   | 1489
        P1        | C2            | A2        | 1   | 1489
        P1        | C2            | A2        | 2   | 1490
        P1        | C3            | A3        | 2   | 1490
        """,
        act_scores="""
        PathwayID | CareActId | Tool      | PersScore | Sub | Month
        P1        | A1        | PHQ9      | 15        | 1   | 1489
        P1        | A1        | PHQ9      | abc       | 2   | 1490
        P1        | A1        | 999999999 | 3         | 2   | 1490
        P1        | A2        | PHQ9      | 7         | 1   | 1489
        P1        | A2        | PHQ9      | 5         | 2   | 1490
        P1        | A3        | PHQ9      | 28        | 2   | 1490
        P1        | A3        | GAD7      | 9         | 2   | 1490
        """,
    )
    row = derive(ex).loc["P1"]
    # A1 keeps 15 (the later "abc" is not a score); A2 is 5 (the later valid row); A3's 28 is
    # out of range, so A2's day is the last scoring day
    assert (row.PHQ9_FirstScore, row.PHQ9_LastScore) == (dec("15"), dec("5"))
    assert row.GAD_FirstScore == dec("9")
