"""Synthetic extracts: files, types, determinism and the monthly submission structure."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from iaptkit.data.schema import CODE_LISTS, NHS_DERIVED_FIELDS, TABLES, month_id
from iaptkit.errors import ConfigError
from iaptkit.synth.generate import write_synthetic

_ARROW = {
    "int": pa.int64(),
    "str": pa.string(),
    "code": pa.string(),
    "score": pa.string(),
    "date": pa.date32(),
    "bool": pa.bool_(),
}
SMALL = {"pathways": 1500, "start": "2023-04", "months": 6, "providers": 4}


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "x"
    write_synthetic(out, seed=7, with_nhs_fields=True, **SMALL)  # type: ignore[arg-type]
    return out


def _read(folder: Path, table: str) -> pd.DataFrame:
    return pq.read_table(folder / f"{table}.parquet").to_pandas()


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_every_table_and_column_with_schema_types(extract: Path) -> None:
    names = {p.name for p in extract.iterdir()}
    assert names == {f"{t}.parquet" for t in TABLES} | {"_synth.json"}
    for name, spec in TABLES.items():
        schema = pq.read_schema(extract / f"{name}.parquet")
        assert schema.names == list(spec.field_names), name
        for f in spec.fields:
            assert schema.field(f.name).type == _ARROW[f.type], (name, f.name)


def test_without_nhs_fields_the_derived_columns_are_absent(tmp_path: Path) -> None:
    write_synthetic(tmp_path, pathways=100, months=2, providers=2)
    names = pq.read_schema(tmp_path / "IDS101Referral.parquet").names
    assert not {f.name for f in NHS_DERIVED_FIELDS} & set(names)
    assert "ReferralRequestReceivedDate" in names


def test_codes_are_strings_with_leading_zeros(extract: Path) -> None:
    contacts = _read(extract, "IDS201CareContact")
    assert set(contacts.AppType) == {"01", "02", "03", "05", "06"}
    assert set(contacts.AttendOrDNACode) == {"2", "3", "4", "5", "6", "7"}
    assert set(contacts.PlannedCareContIndicator) == {"Y", "N"}
    ref = _read(extract, "IDS101Referral")
    assert set(ref.EndCode.dropna()) <= CODE_LISTS["EndCode"]
    assert {"46", "10"} <= set(ref.EndCode.dropna())
    people = _read(extract, "IDS001MPI")
    assert set(people.EthnicCategory) <= CODE_LISTS["EthnicCategory"]
    assert {"Z", "99"} <= set(people.EthnicCategory)
    assert people.IndicesOfDeprivationDecile.isna().any()
    assert set(people.IndicesOfDeprivationDecile.dropna().astype(int)) == set(range(1, 11))


def test_csv_keeps_codes_as_text(tmp_path: Path) -> None:
    write_synthetic(tmp_path, pathways=300, months=3, providers=2, fmt="csv")
    contacts = pd.read_csv(tmp_path / "IDS201CareContact.csv", dtype=str)
    assert "02" in set(contacts.AppType)
    assert not (contacts.AppType.str.len() != 2).any()
    dates = pd.to_datetime(contacts.CareContDate, format="%Y-%m-%d", errors="coerce")
    assert dates.notna().all()


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    args = {"pathways": 400, "months": 3, "providers": 3, "with_nhs_fields": True}
    write_synthetic(tmp_path / "a", seed=11, **args)  # type: ignore[arg-type]
    write_synthetic(tmp_path / "b", seed=11, **args)  # type: ignore[arg-type]
    write_synthetic(tmp_path / "c", seed=12, **args)  # type: ignore[arg-type]
    a, b, c = _digest(tmp_path / "a"), _digest(tmp_path / "b"), _digest(tmp_path / "c")
    assert a == b
    assert a["IDS201CareContact.parquet"] != c["IDS201CareContact.parquet"]
    assert a["IDS101Referral.parquet"] != c["IDS101Referral.parquet"]


def test_metadata_describes_the_run(extract: Path) -> None:
    meta = json.loads((extract / "_synth.json").read_text())
    assert meta["seed"] == 7
    assert meta["parameters"]["pathways"] == SMALL["pathways"]
    assert meta["faults"] == {}
    for name in TABLES:
        assert meta["row_counts"][name] == pq.read_metadata(extract / f"{name}.parquet").num_rows


def test_one_header_per_submission_and_unique_ids(extract: Path) -> None:
    header = _read(extract, "IDS000Header")
    assert header.UniqueSubmissionID.is_unique
    months = [month_id(pd.Timestamp(2023, 4 + k, 1).date()) for k in range(6)]
    assert sorted(header.Unique_MonthID.unique()) == months
    primaries = header.groupby(["OrgIDProv", "Unique_MonthID"]).size()
    assert len(primaries) == SMALL["providers"] * SMALL["months"]  # every provider, every month
    for name in TABLES:
        subs = set(_read(extract, name).UniqueSubmissionID)
        assert subs <= set(header.UniqueSubmissionID), name


def test_refreshes_have_higher_ids_and_carry_the_full_month(extract: Path) -> None:
    header = _read(extract, "IDS000Header")
    twice = header.groupby(["OrgIDProv", "Unique_MonthID"]).UniqueSubmissionID.agg(list)
    twice = twice[twice.map(len) == 2]
    assert len(twice) >= 1
    ref = _read(extract, "IDS101Referral")
    contacts = _read(extract, "IDS201CareContact")
    for ids in twice:
        primary, refresh = sorted(ids)
        assert refresh > primary
        p = ref[ref.UniqueSubmissionID == primary].PathwayID
        r = ref[ref.UniqueSubmissionID == refresh].PathwayID
        assert sorted(p) == sorted(r)
        assert len(r) > 0
        pc_ = contacts[contacts.UniqueSubmissionID == primary].CareContactId
        rc_ = contacts[contacts.UniqueSubmissionID == refresh].CareContactId
        assert sorted(pc_) == sorted(rc_)


def test_open_referrals_are_resubmitted_every_month_until_discharge(extract: Path) -> None:
    ref = _read(extract, "IDS101Referral")
    header = _read(extract, "IDS000Header")
    latest = header.groupby(["OrgIDProv", "Unique_MonthID"]).UniqueSubmissionID.max()
    counted = ref[ref.UniqueSubmissionID.isin(set(latest))]
    assert counted.groupby(["PathwayID", "Unique_MonthID"]).size().max() == 1
    last_month = counted.Unique_MonthID.max()
    g = counted.sort_values("Unique_MonthID").groupby("PathwayID")
    first = g.Unique_MonthID.min()
    last = g.Unique_MonthID.max()
    n = g.size()
    assert (n == last - first + 1).all()  # no gaps
    recv = pd.to_datetime(g.ReferralRequestReceivedDate.first())
    assert (first == 12 * (recv.dt.year - 1900) + recv.dt.month - 3).all()
    final = g.tail(1).set_index("PathwayID")
    discharged = final.ServDischDate.notna()
    # discharged pathways stop in their discharge month; the others are still there at the end
    disch = pd.to_datetime(final.ServDischDate[discharged])
    assert (
        final.Unique_MonthID[discharged] == 12 * (disch.dt.year - 1900) + disch.dt.month - 3
    ).all()
    assert (final.Unique_MonthID[~discharged] == last_month).all()
    assert final.EndCode[discharged].notna().all()
    assert final.EndCode[~discharged].isna().all()
    earlier = counted.drop(g.tail(1).index)
    assert earlier.ServDischDate.isna().all()
    assert earlier.EndCode.isna().all()


def test_people_match_referrals_in_each_submission(extract: Path) -> None:
    ref = _read(extract, "IDS101Referral")
    mpi = _read(extract, "IDS001MPI")
    assert not mpi.duplicated(["UniqueSubmissionID", "RecordNumber"]).any()
    keys = ref[["UniqueSubmissionID", "RecordNumber"]].merge(
        mpi[["UniqueSubmissionID", "RecordNumber"]], how="left", indicator=True
    )
    assert (keys["_merge"] == "both").all()
    # some people are referred more than once: one IDS001 row, several pathways
    people = ref.merge(mpi, on=["UniqueSubmissionID", "RecordNumber"])
    per_person = people.groupby("Person_ID").PathwayID.nunique()
    assert 0.01 < (per_person > 1).mean() < 0.08
    same = people.groupby("Person_ID")[["Gender", "EthnicCategory"]].nunique()
    assert (same <= 1).all().all()


def test_activity_appears_in_the_month_it_happens(extract: Path) -> None:
    contacts = _read(extract, "IDS201CareContact")
    d = pd.to_datetime(contacts.CareContDate)
    assert (contacts.Unique_MonthID == 12 * (d.dt.year - 1900) + d.dt.month - 3).all()
    acts = _read(extract, "IDS202CareActivity")
    linked = acts.merge(contacts, on=["UniqueSubmissionID", "PathwayID", "CareContactId"])
    assert len(linked) == len(acts)
    scores = _read(extract, "IDS607CodedScoreAssessmentAct")
    linked = scores.merge(acts, on=["UniqueSubmissionID", "PathwayID", "CareActId"])
    assert len(linked) == len(scores)
    assert "1098051000000103" in set(acts.CodeProcAndProcStatus)
    logs = _read(extract, "IDS205InternetTherLog")
    assert (logs.DurationIntEnabledTher > 0).any()
    assert (logs.DurationIntEnabledTher == 0).any()


def test_scores_use_measure_codes_in_valid_ranges(extract: Path) -> None:
    ranges = {
        "720433000": (0, 27), "445455005": (0, 21), "473355002": (1, 5),
        "445552006": (0, 68), "450326007": (0, 28), "491581000000104": (0, 80),
        "450324005": (0, 168), "446793008": (0, 54), "1128221000000100": (0, 72),
        "1083671000000108": (0, 500), "1077511000000101": (0, 33), "1065441000000103": (0, 30),
        # WSAS: home management, social and private leisure, relationships 0-8; work 0-8 or 9
        "932581000000100": (0, 8), "932611000000106": (0, 8), "932591000000103": (0, 8),
        "932601000000109": (0, 8), "932621000000100": (0, 9),
    }  # fmt: skip
    both = pd.concat([_read(extract, "IDS607CodedScoreAssessmentAct"),
                      _read(extract, "IDS606CodedScoreAssessmentRefer")])  # fmt: skip
    assert set(both.CodedAssToolType) <= set(ranges)
    assert {"720433000", "445455005", "445552006", "491581000000104"} <= set(both.CodedAssToolType)
    value = both.PersScore.astype(float)
    lo = both.CodedAssToolType.map(lambda c: ranges[c][0])
    hi = both.CodedAssToolType.map(lambda c: ranges[c][1])
    assert ((value >= lo) & (value <= hi)).all()
    mi = both.PersScore[both.CodedAssToolType == "473355002"]
    assert mi.str.fullmatch(r"[1-5]\.\d\d").all()
    assert both.PersScore[both.CodedAssToolType == "720433000"].str.fullmatch(r"\d+").all()


def test_presenting_complaints_in_the_first_month(extract: Path) -> None:
    pc_ = _read(extract, "IDS603PresentingComplaints")
    assert {"F411", "F412", "F401", "F431"} <= set(pc_.PresComp)
    assert set(pc_.PresCompCodSig) == {"P", "S"}
    assert not pc_.PresComp.str.contains(r"\.").any()
    ref = _read(extract, "IDS101Referral")
    first = ref.groupby("PathwayID").Unique_MonthID.min()
    assert (pc_.Unique_MonthID.to_numpy() == first[pc_.PathwayID].to_numpy()).all()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"start": "2023-13"}, "YYYY-MM"),
        ({"providers": 0}, "providers"),
        ({"faults": 0.5}, "faults"),
        ({"pathways": 0}, "pathways"),
    ],
)
def test_bad_parameters_are_user_errors(
    tmp_path: Path, kwargs: dict[str, object], fragment: str
) -> None:
    args: dict[str, object] = {"pathways": 10, **kwargs}
    with pytest.raises(ConfigError, match=fragment):
        write_synthetic(tmp_path, **args)  # type: ignore[arg-type]


def test_refuses_to_mix_with_other_table_files(tmp_path: Path) -> None:
    write_synthetic(tmp_path, pathways=50, months=1, providers=1, fmt="csv")
    write_synthetic(tmp_path, pathways=60, months=1, providers=1, fmt="csv")  # same format: ok
    with pytest.raises(ConfigError, match=r"IDS000Header\.csv"):
        write_synthetic(tmp_path, pathways=50, months=1, providers=1, fmt="parquet")
    assert not (tmp_path / "IDS000Header.parquet").exists()


def test_wsas_scores_beside_the_phq9_and_named_high_intensity_therapies(extract: Path) -> None:
    from iaptkit.definitions import load_definitions
    from iaptkit.synth.optional_fields import HIGH_INTENSITY_TYPES, WSAS_TOOLS

    cat = load_definitions().catalogue
    assert tuple(cat.wsas_items.values()) == WSAS_TOOLS
    both = pd.concat([_read(extract, "IDS607CodedScoreAssessmentAct"),
                      _read(extract, "IDS606CodedScoreAssessmentRefer")])  # fmt: skip
    phq = both[both.CodedAssToolType == "720433000"]
    wsas = both[both.CodedAssToolType.isin(WSAS_TOOLS)]
    # every WSAS row sits beside a PHQ-9 row of its pathway; about 60 % of pathways have WSAS
    assert set(wsas.PathwayID) <= set(phq.PathwayID)
    share = wsas.PathwayID.nunique() / phq.PathwayID.nunique()
    assert 0.45 < share < 0.75, share
    assert (wsas.groupby("CodedAssToolType").size() == len(wsas) // 5).all()
    work = wsas.PersScore[wsas.CodedAssToolType == WSAS_TOOLS[0]].astype(int)
    assert (work == 9).any()  # 9: not applicable (not employed)
    assert (work < 9).any()
    codes = set(_read(extract, "IDS202CareActivity").CodeProcAndProcStatus)
    named = {code for _, code in HIGH_INTENSITY_TYPES}
    assert named <= codes
    assert named <= set(cat.high_intensity_therapies)
    assert named <= {c for codes in cat.therapy_types.values() for c in codes}
