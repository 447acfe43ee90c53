"""``iaptkit validate`` end to end: report on stderr, JSON file, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from iaptkit.synth.generate import write_synthetic


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iaptkit.cli.app", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("extract")
    write_synthetic(out, pathways=800, months=3, providers=2, seed=4, fmt="csv", faults=0.05)
    return out


def test_validate_writes_json_and_exits_0_without_fatal_problems(
    extract: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    result = run("validate", str(extract), "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "Validation of" in result.stderr
    assert "unparseable_date" in result.stderr
    report = json.loads(out.read_text())
    injected = json.loads((extract / "_synth.json").read_text())["faults"]
    found = {
        (p["rule"], f"{p['table']}.{p['column']}"): p["rows"]
        for p in report["problems"]
        if p["severity"] == "error"
    }
    expected = {(rule, where): n for rule, cols in injected.items() for where, n in cols.items()}
    assert found == expected


def test_validate_exits_1_on_a_missing_required_table(extract: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in extract.iterdir():
        if path.name != "IDS202CareActivity.csv":
            (broken / path.name).write_bytes(path.read_bytes())
    result = run("validate", str(broken))
    assert result.returncode == 1
    assert "missing_table" in result.stderr
    assert "IDS202CareActivity" in result.stderr


def test_validate_reports_a_missing_folder_without_traceback(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "nowhere"))
    assert result.returncode == 2  # a refusal of bad input (docs/ledger.md)
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr
