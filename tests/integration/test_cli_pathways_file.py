"""``iaptkit measures --pathways``: counting the parquet file of ``iaptkit derive``.

The measures counted from the derived file must be those computed from the extract (the same
bytes), with the derive's ledger; the file is refused when it was derived as at another date,
from another extract (or files changed since), or has no provenance beside it.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from iaptkit.cli.app import app

runner = CliRunner()
START, END = "2023-07-01", "2024-03-31"


@pytest.fixture(scope="module")
def extract_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from iaptkit.synth.generate import write_synthetic

    folder = tmp_path_factory.mktemp("pathways_file") / "extract"
    write_synthetic(folder, pathways=400, start="2023-04", months=12, providers=2, seed=3)
    return folder


@pytest.fixture(scope="module")
def derived(extract_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("derived") / "pathways.parquet"
    result = runner.invoke(
        app, ["derive", str(extract_dir), "--as-at", END, "-o", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return out


def _measures(extract: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        ["measures", str(extract), "--start", START, "--end", END, "--by", "england,provider",
         "--policy", "none", "-o", str(out), "--json", str(out.with_suffix(".json")), *extra],
    )  # fmt: skip
    return result.exit_code, result.output


def test_measures_from_the_derived_file_are_those_from_the_extract(
    extract_dir: Path, derived: Path, tmp_path: Path
) -> None:
    code_a, out_a = _measures(extract_dir, tmp_path / "a.csv", "--families", "outcomes")
    code_b, out_b = _measures(
        extract_dir, tmp_path / "b.csv", "--families", "outcomes", "--pathways", str(derived)
    )
    assert (code_a, code_b) == (0, 0), out_a + out_b
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    ledger_a = json.loads((tmp_path / "a.json").read_text())["ledger"]
    ledger_b = json.loads((tmp_path / "b.json").read_text())
    assert ledger_b["ledger"] == ledger_a
    assert ledger_b["pathways_file"] == str(derived)


def test_counts_match_the_rows_of_the_derived_file(
    extract_dir: Path, derived: Path, tmp_path: Path
) -> None:
    code, output = _measures(
        extract_dir, tmp_path / "m.csv", "--families", "outcomes", "--pathways", str(derived)
    )
    assert code == 0, output
    m = pd.read_csv(tmp_path / "m.csv")
    england = m[m["breakdown"] == "england"].set_index("measure")["value"]
    # counted here, independently, from the file's rows: docs/measures.md §2 cohorts
    p = pd.read_parquet(derived)
    lo, hi = date.fromisoformat(START), date.fromisoformat(END)

    def within(col: str) -> pd.Series:
        d = pd.to_datetime(p[col]).dt.date
        return d.notna() & (d >= lo) & (d <= hi)

    finished = within("ServDischDate") & p["CompletedTreatment_Flag"]
    assert england["referrals_received"] == within("ReferralRequestReceivedDate").sum()
    assert england["entered_treatment"] == within("TherapySession_FirstDate").sum()
    assert england["finished_treatment"] == finished.sum()
    assert england["recovered"] == (finished & p["Recovery_Flag"]).sum()
    assert finished.sum() > 0


def test_every_family_from_the_derived_file_is_that_from_the_extract(
    extract_dir: Path, derived: Path, tmp_path: Path
) -> None:
    code_a, out_a = _measures(extract_dir, tmp_path / "a.csv")
    code_b, out_b = _measures(extract_dir, tmp_path / "b.csv", "--pathways", str(derived))
    assert (code_a, code_b) == (0, 0), out_a + out_b
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    assert set(a["family"]) == set(range(9))
    pd.testing.assert_frame_equal(a, b)
    # family 8 reads IDS004 beyond the derive: counted as measures counts it from the extract
    ledger_a = json.loads((tmp_path / "a.json").read_text())["ledger"]
    ledger_b = json.loads((tmp_path / "b.json").read_text())["ledger"]
    assert ledger_b == ledger_a
    emp = next(t for t in ledger_b if t["table"] == "IDS004EmpStatus")
    assert "not_needed_by_command" not in emp["rows_not_used"]
    assert emp["rows_used"] > 0


def test_a_file_derived_as_at_another_date_is_refused(extract_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "early.parquet"
    result = runner.invoke(
        app, ["derive", str(extract_dir), "--as-at", "2024-02-29", "-o", str(other)]
    )
    assert result.exit_code == 0, result.output
    code, output = _measures(extract_dir, tmp_path / "m.csv", "--pathways", str(other))
    assert code == 1
    assert "derived as at the period end 2024-03-31" in output
    assert "2024-02-29" in output
    assert "Traceback" not in output
    assert not (tmp_path / "m.csv").exists()


def test_a_file_without_its_provenance_is_refused(
    extract_dir: Path, derived: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "bare.parquet"
    shutil.copy(derived, bare)
    code, output = _measures(extract_dir, tmp_path / "m.csv", "--pathways", str(bare))
    assert code == 1
    assert "bare.parquet.provenance.json" in " ".join(output.split())
    assert "Traceback" not in output


def test_a_file_of_an_extract_changed_since_is_refused(
    extract_dir: Path, derived: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "extract"
    shutil.copytree(extract_dir, copy)
    same, output = _measures(copy, tmp_path / "same.csv", "--pathways", str(derived))
    assert same == 0, output  # a faithful copy (same files, sizes and times) is the same extract
    referrals = copy / "IDS101Referral.parquet"
    pd.read_parquet(referrals).iloc[:-1].to_parquet(referrals, index=False)  # one row fewer
    code, output = _measures(copy, tmp_path / "m.csv", "--pathways", str(derived))
    assert code == 1
    assert "derived from another extract" in " ".join(output.split())
    assert "Traceback" not in output
