"""Synthetic extracts end to end: the CLI writes them, the loader reads them, validation finds
exactly the injected faults, and iaptkit's own derivation agrees with the generator's
NHS-derived fields (computed independently from its simulated truth)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from iaptkit.cli.app import app
from iaptkit.data import load_extract
from iaptkit.definitions import load_definitions
from iaptkit.measures.derive import derive_pathways
from iaptkit.measures.published import published_measures
from iaptkit.synth.generate import write_synthetic

runner = CliRunner()
FIELDS = (
    "Assessment_FirstDate", "TherapySession_FirstDate", "TherapySession_SecondDate",
    "TherapySession_LastDate", "TreatmentCareContact_Count", "CompletedTreatment_Flag",
    "PHQ9_FirstScore", "PHQ9_LastScore", "GAD_FirstScore", "GAD_LastScore", "ADSM",
    "ADSM_FirstScore", "ADSM_LastScore", "NotCaseness_Flag", "Recovery_Flag",
    "ReliableImprovement_Flag", "NoChange_Flag", "ReliableDeterioration_Flag",
)  # fmt: skip


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth_clean") / "x"
    write_synthetic(out, pathways=2000, months=6, providers=4, seed=21, with_nhs_fields=True)
    return out


def _norm(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal)):
        return Decimal(value).normalize()
    if isinstance(value, float):  # scores are Float64 in the pathway table: 2 decimals at most
        return Decimal(repr(round(value, 4))).normalize()
    if isinstance(value, str):
        try:
            return Decimal(value).normalize()
        except ArithmeticError:
            return value
    return value


def test_cli_writes_an_extract(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    result = runner.invoke(
        app, ["synth", str(out), "--pathways", "300", "--months", "2", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "_synth.json").read_text())
    assert meta["parameters"]["pathways"] == 300
    assert meta["row_counts"]["IDS101Referral"] > 300
    assert (out / "IDS607CodedScoreAssessmentAct.csv").exists()


def test_cli_bad_option_is_a_user_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["synth", str(tmp_path / "x"), "--start", "April"])
    assert result.exit_code == 1
    assert "YYYY-MM" in result.output
    assert "Traceback" not in result.output


def test_clean_extract_validates_without_errors(clean: Path) -> None:
    extract = load_extract(clean)
    try:
        report = extract.validate(definitions=load_definitions())
        reasons = set(extract.exclusions().reason)
    finally:
        extract.close()
    assert report.ok, [(p.rule, p.table, p.column, p.rows) for p in report.problems]
    assert reasons <= {"superseded_submission"}


def test_validation_finds_exactly_the_injected_faults(tmp_path: Path) -> None:
    write_synthetic(tmp_path, pathways=1200, months=4, providers=3, seed=5, faults=0.02)
    recorded = json.loads((tmp_path / "_synth.json").read_text())["faults"]
    assert len(recorded) == 7
    extract = load_extract(tmp_path)
    try:
        report = extract.validate(definitions=load_definitions())
    finally:
        extract.close()
    counts = report.counts()
    for rule, columns in recorded.items():
        assert counts.get(rule) == columns, rule
    assert {p.rule for p in report.problems if p.severity in ("error", "fatal")} == set(recorded)


@pytest.mark.parametrize("as_at", [date(2023, 7, 31), date(2023, 9, 30)])
def test_derived_fields_agree_with_the_nhs_fields(clean: Path, as_at: date) -> None:
    extract = load_extract(clean)
    try:
        derived = derive_pathways(extract, as_at, load_definitions())
        nhs = extract.referrals_as_at(as_at).execute()
    finally:
        extract.close()
    both = derived.merge(nhs, on="PathwayID", suffixes=("", "_nhs"))
    assert len(both) == len(derived) == len(nhs) > 500
    assert both.CompletedTreatment_Flag.sum() > 50
    for field in FIELDS:
        ours = [_norm(v) for v in both[field].astype(object)]
        theirs = [_norm(v) for v in both[f"{field}_nhs"].astype(object)]
        differ = [(p, a, b) for p, a, b in zip(both.PathwayID, ours, theirs, strict=True) if a != b]
        assert not differ, (field, differ[:3])


def test_published_measures_agree_with_nhs_flags(clean: Path) -> None:
    extract = load_extract(clean)
    try:
        ours = published_measures(extract, date(2023, 4, 1), date(2023, 9, 30))
        theirs = published_measures(
            extract, date(2023, 4, 1), date(2023, 9, 30), use_nhs_flags=True
        )
    finally:
        extract.close()
    key = ["breakdown", "group", "measure"]
    merged = ours.merge(theirs, on=key, suffixes=("", "_nhs"))
    assert len(merged) == len(ours) > 10
    assert (merged.value.fillna(-1) == merged.value_nhs.fillna(-1)).all()
    assert merged.set_index("measure").loc["recovered", "value"] > 0
