"""The ledger's counts on a small damaged extract, against counts worked out by hand.

The extract is the loader's inline one (``data_builder``: submission 101 superseded by 102,
P1 and P2 referred, P2's August row flagged not for use) plus damaged activity rows; each
expected count below is derived from docs/ledger.md's rules, row by row, in the comments.
"""

from __future__ import annotations

import pandas as pd
from data_builder import AS_AT_AUGUST, AUG, frames

from iaptkit.data import load_extract
from iaptkit.data.exclusion_rows import exclusion_columns, exclusion_counts
from iaptkit.data.ledger import extract_ledger
from iaptkit.data.spark_ledger import spark_exclusion_counts


def _damaged() -> dict[str, pd.DataFrame]:
    data = frames()
    contacts = pd.DataFrame(
        {
            "UniqueSubmissionID": ["103", "202", "202", "202"],
            "Unique_MonthID": [str(AUG)] * 4,
            "OrgID_Provider": ["R1A", "R2B", "R2B", "R2B"],
            "PathwayID": ["P1", "P9", "P2", "P2"],
            "CareContactId": ["C2", "C7", "C8", "C6"],
            # C2 again in the same submission, undated: a repeat (the dated row is kept);
            # P9 has no referral; C8 is before P2's referral (2024-05-20); C6 has no date
            "CareContDate": [None, "2024-08-03", "2024-05-01", None],
            "AppType": ["02"] * 4,
            "AttendOrDNACode": ["5"] * 4,
            "PlannedCareContIndicator": ["Y"] * 4,
        }
    )
    scores = pd.DataFrame(
        {
            "UniqueSubmissionID": ["103", "202", "202"],
            "Unique_MonthID": [str(AUG)] * 3,
            "OrgID_Provider": ["R1A", "R2B", "R2B"],
            "PathwayID": ["P1", "P2", "P2"],
            "CareActId": ["A1", "A9", "A8"],
            # a third copy of (P1, A1, PHQ-9); a PHQ-9 of 99 (range 0-27); a PHQ-9 of 7.5
            "CodedAssToolType": ["720433000", "720433000", "720433000"],
            "PersScore": ["14", "99", "7.5"],
        }
    )
    data["IDS201CareContact"] = pd.concat([data["IDS201CareContact"], contacts])
    data["IDS607CodedScoreAssessmentAct"] = pd.concat(
        [data["IDS607CodedScoreAssessmentAct"], scores]
    )
    return data


def test_counts_of_a_damaged_extract_match_the_hand_count() -> None:
    with load_extract(_damaged()) as ex:
        ledger = {t.table: t for t in extract_ledger(ex, AS_AT_AUGUST).tables}
    contacts = ledger["IDS201CareContact"]
    # 9 rows: C9 in superseded 101; C1 in 102 and 103 (one repeat); C2 twice in 103 (one
    # repeat); C5 of P2; C7 of P9; C8 early; C6 undated -> used C1, C2, C5
    assert (contacts.rows_in_files, contacts.rows_used) == (9, 3)
    assert dict(contacts.rows_not_used) == {
        "superseded_submission": 1,
        "duplicate_across_submissions": 2,
        "no_referral_as_at": 1,
        "contact_undated": 1,
        "contact_before_referral": 1,
    }
    scores = ledger["IDS607CodedScoreAssessmentAct"]
    # 6 rows: (P1, A1, PHQ-9) three times (two repeats), A2 of P1, a 99 and a 7.5 for P2
    assert (scores.rows_in_files, scores.rows_used) == (6, 2)
    assert dict(scores.rows_not_used) == {
        "score_out_of_range": 1,
        "score_not_integer": 1,
        "duplicate_across_submissions": 2,
    }
    referrals = ledger["IDS101Referral"]
    # 6 rows: P3 in superseded 101; P2's August row not for use; P1 in 102 and 103 (July's
    # state replaced) -> used P1 (103) and P2 (201)
    assert (referrals.rows_in_files, referrals.rows_used) == (6, 2)
    assert dict(referrals.rows_not_used) == {
        "superseded_submission": 2,
        "pathway_flag_false": 1,
        "earlier_month_state": 1,
    }
    people = ledger["IDS001MPI"]
    # 6 rows: two in superseded 101; (102, 1) is July's state of P1, replaced -> used (103, 1)
    # and (201, 2); (202, 2) belongs to P2's row not for use
    assert (people.rows_in_files, people.rows_used) == (6, 2)
    assert dict(people.rows_not_used) == {
        "superseded_submission": 2,
        "not_in_referral_state": 2,
    }


def test_spark_shape_counts_the_hand_counted_extract_alike() -> None:
    # the Spark ledger's one-pass shape (data/spark_ledger.py), run here on DuckDB, against
    # the one-query form, with a repeated (UniqueSubmissionID, RecordNumber) in IDS001 on top
    data = _damaged()
    people = data["IDS001MPI"]
    again = people[people.UniqueSubmissionID.astype(str) == "103"].copy()
    again["Person_ID"] = "ZZZ"
    data["IDS001MPI"] = pd.concat([people, again])
    with load_extract(data) as ex:
        typed = {n: ex.table(n, columns=exclusion_columns(n)) for n in ex.table_names()}
        refs = ex.referrals_as_at(AS_AT_AUGUST, nhs_fields=False)
        subs = ex.submissions()
        for as_at, linked in ((AS_AT_AUGUST, refs), (None, None)):
            one_query = exclusion_counts(typed, subs, as_at, linked, dates=refs)
            one_pass = spark_exclusion_counts(typed, subs, as_at, linked, dates=refs)
            pd.testing.assert_frame_equal(one_query, one_pass)
        dated = spark_exclusion_counts(typed, subs, AS_AT_AUGUST, refs, dates=refs)
    got = {(t, r): n for t, r, n in dated.itertuples(index=False)}
    assert got["IDS001MPI", "duplicate_record_number"] == len(again) == 1
    assert got["IDS101Referral", "earlier_month_state"] == 1
    assert got["IDS201CareContact", "duplicate_across_submissions"] == 2
    assert got["IDS201CareContact", "contact_before_referral"] == 1
