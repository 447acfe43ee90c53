"""Monthly resubmission rules (docs/data-model.md "Monthly resubmission"), on tiny inline
extracts."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from data_builder import AS_AT_AUGUST, AS_AT_JULY, AS_AT_MID_AUGUST, AUG, JUL, frames

from iaptkit.data import load_extract
from iaptkit.data.extract import Extract
from iaptkit.errors import ExtractError


@pytest.fixture(scope="module")
def ex() -> Extract:
    extract = load_extract(frames())
    yield extract  # type: ignore[misc]
    extract.close()


def referral_rows(*rows: tuple[str, int, int, str, str | None, str | None, str]) -> pd.DataFrame:
    """IDS101 rows: (PathwayID, month, submission, provider, ServDischDate, EndCode, flag)."""
    return pd.DataFrame(
        [
            {
                "UniqueSubmissionID": sub,
                "Unique_MonthID": month,
                "OrgID_Provider": prov,
                "PathwayID": pid,
                "ServiceRequestId": f"S-{pid}",
                "RecordNumber": 1,
                "OrgIDComm": "C01",
                "ReferralRequestReceivedDate": "2024-06-01",
                "SourceOfReferralMH": "B1",
                "ServDischDate": disch,
                "EndCode": end,
                "Age_ReferralRequest_ReceivedDate": 40,
                "UsePathway_Flag": flag,
            }
            for pid, month, sub, prov, disch, end, flag in rows
        ]
    )


def test_superseded_submission_rows_are_ignored_in_every_table(ex: Extract) -> None:
    # R1A July: 101 superseded by 102. P3 only exists in 101; C9 only in 101.
    counted = ex.counted("IDS101Referral").execute()
    assert 101 not in set(counted.UniqueSubmissionID)
    assert "P3" not in set(counted.PathwayID)
    contacts = ex.activity_as_at("IDS201CareContact", AS_AT_AUGUST).execute()
    assert "C9" not in set(contacts.CareContactId)
    july = ex.referrals_as_at(AS_AT_JULY).execute().set_index("PathwayID")
    # the refresh (102) carries commissioner C01; the superseded primary said OLD
    assert july.loc["P1", "OrgIDComm"] == "C01"
    assert july.loc["P1", "UniqueSubmissionID"] == 102
    people = ex.counted("IDS001MPI").execute()
    assert sorted(people.UniqueSubmissionID) == [102, 103, 201, 202]


def test_submission_index_flags_the_latest_per_provider_month(ex: Extract) -> None:
    subs = ex.submissions().execute().sort_values("UniqueSubmissionID")
    assert subs.UniqueSubmissionID.tolist() == [101, 102, 103, 201, 202]
    assert subs.counted.tolist() == [False, True, True, True, True]


def test_submissions_come_from_ids101_when_ids000_is_absent() -> None:
    tables = frames()
    del tables["IDS000Header"]
    with load_extract(tables) as extract:
        subs = extract.submissions().execute().sort_values("UniqueSubmissionID")
        assert subs.counted.tolist() == [False, True, True, True, True]


def test_ids000_refresh_without_referral_rows_supersedes_the_primary() -> None:
    tables = frames()
    extra = pd.DataFrame(
        {
            "UniqueSubmissionID": ["203"],
            "OrgIDProv": ["R2B"],
            "Unique_MonthID": [str(AUG)],
            "ReportingPeriodStartDate": ["2024-08-01"],
            "ReportingPeriodEndDate": ["2024-08-31"],
        }
    )
    tables["IDS000Header"] = pd.concat([tables["IDS000Header"], extra], ignore_index=True)
    with load_extract(tables) as extract:
        counted = extract.counted("IDS101Referral").execute()
        assert 202 not in set(counted.UniqueSubmissionID)


def test_use_pathway_flag_false_rows_are_ignored(ex: Extract) -> None:
    # P2's August row (202) has UsePathway_Flag false: its July state is the latest counted.
    counted = ex.counted("IDS101Referral").execute()
    assert 202 not in set(counted.UniqueSubmissionID)
    august = ex.referrals_as_at(AS_AT_AUGUST).execute().set_index("PathwayID")
    assert august.loc["P2", "Unique_MonthID"] == JUL
    assert pd.isna(august.loc["P2", "ServDischDate"])


def test_as_at_picks_the_latest_counted_month_not_after_e(ex: Extract) -> None:
    july = ex.referrals_as_at(AS_AT_JULY).execute().set_index("PathwayID")
    august = ex.referrals_as_at(AS_AT_AUGUST).execute().set_index("PathwayID")
    assert july.loc["P1", "Unique_MonthID"] == JUL
    assert august.loc["P1", "Unique_MonthID"] == AUG
    assert august.loc["P1", "ServDischDate"] == pd.Timestamp("2024-08-20")
    assert august.loc["P1", "EndCode"] == "46"
    # before any submission: nothing
    assert len(ex.referrals_as_at(date(2024, 6, 30)).execute()) == 0


def test_discharge_after_e_counts_as_open(ex: Extract) -> None:
    mid = ex.referrals_as_at(AS_AT_MID_AUGUST).execute().set_index("PathwayID")
    # August row says discharged 2024-08-20 with EndCode 46; as at 10 August it is open
    assert mid.loc["P1", "Unique_MonthID"] == AUG
    assert pd.isna(mid.loc["P1", "ServDischDate"])
    assert pd.isna(mid.loc["P1", "EndCode"])


def test_demographics_come_from_ids001_of_the_same_submission(ex: Extract) -> None:
    july = ex.referrals_as_at(AS_AT_JULY).execute().set_index("PathwayID")
    august = ex.referrals_as_at(AS_AT_AUGUST).execute().set_index("PathwayID")
    # PER1's IMD decile is 3 in July's IDS001 and 4 in August's
    assert july.loc["P1", "IndicesOfDeprivationDecile"] == 3
    assert august.loc["P1", "IndicesOfDeprivationDecile"] == 4
    assert august.loc["P1", ["Person_ID", "Gender", "EthnicCategory"]].tolist() == [
        "PER1",
        "2",
        "A",
    ]
    assert pd.isna(august.loc["P2", "IndicesOfDeprivationDecile"])


def test_activity_is_the_union_up_to_e_keeping_the_latest_row(ex: Extract) -> None:
    july = ex.activity_as_at("IDS201CareContact", AS_AT_JULY).execute().set_index("CareContactId")
    august = ex.activity_as_at("IDS201CareContact", AS_AT_AUGUST).execute()
    august = august.set_index("CareContactId")
    assert sorted(july.index) == ["C1", "C5"]
    assert july.loc["C1", "AppType"] == "01"
    # C1 was resubmitted in August with AppType 03: the latest row wins, once
    assert sorted(august.index) == ["C1", "C2", "C5"]
    assert august.loc["C1", "AppType"] == "03"
    assert august.loc["C1", "UniqueSubmissionID"] == 103


def test_absent_optional_activity_table_is_an_empty_typed_table(ex: Extract) -> None:
    logs = ex.activity_as_at("IDS205InternetTherLog", AS_AT_AUGUST)
    assert logs.count().execute() == 0
    assert str(logs.schema()["DurationIntEnabledTher"]) == "int64"
    assert str(logs.schema()["StartDateIntEnabledTherLog"]) == "date"


def test_activity_as_at_rejects_a_non_activity_table(ex: Extract) -> None:
    with pytest.raises(ExtractError, match=r"IDS101Referral is not an activity table"):
        ex.activity_as_at("IDS101Referral", AS_AT_AUGUST)


def test_ties_are_broken_deterministically() -> None:
    # Two IDS101 rows of P1 in the same submission (a duplicate key): lowest ServiceRequestId
    rows = referral_rows(("P1", JUL, 5, "R1A", None, None, "true"))
    twin = rows.assign(ServiceRequestId="S-A", OrgIDComm="TWIN")
    table = pd.concat([rows, twin], ignore_index=True)
    with load_extract({"IDS101Referral": table}) as extract:
        out = extract.referrals_as_at(AS_AT_JULY).execute()
    assert out.ServiceRequestId.tolist() == ["S-A"]
    assert out.OrgIDComm.tolist() == ["TWIN"]


def test_exclusions_account_for_every_row(ex: Extract) -> None:
    excl = ex.exclusions(AS_AT_AUGUST)
    by = {(t, r): n for t, r, n in excl.itertuples(index=False)}
    assert by[("IDS101Referral", "superseded_submission")] == 2
    assert by[("IDS101Referral", "pathway_flag_false")] == 1
    assert by[("IDS101Referral", "earlier_month_state")] == 1
    assert by[("IDS201CareContact", "duplicate_across_submissions")] == 1
    for name in ("IDS101Referral", "IDS201CareContact", "IDS202CareActivity"):
        total = len(frames()[name])
        used = (
            (
                ex.referrals_as_at(AS_AT_AUGUST)
                if name == "IDS101Referral"
                else ex.activity_as_at(name, AS_AT_AUGUST)
            )
            .count()
            .execute()
        )
        assert used + excl[excl.table == name].rows.sum() == total, name


def test_exclusions_as_at_july_count_august_rows_as_after_the_month(ex: Extract) -> None:
    excl = ex.exclusions(AS_AT_JULY)
    by = {(t, r): n for t, r, n in excl.itertuples(index=False)}
    # IDS101: 103 is August (202 is flag-false, counted under that reason first)
    assert by[("IDS101Referral", "after_as_at_month")] == 1
    assert by[("IDS201CareContact", "after_as_at_month")] == 2
    assert list(excl.columns) == ["table", "reason", "rows"]
