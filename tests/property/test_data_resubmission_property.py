"""Property: the as-at state and activity unions equal a plain-Python reading of the rules.

The reference below re-states docs/data-model.md "Monthly resubmission" in a few lines of Python
over lists of dicts, independently of the ibis code, and Hypothesis draws small random extracts with
refreshes, UsePathway_Flag false rows and discharges before/after the as-at date.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iaptkit.data import load_extract, month_id

MONTHS = (1492, 1493, 1494)  # July, August, September 2024
PROVIDERS = ("RA", "RB")
AS_AT = st.sampled_from([date(2024, 7, 31), date(2024, 8, 15), date(2024, 9, 30)])


def submission_id(provider: str, month: int, version: int) -> int:
    return 100 * (PROVIDERS.index(provider) + 1) + 10 * (month - 1490) + version


referral_row = st.fixed_dictionaries(
    {
        "PathwayID": st.sampled_from(["P1", "P2", "P3", "P4"]),
        "OrgID_Provider": st.sampled_from(PROVIDERS),
        "Unique_MonthID": st.sampled_from(MONTHS),
        "version": st.integers(0, 1),
        "ServDischDate": st.sampled_from([None, "2024-07-20", "2024-08-10", "2024-08-25"]),
        "UsePathway_Flag": st.sampled_from(["true", "false", None]),
    }
)
contact_row = st.fixed_dictionaries(
    {
        "PathwayID": st.sampled_from(["P1", "P2"]),
        "CareContactId": st.sampled_from(["C1", "C2", "C3"]),
        "OrgID_Provider": st.sampled_from(PROVIDERS),
        "Unique_MonthID": st.sampled_from(MONTHS),
        "version": st.integers(0, 1),
        "AppType": st.sampled_from(["01", "02", "03"]),
    }
)


def with_submission(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, row in enumerate(rows):
        sub = submission_id(row["OrgID_Provider"], row["Unique_MonthID"], row["version"])
        out.append({**row, "UniqueSubmissionID": sub, "row": i})
    return out


def counted_submissions(*tables: list[dict[str, Any]]) -> set[int]:
    latest: dict[tuple[str, int], int] = {}
    for row in tables[0]:  # IDS101 only: there is no IDS000 in these extracts
        key = (row["OrgID_Provider"], row["Unique_MonthID"])
        latest[key] = max(latest.get(key, 0), row["UniqueSubmissionID"])
    return set(latest.values())


def expected_state(referrals: list[dict[str, Any]], as_at: date) -> dict[str, dict[str, Any]]:
    counted = counted_submissions(referrals)
    best: dict[str, dict[str, Any]] = {}
    for row in referrals:
        if row["UniqueSubmissionID"] not in counted or row["UsePathway_Flag"] == "false":
            continue
        if row["Unique_MonthID"] > month_id(as_at):
            continue
        # latest month, then highest submission, then lowest ServiceRequestId
        rank = (row["Unique_MonthID"], row["UniqueSubmissionID"], -row["row"])
        current = best.get(row["PathwayID"])
        if current is None or rank > current["rank"]:
            best[row["PathwayID"]] = {**row, "rank": rank}
    out = {}
    for pid, row in best.items():
        disch = row["ServDischDate"]
        is_open = disch is None or date.fromisoformat(disch) > as_at
        out[pid] = {
            "UniqueSubmissionID": row["UniqueSubmissionID"],
            "ServDischDate": None if is_open else disch,
            "EndCode": None if is_open else "46",
        }
    return out


def frames_of(
    referrals: list[dict[str, Any]], contacts: list[dict[str, Any]]
) -> dict[str, pd.DataFrame]:
    ids101 = pd.DataFrame(
        [
            {
                "UniqueSubmissionID": r["UniqueSubmissionID"],
                "Unique_MonthID": r["Unique_MonthID"],
                "OrgID_Provider": r["OrgID_Provider"],
                "PathwayID": r["PathwayID"],
                # unique and increasing with the row: the lowest is the earliest row
                "ServiceRequestId": f"S{r['row']:03d}",
                "RecordNumber": 1,
                "OrgIDComm": "C1",
                "ReferralRequestReceivedDate": "2024-07-01",
                "SourceOfReferralMH": "B1",
                "ServDischDate": r["ServDischDate"],
                "EndCode": None if r["ServDischDate"] is None else "46",
                "Age_ReferralRequest_ReceivedDate": 30,
                "UsePathway_Flag": r["UsePathway_Flag"],
            }
            for r in referrals
        ]
    )
    ids201 = pd.DataFrame(
        [
            {
                "UniqueSubmissionID": c["UniqueSubmissionID"],
                "Unique_MonthID": c["Unique_MonthID"],
                "OrgID_Provider": c["OrgID_Provider"],
                "PathwayID": c["PathwayID"],
                "CareContactId": c["CareContactId"],
                "CareContDate": "2024-07-05",
                "AppType": c["AppType"],
                "AttendOrDNACode": "5",
                "PlannedCareContIndicator": "Y",
            }
            for c in contacts
        ],
        columns=[
            "UniqueSubmissionID",
            "Unique_MonthID",
            "OrgID_Provider",
            "PathwayID",
            "CareContactId",
            "CareContDate",
            "AppType",
            "AttendOrDNACode",
            "PlannedCareContIndicator",
        ],
    )
    return {"IDS101Referral": ids101, "IDS201CareContact": ids201}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    referrals=st.lists(referral_row, min_size=1, max_size=12),
    contacts=st.lists(
        contact_row,
        max_size=10,
        unique_by=lambda c: (
            c["PathwayID"],
            c["CareContactId"],
            c["OrgID_Provider"],
            c["Unique_MonthID"],
            c["version"],
        ),
    ),
    as_at=AS_AT,
)
def test_state_and_activity_follow_the_rules(
    referrals: list[dict[str, Any]], contacts: list[dict[str, Any]], as_at: date
) -> None:
    referrals = with_submission(referrals)
    contacts = with_submission(contacts)
    with load_extract(frames_of(referrals, contacts)) as ex:
        state = ex.referrals_as_at(as_at).execute()
        activity = ex.activity_as_at("IDS201CareContact", as_at).execute()

    expected = expected_state(referrals, as_at)
    got = {
        r.PathwayID: {
            "UniqueSubmissionID": int(r.UniqueSubmissionID),
            "ServDischDate": None if pd.isna(r.ServDischDate) else str(r.ServDischDate)[:10],
            "EndCode": None if pd.isna(r.EndCode) else r.EndCode,
        }
        for r in state.itertuples()
    }
    assert got == expected

    # activity: counted submissions (from IDS101) up to E's month, latest per key
    counted = counted_submissions(referrals)
    latest: dict[tuple[str, str], tuple[int, int, str]] = {}
    for c in contacts:
        if c["UniqueSubmissionID"] not in counted or c["Unique_MonthID"] > month_id(as_at):
            continue
        key = (c["PathwayID"], c["CareContactId"])
        rank = (c["Unique_MonthID"], c["UniqueSubmissionID"], c["AppType"])
        if key not in latest or rank[:2] > latest[key][:2]:
            latest[key] = rank
    got_activity = {
        (r.PathwayID, r.CareContactId): (
            int(r.Unique_MonthID),
            int(r.UniqueSubmissionID),
            r.AppType,
        )
        for r in activity.itertuples()
    }
    assert len(activity) == len(got_activity)
    assert got_activity == latest
