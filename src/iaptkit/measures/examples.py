"""A tiny synthetic extract for the docstring examples of the derivation modules.

One pathway ``P1`` (received 2024-04-01, discharged 2024-06-20): an assessment (01) on
2024-04-03, treatment (02) on 2024-04-10 and 2024-04-17, a missed appointment (DNA) on
2024-04-24; PHQ-9 15 -> 6 and GAD-7 12 -> 5 (IDS606); presenting complaint F41.1. Synthetic only.
"""

from __future__ import annotations

import pandas as pd

from iaptkit.data import Extract, load_extract

__all__ = ["example_extract"]


def _sub(n: int) -> dict[str, list[str]]:
    return {
        "UniqueSubmissionID": ["1"] * n,
        "Unique_MonthID": ["1491"] * n,
        "OrgID_Provider": ["R1A"] * n,
    }


def example_extract() -> Extract:
    """The one-pathway extract described in the module docstring (DuckDB, in memory).

    Examples
    --------
    >>> example_extract().table_names()[:2]
    ('IDS001MPI', 'IDS101Referral')
    """
    tables = {
        "IDS101Referral": pd.DataFrame(
            {
                **_sub(1),
                "PathwayID": ["P1"],
                "ServiceRequestId": ["S1"],
                "RecordNumber": ["1"],
                "OrgIDComm": ["C01"],
                "ReferralRequestReceivedDate": ["2024-04-01"],
                "SourceOfReferralMH": ["B1"],
                "ServDischDate": ["2024-06-20"],
                "EndCode": ["46"],
                "Age_ReferralRequest_ReceivedDate": ["34"],
            }
        ),
        "IDS001MPI": pd.DataFrame(
            {
                **_sub(1),
                "RecordNumber": ["1"],
                "Person_ID": ["X1"],
                "Gender": ["2"],
                "EthnicCategory": ["A"],
                "IndicesOfDeprivationDecile": ["4"],
            }
        ),
        "IDS201CareContact": pd.DataFrame(
            {
                **_sub(4),
                "PathwayID": ["P1"] * 4,
                "CareContactId": ["C1", "C2", "C3", "C4"],
                "CareContDate": ["2024-04-03", "2024-04-10", "2024-04-17", "2024-04-24"],
                "AppType": ["01", "02", "02", "02"],
                "AttendOrDNACode": ["5", "5", "6", "3"],
                "PlannedCareContIndicator": ["Y"] * 4,
            }
        ),
        "IDS603PresentingComplaints": pd.DataFrame(
            {
                **_sub(1),
                "PathwayID": ["P1"],
                "PresComp": ["F41.1"],
                "PresCompCodSig": ["P"],
                "PresCompDate": ["2024-04-03"],
            }
        ),
        "IDS606CodedScoreAssessmentRefer": pd.DataFrame(
            {
                **_sub(4),
                "PathwayID": ["P1"] * 4,
                "CodedAssToolType": ["720433000", "720433000", "445455005", "445455005"],
                "PersScore": ["15", "6", "12", "5"],
                "AssToolCompDate": ["2024-04-03", "2024-06-01", "2024-04-03", "2024-06-01"],
            }
        ),
    }
    return load_extract(tables)
