"""``iaptkit derive`` and ``iaptkit measures`` end to end on a small synthetic extract.

Expected England figures are computed here independently, in pandas, from the NHS-derived
IDS101 fields that the synthetic generator writes from its own simulated truth.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from iaptkit.cli.app import app
from iaptkit.data import load_extract
from iaptkit.measures.published import published_measures

runner = CliRunner()
START, END = "2023-07-01", "2024-03-31"
PATHWAY_COLUMNS = [
    "PathwayID", "provider", "commissioner", "age_band", "gender", "ethnic_group", "imd_decile",
    "ProblemDescriptor", "ReferralRequestReceivedDate", "ServDischDate", "Assessment_FirstDate",
    "TherapySession_FirstDate", "TherapySession_SecondDate", "TherapySession_LastDate",
    "TreatmentCareContact_Count", "CompletedTreatment_Flag", "PHQ9_FirstScore", "PHQ9_LastScore",
    "GAD_FirstScore", "GAD_LastScore", "ADSM", "ADSM_FirstScore", "ADSM_LastScore",
    "NotCaseness_Flag", "Recovery_Flag", "ReliableImprovement_Flag", "NoChange_Flag",
    "ReliableDeterioration_Flag", "ReliableRecovery_Flag", "wait_to_first_treatment",
    "definitions_version",
]  # fmt: skip


@pytest.fixture(scope="module")
def extract_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from iaptkit.synth.generate import write_synthetic

    folder = tmp_path_factory.mktemp("measures") / "extract"
    write_synthetic(
        folder,
        pathways=1500,
        start="2023-04",
        months=12,
        providers=3,
        seed=11,
        with_nhs_fields=True,
    )
    return folder


@pytest.fixture(scope="module")
def plain_extract_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from iaptkit.synth.generate import write_synthetic

    folder = tmp_path_factory.mktemp("measures_plain") / "extract"
    write_synthetic(folder, pathways=200, start="2023-04", months=6, providers=2, seed=5)
    return folder


def nhs_state_as_at(folder: Path, as_at: date) -> pd.DataFrame:
    """Each pathway's IDS101 row as at ``as_at``, by docs/data-model.md's rules, in plain pandas."""
    ref = pd.read_parquet(folder / "IDS101Referral.parquet")
    header = pd.read_parquet(folder / "IDS000Header.parquet")
    subs = pd.concat(
        [
            header.rename(columns={"OrgIDProv": "OrgID_Provider"})[
                ["OrgID_Provider", "Unique_MonthID", "UniqueSubmissionID"]
            ],
            ref[["OrgID_Provider", "Unique_MonthID", "UniqueSubmissionID"]],
        ]
    )
    counted = subs.groupby(["OrgID_Provider", "Unique_MonthID"]).UniqueSubmissionID.max()
    as_at_month = 12 * (as_at.year - 1900) + as_at.month - 3
    ref = ref[ref.UniqueSubmissionID.isin(counted) & (ref.Unique_MonthID <= as_at_month)]
    ref = ref.sort_values(["Unique_MonthID", "UniqueSubmissionID"]).drop_duplicates(
        "PathwayID", keep="last"
    )
    for col in ("ReferralRequestReceivedDate", "ServDischDate", "TherapySession_FirstDate"):
        ref[col] = pd.to_datetime(ref[col])
    ref.loc[ref.ServDischDate > pd.Timestamp(as_at), "ServDischDate"] = pd.NaT
    return ref


def expected_england(folder: Path, start: str, end: str) -> dict[str, float]:
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    r = nhs_state_as_at(folder, date.fromisoformat(end))
    received = r.ReferralRequestReceivedDate.between(s, e)
    finished = r.ServDischDate.between(s, e) & r.CompletedTreatment_Flag
    not_case = finished & r.NotCaseness_Flag
    recovered = finished & r.Recovery_Flag
    improved = finished & r.ReliableImprovement_Flag
    wait = (r.TherapySession_FirstDate - r.ReferralRequestReceivedDate).dt.days
    return {
        "referrals_received": float(received.sum()),
        "entered_treatment": float(r.TherapySession_FirstDate.between(s, e).sum()),
        "finished_treatment": float(finished.sum()),
        "not_at_caseness": float(not_case.sum()),
        "recovered": float(recovered.sum()),
        "reliably_recovered": float((recovered & improved).sum()),
        "waited_6_weeks": float((finished & (wait <= 42)).sum()),
        "recovery_rate": 100 * recovered.sum() / (finished.sum() - not_case.sum()),
        "mean_sessions_finished": float(r.TreatmentCareContact_Count[finished].mean()),
    }


def _england(frame: pd.DataFrame) -> dict[str, float]:
    eng = frame[frame.breakdown == "england"]
    return dict(zip(eng.measure, eng.value.astype(float), strict=True))


def test_measures_cli_unprotected_matches_independent_counts(
    extract_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m.csv"
    result = runner.invoke(
        app,
        [
            "measures", str(extract_dir), "--start", START, "--end", END,
            "--by", "england,provider,provider x age_band", "--policy", "none", "-o", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "secure environment only" in result.output
    seen = len(nhs_state_as_at(extract_dir, date.fromisoformat(END)))
    assert f"{seen:,} pathways" in result.output
    table = pd.read_csv(out)
    got = _england(table)
    for measure, value in expected_england(extract_dir, START, END).items():
        assert got[measure] == pytest.approx(value), measure
    assert set(table.breakdown) == {"england", "provider", "provider x age_band"}
    assert (
        table[table.breakdown == "provider x age_band"].group.str.contains(" | ", regex=False).all()
    )
    assert set(table.definitions_version.dropna()) == {"iapt-v2-2026.1"}


def test_use_nhs_flags_agrees_exactly_with_the_derivation(extract_dir: Path) -> None:
    with load_extract(extract_dir) as ex:
        s, e = date.fromisoformat(START), date.fromisoformat(END)
        derived = published_measures(ex, s, e, ("england", "provider"))
        nhs = published_measures(ex, s, e, ("england", "provider"), use_nhs_flags=True)
    keys = ["breakdown", "group", "measure"]
    assert derived[keys].equals(nhs[keys])
    pd.testing.assert_series_equal(derived.value, nhs.value)
    pd.testing.assert_series_equal(derived.ci_lower, nhs.ci_lower)
    assert derived[derived.measure == "finished_treatment"].value.sum() > 0
    assert nhs.definitions_version.iloc[0].startswith("nhs-derived-fields")


def test_measures_cli_with_nhs_flags(extract_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "nhs.parquet"
    result = runner.invoke(
        app,
        [
            "measures", str(extract_dir), "--start", START, "--end", END, "--use-nhs-flags",
            "--policy", "none", "-o", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    got = _england(pd.read_parquet(out))
    assert got["recovered"] == expected_england(extract_dir, START, END)["recovered"]


def test_use_nhs_flags_without_the_fields_is_a_clear_error(
    plain_extract_dir: Path, tmp_path: Path
) -> None:
    result = runner.invoke(
        app,
        [
            "measures", str(plain_extract_dir), "--start", "2023-04-01", "--end", "2023-09-30",
            "--use-nhs-flags", "--policy", "none", "-o", str(tmp_path / "x.csv"),
        ],
    )  # fmt: skip
    assert result.exit_code == 2  # a refusal of the extract (ExtractError)
    assert "Traceback" not in result.output
    assert "NHS-derived fields" in result.output
    assert not (tmp_path / "x.csv").exists()


def test_measures_cli_with_a_policy_publishes_protected_values(
    extract_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "protected.csv"
    result = runner.invoke(
        app,
        [
            "measures", str(extract_dir), "--start", START, "--end", END, "--by",
            "england,provider", "--policy", "nhs-sde", "-o", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype={"value": str})
    assert set(table.policy_id) == {"nhs-sde"}
    assert "secure environment only" not in result.output
    # the protection's stages are logged as they start (it can take minutes on big tables)
    assert "Protecting under policy nhs-sde: attacker audit" in result.output
    counts = table[table.kind == "count"].value
    assert counts.map(lambda v: v == "*" or float(v).is_integer()).all()
    truth = expected_england(extract_dir, START, END)["referrals_received"]
    eng = table[(table.breakdown == "england") & (table.measure == "referrals_received")]
    assert abs(float(eng.value.iloc[0]) - truth) <= 5  # rounded, not suppressed at this size


def test_derive_cli_writes_one_row_per_pathway(extract_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "pathways.parquet"
    result = runner.invoke(app, ["derive", str(extract_dir), "--as-at", END, "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out)
    assert list(table.columns) == PATHWAY_COLUMNS
    expected = nhs_state_as_at(extract_dir, date.fromisoformat(END))
    assert len(table) == len(expected) == table.PathwayID.nunique()
    merged = table.merge(expected, on="PathwayID", suffixes=("", "_nhs"))
    assert (merged.TreatmentCareContact_Count == merged.TreatmentCareContact_Count_nhs).all()
    assert "superseded_submission" in result.output  # the exclusions summary


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2024-01-01", "--end", "2023-01-01", "-o", "x.csv"], "before the start"),
        (["--start", START, "--end", END, "-o", "x.xlsx"], ".csv or .parquet"),
        (["--start", START, "--end", END, "--by", "england,region", "-o", "x.csv"], "region"),
        (["--start", "01/07/2023", "--end", END, "-o", "x.csv"], "YYYY-MM-DD"),
        (["--start", START, "--end", END, "--engine", "sqlite", "-o", "x.csv"], "sqlite"),
        (["--start", START, "--end", END, "--parts", "0", "-o", "x.csv"], "parts"),
        (["--start", START, "--end", END, "--memory-limit", "lots", "-o", "x.csv"], "8GB"),
        (
            [
                "--start",
                START,
                "--end",
                END,
                "--engine",
                "spark",
                "--memory-limit",
                "1GB",
                "-o",
                "x.csv",
            ],
            "duckdb only",
        ),
    ],
)
def test_measures_cli_user_errors(
    extract_dir: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    fixed = [str(tmp_path / a) if a.startswith("x.") else a for a in args]
    result = runner.invoke(app, ["measures", str(extract_dir), *fixed, "--policy", "none"])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_derive_cli_with_a_missing_definitions_file(extract_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "site.yaml"
    result = runner.invoke(
        app,
        ["derive", str(extract_dir), "--as-at", END, "--definitions", str(missing), "-o",
         str(tmp_path / "p.csv")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "site.yaml" in result.output
    assert "Traceback" not in result.output


def test_measures_cli_in_parts_writes_the_same_table_and_summary(
    extract_dir: Path, tmp_path: Path
) -> None:
    outputs = {}
    for parts in ("1", "3"):
        out = tmp_path / parts / "m.csv"
        out.parent.mkdir()
        result = runner.invoke(
            app,
            [
                "measures", str(extract_dir), "--start", START, "--end", END,
                "--by", "england,provider x age_band", "--policy", "none", "--parts", parts,
                "-o", str(out),
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert ("part 3 of 3" in result.output) == (parts == "3")
        # the summary (pathways seen, rows not used by reason), after the progress lines
        text = result.output  # the summary, up to the output's (wrapped) path
        outputs[parts] = (pd.read_csv(out), text[text.index("Measures ") : text.index("Written")])
    pd.testing.assert_frame_equal(outputs["3"][0], outputs["1"][0])
    assert outputs["3"][1] == outputs["1"][1]
    # the row ledger (docs/ledger.md) is in the summary, the same for any number of parts
    assert "earlier_month_state" in outputs["3"][1]
    assert _england(outputs["3"][0])["finished_treatment"] > 50


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_derive_cli_in_parts_writes_the_same_file(
    extract_dir: Path, tmp_path: Path, suffix: str
) -> None:
    files = {}
    for parts in ("1", "4"):
        out = tmp_path / parts / f"pathways{suffix}"
        result = runner.invoke(
            app, ["derive", str(extract_dir), "--as-at", END, "--parts", parts, "-o", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert ("part 4 of 4" in result.output) == (parts == "4")
        text = result.output  # the summary, up to the output's (wrapped) path
        files[parts] = (out, text[text.index("Pathways as at") : text.index("Written")])
        # nothing but the output and its provenance (with the ledger) is left in its folder
        # (the temporary file was renamed)
        names = sorted(p.name for p in out.parent.iterdir())
        assert names == [out.name, f"{out.name}.provenance.json"]
        # with the permissions of any new file there (not those of a private temporary file)
        plain = tmp_path / f"plain-{parts}"
        plain.write_text("x")
        assert out.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
    one, four = files["1"][0], files["4"][0]
    if suffix == ".csv":
        assert one.read_bytes() == four.read_bytes()
    else:
        pd.testing.assert_frame_equal(pd.read_parquet(four), pd.read_parquet(one))
    table = pd.read_csv(one) if suffix == ".csv" else pd.read_parquet(one)
    assert len(table) == table.PathwayID.nunique() > 1000
    assert table.PathwayID.is_monotonic_increasing
    assert files["4"][1] == files["1"][1]  # the same summary


def test_memory_limit_is_applied_and_running_out_is_a_clear_error(
    extract_dir: Path, tmp_path: Path
) -> None:
    from iaptkit.cli.measures import open_extract
    from iaptkit.measures.partitions import memory_limit_bytes

    ex = open_extract(str(extract_dir), "duckdb", "1GB")
    try:
        assert memory_limit_bytes(ex) == pytest.approx(1e9, rel=0.05)
    finally:
        ex.close()
    tables = {}
    for limit in ("1GB", "20MB"):
        out = tmp_path / limit / "m.csv"
        result = runner.invoke(
            app,
            [
                "measures", str(extract_dir), "--start", START, "--end", END,
                "--by", "england,provider", "--policy", "none", "--memory-limit", limit,
                "-o", str(out),
            ],
        )  # fmt: skip
        if limit == "1GB":
            assert result.exit_code == 0, result.output
            tables[limit] = pd.read_csv(out)
        else:
            # too little for DuckDB itself: said plainly, with what to change, and no file
            assert result.exit_code == 1
            assert "ran out of memory" in result.output
            assert "--memory-limit" in result.output
            assert "Traceback" not in result.output
            assert not out.exists()
    assert _england(tables["1GB"])["finished_treatment"] > 50


def test_measures_cli_families_and_the_nhs_published_definitions(
    extract_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "f.csv"
    result = runner.invoke(
        app,
        [
            "measures", str(extract_dir), "--start", START, "--end", END, "--by", "england",
            "--families", "waits,2,waiting_list", "--definitions", "nhs-published",
            "--policy", "none", "-o", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype={"nhs_measure_id": str})
    assert set(table.family) == {1, 2, 3}
    assert set(table.definitions_version) == {"nhs-published-2026.1"}
    ids = table.set_index("measure").nhs_measure_id
    assert (ids["entered_waited_6_weeks"], ids["waiting_for_treatment"]) == ("M036", "M038")
    eng = dict(zip(table.measure, table.value, strict=True))
    assert eng["entered_treatment"] > 0
    types = ("ended_not_seen", "ended_seen_not_treated", "ended_treated_once")
    assert sum(eng[t] for t in types) + eng["finished_treatment"] == eng["ended_referrals"]
    bad = runner.invoke(
        app,
        ["measures", str(extract_dir), "--start", START, "--end", END, "--families", "nine",
         "--policy", "none", "-o", str(tmp_path / "g.csv")],
    )  # fmt: skip
    assert bad.exit_code == 1
    assert "unknown family 'nine'" in bad.output
    assert "Traceback" not in bad.output
