"""Injected faults: the counts in _synth.json are exactly what is in the files.

That validation finds the same counts is checked in tests/integration/test_synth_extract.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from iaptkit.synth.generate import write_synthetic


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth_faults") / "x"
    write_synthetic(out, pathways=1500, months=4, providers=3, seed=5, fmt="csv", faults=0.02)
    return out


def _csv(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False).replace(
        {"": None}
    )


def _bad_dates(values: pd.Series) -> int:
    text = values.dropna()
    return int(pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").isna().sum())


def _count_in_files(folder: Path) -> dict[str, dict[str, int]]:
    ref = _csv(folder, "IDS101Referral")
    con = _csv(folder, "IDS201CareContact")
    sco = _csv(folder, "IDS607CodedScoreAssessmentAct")
    recv = pd.to_datetime(ref.ReferralRequestReceivedDate, format="%Y-%m-%d", errors="coerce")
    disch = pd.to_datetime(ref.ServDischDate, format="%Y-%m-%d", errors="coerce")
    number = pd.to_numeric(sco.PersScore, errors="coerce")
    known = set(ref.PathwayID)
    found = {
        "unparseable_date": {
            "IDS101Referral.ReferralRequestReceivedDate": _bad_dates(
                ref.ReferralRequestReceivedDate
            ),
            "IDS201CareContact.CareContDate": _bad_dates(con.CareContDate),
        },
        "code_not_in_list": {
            "IDS101Referral.EndCode": int((ref.EndCode == "99").sum()),
            "IDS201CareContact.AppType": int((con.AppType == "2").sum()),
            "IDS201CareContact.AttendOrDNACode": int((con.AttendOrDNACode == "9").sum()),
        },
        "score_unparseable": {
            "IDS607CodedScoreAssessmentAct.PersScore": int(number.isna().sum()),
        },
        "score_out_of_range": {
            "IDS607CodedScoreAssessmentAct.PersScore": int(
                ((sco.CodedAssToolType == "720433000") & (number > 27)).sum()
            ),
        },
        "discharge_before_referral": {
            "IDS101Referral.ServDischDate": int((disch < recv).sum()),
        },
        "orphan_pathway": {"IDS201CareContact.PathwayID": int((~con.PathwayID.isin(known)).sum())},
        "duplicate_key": {
            "IDS201CareContact.CareContactId": int(
                con.duplicated(["UniqueSubmissionID", "PathwayID", "CareContactId"]).sum()
            )
        },
    }
    return found


def test_recorded_fault_counts_match_the_files(faulty: Path) -> None:
    recorded = json.loads((faulty / "_synth.json").read_text())["faults"]
    found = _count_in_files(faulty)
    assert recorded == found
    # every rule was exercised at roughly the requested rate
    rows = json.loads((faulty / "_synth.json").read_text())["row_counts"]
    contacts = rows["IDS201CareContact"]
    assert 0.01 * contacts < found["unparseable_date"]["IDS201CareContact.CareContDate"]
    assert found["unparseable_date"]["IDS201CareContact.CareContDate"] < 0.03 * contacts
    assert all(v > 0 for cols in found.values() for v in cols.values())


def test_a_clean_extract_has_none_of_these_faults(tmp_path: Path) -> None:
    write_synthetic(tmp_path, pathways=800, months=4, providers=3, seed=5, fmt="csv")
    assert json.loads((tmp_path / "_synth.json").read_text())["faults"] == {}
    found = _count_in_files(tmp_path)
    assert all(v == 0 for cols in found.values() for v in cols.values())
