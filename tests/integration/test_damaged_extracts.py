"""Damaged extracts, one fault each (synth.faults.damage_extract): refusal or exact ledger.

Every command (validate, derive, measures) run in-process: one line of error, no traceback,
the exit code of a refusal (2), and the JSON written with the error and the ledger so far.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iaptkit.cli.app import app
from iaptkit.synth.faults import FILE_FAULTS, damage_extract
from iaptkit.synth.generate import write_synthetic
from iaptkit.synth.row_faults import ROW_FAULTS, RowDamage, damage_rows

TABLE = "IDS201CareContact"
COMMANDS: dict[str, list[str]] = {
    "validate": ["validate"],
    "derive": ["derive", "--as-at", "2024-03-31"],
    "measures": ["measures", "--start", "2024-01-01", "--end", "2024-03-31", "--policy", "none"],
}


@pytest.fixture(scope="session")
def clean_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    write_synthetic(out, pathways=200, start="2024-01", months=3, providers=2, seed=7, fmt="csv")
    return out


@pytest.fixture(scope="session")
def faulty_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("faulty")
    write_synthetic(
        out, pathways=300, start="2024-01", months=3, providers=2, seed=3, fmt="csv", faults=0.05
    )
    return out


@pytest.fixture(scope="session")
def damaged(clean_extract: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One copy of the clean extract per file fault."""
    out: dict[str, Path] = {}
    for fault in FILE_FAULTS:
        folder = tmp_path_factory.mktemp(fault)
        shutil.copytree(clean_extract, folder, dirs_exist_ok=True)
        damage_extract(folder, fault, TABLE)
        out[fault] = folder
    return out


def run(command: str, extract: Path, tmp: Path, *extra: str) -> tuple[int, str, dict[str, Any]]:
    args = [*COMMANDS[command], str(extract), "--json", str(tmp / "out.json"), *extra]
    if command != "validate":
        args += ["-o", str(tmp / "out.csv")]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    text = result.stderr + result.stdout
    body = json.loads((tmp / "out.json").read_text()) if (tmp / "out.json").exists() else {}
    return result.exit_code, text, body


def data_lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) - 1


