"""A tiny inline IAPT extract for the loader's tests (owner: LOADER helper).

Two providers, two months (July and August 2024, Unique_MonthID 1492 and 1493):

- R1A July was submitted twice: 101 (primary, superseded) and 102 (refresh); R1A August is 103.
- R2B July is 201, August is 202.
- P1 (R1A) is open in July, discharged 2024-08-20 (EndCode 46) in the August submission.
- P2 (R2B) is in both months; in August its row has UsePathway_Flag false.
- P3 (R1A) appears only in the superseded submission 101.
- Contacts: C1 of P1 is sent in 102 and again (corrected AppType) in 103; C9 only in 101.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

JUL, AUG = 1492, 1493


def frames() -> dict[str, pd.DataFrame]:
    """The extract as DataFrames, every value as text (as a CSV would hold it)."""
    header = pd.DataFrame(
        {
            "UniqueSubmissionID": ["101", "102", "103", "201", "202"],
            "OrgIDProv": ["R1A", "R1A", "R1A", "R2B", "R2B"],
            "Unique_MonthID": [str(JUL), str(JUL), str(AUG), str(JUL), str(AUG)],
            "ReportingPeriodStartDate": ["2024-07-01"] * 2
            + ["2024-08-01"]
            + ["2024-07-01", "2024-08-01"],
            "ReportingPeriodEndDate": ["2024-07-31"] * 2
            + ["2024-08-31"]
            + ["2024-07-31", "2024-08-31"],
        }
    )
    mpi = pd.DataFrame(
        {
            "UniqueSubmissionID": ["101", "101", "102", "103", "201", "202"],
            "Unique_MonthID": [str(JUL), str(JUL), str(JUL), str(AUG), str(JUL), str(AUG)],
            "OrgID_Provider": ["R1A", "R1A", "R1A", "R1A", "R2B", "R2B"],
            "RecordNumber": ["1", "3", "1", "1", "2", "2"],
            "Person_ID": ["PER1", "PER3", "PER1", "PER1", "PER2", "PER2"],
            "Gender": ["2", "1", "2", "2", "1", "1"],
            "EthnicCategory": ["A", "B", "A", "A", "M", "M"],
            "IndicesOfDeprivationDecile": ["3", "5", "3", "4", None, None],
        }
    )
    referral = pd.DataFrame(
        {
            "UniqueSubmissionID": ["101", "101", "102", "103", "201", "202"],
            "Unique_MonthID": [str(JUL), str(JUL), str(JUL), str(AUG), str(JUL), str(AUG)],
            "OrgID_Provider": ["R1A", "R1A", "R1A", "R1A", "R2B", "R2B"],
            "PathwayID": ["P1", "P3", "P1", "P1", "P2", "P2"],
            "ServiceRequestId": ["S1", "S3", "S1", "S1", "S2", "S2"],
            "RecordNumber": ["1", "3", "1", "1", "2", "2"],
            "OrgIDComm": ["OLD", "C01", "C01", "C01", "C02", "C02"],
            "ReferralRequestReceivedDate": [
                "2024-06-03",
                "2024-07-01",
                "2024-06-03",
                "2024-06-03",
                "2024-05-20",
                "2024-05-20",
            ],
            "SourceOfReferralMH": ["B1", "B1", "B1", "B1", "A1", "A1"],
            "ServDischDate": [None, None, None, "2024-08-20", None, "2024-08-02"],
            "EndCode": [None, None, None, "46", None, "47"],
            "Age_ReferralRequest_ReceivedDate": ["34", "51", "34", "34", "70", "70"],
            "UsePathway_Flag": ["true", "true", "True", "Y", "1", "false"],
        }
    )
    contact = pd.DataFrame(
        {
            "UniqueSubmissionID": ["101", "102", "103", "103", "201"],
            "Unique_MonthID": [str(JUL), str(JUL), str(AUG), str(AUG), str(JUL)],
            "OrgID_Provider": ["R1A", "R1A", "R1A", "R1A", "R2B"],
            "PathwayID": ["P1", "P1", "P1", "P1", "P2"],
            "CareContactId": ["C9", "C1", "C1", "C2", "C5"],
            "CareContDate": ["2024-07-10", "2024-07-10", "2024-07-10", "2024-08-05", "2024-07-15"],
            "AppType": ["01", "01", "03", "02", "01"],
            "AttendOrDNACode": ["5", "5", "5", "6", "3"],
            "PlannedCareContIndicator": ["Y", "Y", "Y", "Y", "N"],
        }
    )
    activity = pd.DataFrame(
        {
            "UniqueSubmissionID": ["102", "103", "103", "201"],
            "Unique_MonthID": [str(JUL), str(AUG), str(AUG), str(JUL)],
            "OrgID_Provider": ["R1A", "R1A", "R1A", "R2B"],
            "PathwayID": ["P1", "P1", "P1", "P2"],
            "CareContactId": ["C1", "C1", "C2", "C5"],
            "CareActId": ["A1", "A1", "A2", "A5"],
            "CodeProcAndProcStatus": [
                "1127281000000100",
                "1127281000000100",
                "1098051000000103",
                "1127281000000100",
            ],
        }
    )
    complaints = pd.DataFrame(
        {
            "UniqueSubmissionID": ["102", "201"],
            "Unique_MonthID": [str(JUL), str(JUL)],
            "OrgID_Provider": ["R1A", "R2B"],
            "PathwayID": ["P1", "P2"],
            "PresComp": ["F411", "F32"],
            "PresCompCodSig": ["P", "P"],
            "PresCompDate": ["2024-06-10", "2024-05-25"],
        }
    )
    refer_scores = pd.DataFrame(
        {
            "UniqueSubmissionID": ["102", "201"],
            "Unique_MonthID": [str(JUL), str(JUL)],
            "OrgID_Provider": ["R1A", "R2B"],
            "PathwayID": ["P1", "P2"],
            "CodedAssToolType": ["720433000", "445455005"],
            "PersScore": ["15", "12"],
            "AssToolCompDate": ["2024-06-10", "2024-05-25"],
        }
    )
    act_scores = pd.DataFrame(
        {
            "UniqueSubmissionID": ["102", "103", "103"],
            "Unique_MonthID": [str(JUL), str(AUG), str(AUG)],
            "OrgID_Provider": ["R1A", "R1A", "R1A"],
            "PathwayID": ["P1", "P1", "P1"],
            "CareActId": ["A1", "A1", "A2"],
            "CodedAssToolType": ["720433000", "720433000", "473355002"],
            "PersScore": ["14", "14", "2.30"],
        }
    )
    return {
        "IDS000Header": header,
        "IDS001MPI": mpi,
        "IDS101Referral": referral,
        "IDS201CareContact": contact,
        "IDS202CareActivity": activity,
        "IDS603PresentingComplaints": complaints,
        "IDS606CodedScoreAssessmentRefer": refer_scores,
        "IDS607CodedScoreAssessmentAct": act_scores,
    }


AS_AT_JULY = date(2024, 7, 31)
AS_AT_MID_AUGUST = date(2024, 8, 10)
AS_AT_AUGUST = date(2024, 8, 31)
