"""`iaptkit check` on the prepared folder reports exactly the expected findings."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from iaptkit.cli.app import app

FOLDER = Path(__file__).resolve().parents[1] / "data" / "check_files"
runner = CliRunner()

# (file, location, rule, severity): every finding iaptkit check must report under nhs-sde
# (threshold 10, zeros suppressed, all counts rounded to 5). Rows count data rows from 1.
EXPECTED = {
    ("bad_identifiers.csv", "column Person_ID", "identifier-column", "fail"),
    ("bad_identifiers.csv", "row 1, column area", "postcode", "fail"),
    ("bad_identifiers.csv", "row 1, column contact", "nhs-number", "fail"),
    ("bad_identifiers.csv", "column birth_date", "date-of-birth", "fail"),
    ("bad_notebook_small_counts.ipynb", "cell 0, output 0", "notebook-output", "review"),
    ("bad_notebook_small_counts.ipynb", "cell 1, output 0", "notebook-table", "fail"),
    ("bad_notes.txt", "file", "file-type", "fail"),
    ("bad_notes.txt", "line 1", "small-count", "fail"),  # "3 people", scanned though refused
    ("bad_record_level.csv", "column referral_ref", "record-level", "fail"),
    ("bad_small_counts.csv", "row 2, column referrals", "small-count", "fail"),
    ("bad_small_counts.csv", "row 3, column referrals", "small-count", "fail"),
    ("bad_unrounded.csv", "row 1, column finished_treatment", "unrounded-count", "fail"),
    ("bad_workbook.xlsx", "sheet detail, row 2, column count", "small-count", "fail"),
    ("review_chart.png", "file", "image", "review"),
    ("review_notebook_outputs.ipynb", "cell 0, output 0", "notebook-output", "review"),
}
EXPECTED_STATUS = {
    "bad_identifiers.csv": "fail",
    "bad_notebook_small_counts.ipynb": "fail",
    "bad_notes.txt": "fail",
    "bad_record_level.csv": "fail",
    "bad_small_counts.csv": "fail",
    "bad_unrounded.csv": "fail",
    "bad_workbook.xlsx": "fail",
    "good_rounded_table.csv": "pass",
    "good_stripped.ipynb": "pass",
    "good_workbook.xlsx": "pass",
    "review_chart.png": "review",
    "review_notebook_outputs.ipynb": "review",
}


def test_check_folder_reports_exactly_the_expected_findings(tmp_path: Path) -> None:
    out = tmp_path / "findings.json"
    result = runner.invoke(app, ["check", str(FOLDER), "--policy", "nhs-sde", "--json", str(out)])
    assert result.exit_code == 1  # some files fail
    payload = json.loads(out.read_text())
    assert payload["policy_id"] == "nhs-sde"
    found = {
        (Path(f["file"]).name, f["location"], f["rule"], f["severity"])
        for entry in payload["files"]
        for f in entry["findings"]
    }
    assert found == EXPECTED
    statuses = {Path(e["file"]).name: e["status"] for e in payload["files"]}
    assert statuses == EXPECTED_STATUS
    # each finding names its file
    assert all(
        f["file"].endswith(Path(f["file"]).name) for e in payload["files"] for f in e["findings"]
    )


def test_good_and_review_files_exit_zero() -> None:
    files = [
        FOLDER / "good_rounded_table.csv",
        FOLDER / "good_workbook.xlsx",
        FOLDER / "good_stripped.ipynb",
        FOLDER / "review_chart.png",
        FOLDER / "review_notebook_outputs.ipynb",
    ]
    result = runner.invoke(app, ["check", *map(str, files)])
    assert result.exit_code == 0


def test_missing_path_is_a_user_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path / "nope.csv")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