#: fault -> what the refusal must say (besides the table and file).
REFUSALS: dict[str, str] = {
    "extra_field": "line 3 has",
    "duplicated_header": "twice in its header (row 1",
    "table_directory": "is a directory",
    "missing_table": "Required table IDS201CareContact is missing",
    "missing_column": "has no column UniqueSubmissionID",
    "zero_byte_file": "is empty",
    "wrong_table": "has no column",
    "truncated_file": "fields, expected",
    "undecodable_bytes": "not UTF-8",
    "oversized_line": "line 3 is 3,000,0",
}


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("fault", FILE_FAULTS)
def test_every_file_fault_is_refused_in_one_line(
    damaged: dict[str, Path], clean_extract: Path, fault: str, command: str, tmp_path: Path
) -> None:
    code, text, body = run(command, damaged[fault], tmp_path)
    assert "Traceback" not in text
    assert "Connection already closed" not in text
    fatal_report = command == "validate" and fault in ("missing_table", "missing_column")
    fatal_report = fatal_report or (command == "validate" and fault == "wrong_table")
    if fatal_report:
        assert code == 1  # validate reports fatal problems; it does not refuse
        assert body["status"] == "fatal"
        for entry in body["ledger"]:  # every row read is accounted: none passes validation
            assert entry["rows_used"] == 0
            assert entry["rows_not_used"] == {"extract_refused": entry["rows_in_files"]} or (
                entry["rows_in_files"] == 0 and entry["rows_not_used"] == {}
            )
        return
    assert code == 2, text
    errors = [ln for ln in text.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, text
    assert REFUSALS[fault] in errors[0]
    assert TABLE in errors[0]
    if fault not in ("missing_table",):
        assert f"{TABLE}.csv" in errors[0]
    if fault in ("truncated_file", "undecodable_bytes"):
        last_line = data_lines(clean_extract / f"{TABLE}.csv") + 1
        assert f"line {last_line} " in errors[0]
    assert body["exit_code"] == 2
    assert body["status"] == "refused"
    assert body["error"] == errors[0].removeprefix("error: ")
    assert isinstance(body["ledger"], list)
    for entry in body["ledger"]:  # the tables counted before the refusal: their exact rows
        assert entry["rows_in_files"] == data_lines(damaged[fault] / f"{entry['table']}.csv")
        # ... each balanced: none used, every one counted as refused
        assert entry["rows_used"] == 0
        if entry["rows_in_files"]:
            assert entry["rows_not_used"] == {"extract_refused": entry["rows_in_files"]}
    assert not (tmp_path / "out.csv").exists()


def test_allow_fatal_goes_on_and_is_recorded(damaged: dict[str, Path], tmp_path: Path) -> None:
    code, text, body = run("derive", damaged["missing_table"], tmp_path, "--allow-fatal")
    assert code == 0, text
    assert body["allow_fatal"] is True
    assert body["fatal_problems_overridden"][0].startswith("Required table IDS201CareContact")
    prov = json.loads((tmp_path / "out.csv.provenance.json").read_text())
    assert prov["fatal_problems_overridden"] == body["fatal_problems_overridden"]
    assert prov["ledger"] == body["ledger"]


@pytest.mark.parametrize("command", ["derive", "measures"])
def test_ledger_of_injected_row_faults_is_exact(
    faulty_extract: Path, command: str, tmp_path: Path
) -> None:
    code, text, body = run(command, faulty_extract, tmp_path)
    assert code == 0, text
    assert "Traceback" not in text
    synth = json.loads((faulty_extract / "_synth.json").read_text())
    ledger = {e["table"]: e for e in body["ledger"]}
    assert set(ledger) == set(synth["row_counts"])
    for name, entry in ledger.items():
        assert entry["rows_in_files"] == data_lines(faulty_extract / f"{name}.csv")
        assert entry["rows_in_files"] == synth["row_counts"][name]
        assert entry["rows_used"] >= 0
        assert entry["rows_used"] + sum(entry["rows_not_used"].values()) == entry["rows_in_files"]
    contacts = ledger[TABLE]["rows_not_used"]
    faults = synth["faults"]
    assert contacts["no_referral_as_at"] == faults["orphan_pathway"][f"{TABLE}.PathwayID"]
    dups = faults["duplicate_key"][f"{TABLE}.CareContactId"]
    assert contacts["duplicate_across_submissions"] == dups
    employment = ledger["IDS004EmpStatus"]
    if command == "derive":  # no derived field reads IDS004
        assert employment["rows_not_used"] == {"not_needed_by_command": employment["rows_in_files"]}
    else:  # measures computes every family by default: family 8 reads IDS004
        assert "not_needed_by_command" not in employment["rows_not_used"]
        assert employment["rows_used"] > 0
    # one referral state per pathway: the derived rows are the IDS101 rows used
    if command == "derive":
        derived = data_lines(tmp_path / "out.csv")
        assert ledger["IDS101Referral"]["rows_used"] == derived == body["pathways"]


def test_json_to_stdout(clean_extract: Path, tmp_path: Path) -> None:
    args = ["derive", "--as-at", "2024-03-31", str(clean_extract), "-o", str(tmp_path / "d.csv")]
    result = CliRunner().invoke(app, [*args, "--json", "-"])
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["command"] == "derive"
    assert body["status"] == "ok"
    assert next(e["table"] for e in body["ledger"]) == "IDS000Header"


# --- row faults (synth.row_faults.damage_rows): exact counts from the damaged lines ---------


def csv_rows(path: Path) -> list[dict[str, str]]:
    """The data records of a CSV file as text, quotes removed (independent of iaptkit)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def row_damaged(
    clean_extract: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, RowDamage]]:
    """One copy of the clean extract per row fault, with what was damaged."""
    out: dict[str, tuple[Path, RowDamage]] = {}
    for fault in ROW_FAULTS:
        folder = tmp_path_factory.mktemp(fault)
        shutil.copytree(clean_extract, folder, dirs_exist_ok=True)
        out[fault] = (folder, damage_rows(folder, fault, every=5))
    return out


@pytest.fixture(scope="session")
def clean_ledgers(clean_extract: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The clean extract's ledger per command: every table a row fault does not touch."""
    out: dict[str, Any] = {}
    for command in ("validate", "derive"):
        tmp = tmp_path_factory.mktemp(f"clean-{command}")
        code, text, body = run(command, clean_extract, tmp)
        assert code == 0, text
        out[command] = {e["table"]: e for e in body["ledger"]}
    return out


def expected_not_used(fault: str, folder: Path, damage: RowDamage) -> dict[str, dict[str, int]]:
    """Table -> reason -> rows, from the damaged lines and the files alone.

    In the clean extract every activity row and every IDS101 state up to the date is counted,
    so each damaged row moves from used to exactly one reason.
    """
    n = len(damage.lines)
    if fault == "score_not_integer":
        return {damage.table: {"score_not_integer": n}}
    if fault == "blank_pathway_id":
        return {damage.table: {"missing_pathway_id": n}}
    if fault == "contact_before_referral":
        return {damage.table: {"contact_before_referral": n}}
    if fault == "empty_contact_date":
        return {damage.table: {"contact_undated": n}}
    if fault == "unparseable_month_id":  # validate and derive alike: no command uses the row
        return {damage.table: {"invalid_month_id": n}}
    if fault == "future_contact_date":  # after the as-at date (validate: a rule, row used)
        return {damage.table: {"contact_after_as_at": n}}
    if fault == "empty_referral_date":
        lost = set(damage.pathways)
        contacts = sum(r["PathwayID"] in lost for r in csv_rows(folder / f"{TABLE}.csv"))
        assert contacts > 0
        return {TABLE: {"no_referral_date": contacts}}
    return {}  # imd_out_of_range: the person is used, the decile read as Unknown


#: fault -> (validation rule, Table.Column) it must report with one row per damaged line.
ROW_RULES: dict[str, tuple[str, str]] = {
    "score_not_integer": ("score_not_integer", "IDS607CodedScoreAssessmentAct.PersScore"),
    "blank_pathway_id": ("missing_pathway_id", f"{TABLE}.PathwayID"),
    "contact_before_referral": ("contact_before_referral", f"{TABLE}.CareContDate"),
    "empty_referral_date": (
        "missing_referral_date",
        "IDS101Referral.ReferralRequestReceivedDate",
    ),
    "empty_contact_date": ("missing_contact_date", f"{TABLE}.CareContDate"),
    "imd_out_of_range": ("imd_out_of_range", "IDS001MPI.IndicesOfDeprivationDecile"),
    "unparseable_month_id": ("unparseable_int", f"{TABLE}.Unique_MonthID"),
    "future_contact_date": ("contact_after_submission_month", f"{TABLE}.CareContDate"),
}


@pytest.mark.slow
@pytest.mark.parametrize("command", ["validate", "derive"])
@pytest.mark.parametrize("fault", ROW_FAULTS)
def test_row_fault_ledger_is_exact(
    row_damaged: dict[str, tuple[Path, RowDamage]],
    clean_ledgers: dict[str, Any],
    fault: str,
    command: str,
    tmp_path: Path,
) -> None:
    folder, damage = row_damaged[fault]
    assert len(damage.lines) > 0
    code, text, body = run(command, folder, tmp_path)
    assert code == 0, text
    assert "Traceback" not in text
    ledger = {e["table"]: e for e in body["ledger"]}
    expected = expected_not_used(fault, folder, damage)
    if command == "validate" and fault == "future_contact_date":
        expected = {}  # validation reports the dates; its ledger has no as-at date
    if command == "validate" and fault == "empty_referral_date":
        # validation also counts the IDS101 rows themselves (they fail a rule)
        expected["IDS101Referral"] = {"missing_referral_date": len(damage.lines)}
    for name, entry in ledger.items():
        clean = clean_ledgers[command][name]
        assert (
            entry["rows_in_files"] == data_lines(folder / f"{name}.csv") == clean["rows_in_files"]
        )
        assert entry["rows_used"] + sum(entry["rows_not_used"].values()) == entry["rows_in_files"]
        added = expected.get(name, {})
        want = dict(clean["rows_not_used"])
        for reason, rows in added.items():
            want[reason] = want.get(reason, 0) + rows
        assert entry["rows_not_used"] == want, name
        assert entry["rows_used"] == clean["rows_used"] - sum(added.values()), name
    if command == "validate":
        rule, where = ROW_RULES[fault]
        problems = [p for p in body["problems"] if p["rule"] == rule]
        assert [f"{p['table']}.{p['column']}" for p in problems] == [where]
        assert problems[0]["rows"] == len(damage.lines)
        assert problems[0]["examples"], "an example row is shown"
    if command == "derive" and fault == "empty_referral_date":
        # the pathways are still derived, with no referral date
        derived = csv_rows(tmp_path / "out.csv")
        lost = {r["PathwayID"]: r for r in derived if r["PathwayID"] in set(damage.pathways)}
        assert set(lost) == set(damage.pathways)
        assert all(not r["ReferralRequestReceivedDate"] for r in lost.values())


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["score_not_integer", "contact_before_referral"])
def test_row_fault_measures_ledger(
    row_damaged: dict[str, tuple[Path, RowDamage]], fault: str, tmp_path: Path
) -> None:
    folder, damage = row_damaged[fault]
    code, text, body = run("measures", folder, tmp_path)
    assert code == 0, text
    ledger = {e["table"]: e for e in body["ledger"]}
    for name, reasons in expected_not_used(fault, folder, damage).items():
        for reason, rows in reasons.items():
            assert ledger[name]["rows_not_used"][reason] == rows


@pytest.mark.parametrize("command", ["derive", "measures"])
def test_a_required_table_with_no_rows_is_warned_of(
    clean_extract: Path, tmp_path: Path, command: str
) -> None:
    """A header-only IDS201 is read (nobody has contacts) and said, in the terminal and JSON."""
    folder = tmp_path / "extract"
    shutil.copytree(clean_extract, folder)
    path = folder / f"{TABLE}.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    code, text, body = run(command, folder, tmp_path)
    assert code == 0, text
    assert "Traceback" not in text
    assert [w.split(":")[0] for w in body["warnings"]] == [f"{TABLE} has no rows"]
    assert f"warning: {TABLE} has no rows" in " ".join(text.split())
    entry = next(e for e in body["ledger"] if e["table"] == TABLE)
    assert (entry["rows_in_files"], entry["rows_used"], entry["rows_not_used"]) == (0, 0, {})
