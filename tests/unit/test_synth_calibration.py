"""Calibration: a synthetic year lands near the national figures (issue 2).

The headline rates are recomputed here with pandas from the written files only (the NHS-derived
IDS101 fields of the counted submissions, demographics from IDS001, complaints from IDS603) and
compared with bands around the England figures in docs/measures.md ("Published England figures")
(2023-24: recovery 50.1 %, reliable improvement 66.8 %, reliable recovery 47.1 %,
deterioration 5.9 %, not at caseness 5.5 % of finished, 6 weeks 90.5 %, 18 weeks 98.4 %).
"""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from iaptkit.synth.generate import write_synthetic

PROVIDERS = 8


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """One row per pathway: its counted IDS101 row of the latest month, with demographics."""
    out = tmp_path_factory.mktemp("synth_cal") / "x"
    write_synthetic(
        out, pathways=20_000, months=12, providers=PROVIDERS, seed=1, with_nhs_fields=True
    )
    ref = pq.read_table(out / "IDS101Referral.parquet").to_pandas()
    mpi = pq.read_table(out / "IDS001MPI.parquet").to_pandas()
    pc_ = pq.read_table(out / "IDS603PresentingComplaints.parquet").to_pandas()
    latest = ref.groupby(["OrgID_Provider", "Unique_MonthID"]).UniqueSubmissionID.transform("max")
    ref = ref[ref.UniqueSubmissionID == latest]
    ref = ref.sort_values("Unique_MonthID").groupby("PathwayID").tail(1)
    ref = ref.merge(mpi, on=["UniqueSubmissionID", "RecordNumber", "OrgID_Provider",
                             "Unique_MonthID"], how="left")  # fmt: skip
    primary = pc_[pc_.PresCompCodSig == "P"].drop_duplicates("PathwayID")
    return ref.merge(primary[["PathwayID", "PresComp"]], on="PathwayID", how="left")


def _finished(y: pd.DataFrame) -> pd.DataFrame:
    return y[y.ServDischDate.notna() & y.CompletedTreatment_Flag]


def _recovery(f: pd.DataFrame) -> float:
    return 100 * f.Recovery_Flag.sum() / (len(f) - f.NotCaseness_Flag.sum())


def test_one_row_per_referral(year: pd.DataFrame) -> None:
    assert len(year) == 20_000
    assert year.PathwayID.is_unique


def test_headline_outcomes_near_national(year: pd.DataFrame) -> None:
    f = _finished(year)
    n = len(f)
    at_caseness = n - f.NotCaseness_Flag.sum()
    assert 4.0 <= 100 * f.NotCaseness_Flag.sum() / n <= 7.5
    assert 46.0 <= _recovery(f) <= 54.0
    assert 63.0 <= 100 * f.ReliableImprovement_Flag.sum() / n <= 71.0
    rr = (f.Recovery_Flag & f.ReliableImprovement_Flag).sum()
    assert 43.0 <= 100 * rr / at_caseness <= 51.0
    assert 4.0 <= 100 * f.ReliableDeterioration_Flag.sum() / n <= 8.0
    # improvement, deterioration and no change partition the paired pathways
    paired = f[f.PHQ9_LastScore.notna()]
    parts = paired[["ReliableImprovement_Flag", "ReliableDeterioration_Flag", "NoChange_Flag"]]
    assert (parts.sum(axis=1) <= 1).all()
    assert parts.to_numpy().sum() >= 0.95 * len(paired)


def test_waits_sessions_and_volumes_near_national(year: pd.DataFrame) -> None:
    f = _finished(year)
    wait = (pd.to_datetime(f.TherapySession_FirstDate) - pd.to_datetime(
        f.ReferralRequestReceivedDate)).dt.days  # fmt: skip
    assert 87.0 <= 100 * (wait <= 42).mean() <= 94.0
    assert 97.5 <= 100 * (wait <= 126).mean() <= 99.5
    assert 7.0 <= f.TreatmentCareContact_Count.mean() <= 8.0
    assert 0.32 <= len(f) / len(year) <= 0.42
    assert 0.54 <= year.TherapySession_FirstDate.notna().mean() <= 0.66


def test_deprivation_age_and_provider_gradients(year: pd.DataFrame) -> None:
    f = _finished(year)
    most, least = (
        _recovery(f[f.IndicesOfDeprivationDecile == 1]),
        _recovery(f[f.IndicesOfDeprivationDecile == 10]),
    )
    assert 38.0 <= most <= 49.0
    assert 51.0 <= least <= 62.0
    assert least - most >= 7.0
    young = _recovery(f[f.Age_ReferralRequest_ReceivedDate.between(18, 25)])
    older = _recovery(f[f.Age_ReferralRequest_ReceivedDate >= 65])
    assert older - young >= 6.0
    by_provider = f.groupby("OrgID_Provider").apply(_recovery, include_groups=False)
    assert len(by_provider) == PROVIDERS
    overall = _recovery(f)
    assert by_provider.min() <= overall - 8.0  # a clear low outlier
    assert by_provider.max() >= overall + 6.0  # a clear high outlier


def test_problem_descriptor_mix_and_demographics(year: pd.DataFrame) -> None:
    code = year.PresComp.fillna("none")
    share = {
        "depression": code.str.match(r"F3[23]").mean(),
        "gad": (code == "F411").mean(),
        "mixed": (code == "F412").mean(),
        "social phobia": (code == "F401").mean(),
        "ptsd": (code == "F431").mean(),
        "unspecified": (code == "none").mean(),
    }
    assert share["depression"] > share["mixed"] > share["gad"] > share["social phobia"]
    assert 0.01 < share["ptsd"] < 0.08
    assert 0.01 < share["unspecified"] < 0.06
    assert {"83482000", "723916001", "G933", "F400", "F452"} <= set(code)
    age = year.Age_ReferralRequest_ReceivedDate
    assert (age < 18).any()
    assert (age >= 90).any()
    assert 0.55 < (year.Gender == "2").mean() < 0.72
    assert year.IndicesOfDeprivationDecile.isna().mean() < 0.06
    assert year.groupby("OrgID_Provider").OrgIDComm.nunique().min() >= 2
