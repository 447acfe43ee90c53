"""`iaptkit release build` and `iaptkit release verify` end to end with real protected tables."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from iaptkit.cli.app import app
from iaptkit.release import Release
from iaptkit.sdc import protect

runner = CliRunner()

# distinctive counts: the suppressed ones and the unrounded margins must never leave
COUNTS = pd.DataFrame(
    [
        ("R1A", "recovered", 4), ("R1A", "not_recovered", 35271),
        ("R2B", "recovered", 41893), ("R2B", "not_recovered", 52617),
        ("R3C", "recovered", 38462), ("R3C", "not_recovered", 29354),
    ],
    columns=["provider", "outcome", "n"],
)  # fmt: skip


def _make_release(root: Path) -> tuple[Release, set[str]]:
    pt = protect(COUNTS, ["provider", "outcome"], "n", policy="nhs-sde", name="recovery",
                 population="finished treatment")  # fmt: skip
    cells = pt.cells
    hidden = cells["status"].isin(["primary", "secondary"])
    rounded = cells["display"].astype(str) != cells["value"].astype(str)
    secrets = {str(v) for v in cells.loc[hidden | rounded, "value"] if int(v) >= 100}
    rel = Release.open_or_create(root / "rel", title="Recovery by provider", analyst="Ana",
                                 extract_fingerprint="abc123")  # fmt: skip
    rel.add_table(
        pt,
        description="Recovery by provider",
        denominators=["finished_treatment"],
        made_by="notebooks/02_outcomes_report.ipynb",
        parameters={"year": 2024},
    )
    rel.add_text("Unchecked claim", name="claim")  # review without exception: stays
    return rel, secrets


def test_build_then_verify_then_tamper(tmp_path: Path) -> None:
    rel, secrets = _make_release(tmp_path)
    assert secrets, "the table must have suppressed or rounded cells to test leaks"
    key = tmp_path / "home" / "release-key.pem"
    made = runner.invoke(app, ["release", "keygen", "--key", str(key)])
    assert made.exit_code == 0, made.output
    export = tmp_path / "export"
    result = runner.invoke(
        app, ["release", "build", str(rel.path), "-o", str(export), "--key", str(key)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in export.iterdir()) == [
        "cellkeys.json", "checksums", "manifest.json", "recovery.csv", "report.html",
        "results.json", "seal.json",
    ]  # fmt: skip
    assert not list(export.rglob("*.pem")), "the private key must never be in the export"
    for path in (p for p in export.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for secret in secrets:
            pattern = rb"(?<![0-9A-Za-z])" + secret.encode() + rb"(?![0-9A-Za-z])"
            assert re.search(pattern, data) is None, f"{secret} leaked in {path.name}"
    manifest = json.loads((export / "manifest.json").read_text())
    assert manifest["extract_fingerprint"] == "abc123"
    assert manifest["outputs"][0]["policy_id"] == "nhs-sde"

    ok = runner.invoke(app, ["release", "verify", str(export)])
    assert ok.exit_code == 0, ok.output
    assert "signed by key" in ok.output

    (export / "recovery.csv").write_text("provider,outcome,value\nR1A,recovered,4\n")
    bad = runner.invoke(app, ["release", "verify", str(export)])
    assert bad.exit_code == 1
    assert "recovery.csv: changed after build" in bad.output
    assert "FAILED verification" in bad.output


def test_build_without_a_key_is_unsigned_and_verify_needs_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IAPTKIT_KEY", str(tmp_path / "no-such-key.pem"))
    rel, _ = _make_release(tmp_path)
    export = tmp_path / "export"
    result = runner.invoke(app, ["release", "build", str(rel.path), "-o", str(export)])
    assert result.exit_code == 0, result.output
    assert "UNSIGNED" in result.output
    refused = runner.invoke(app, ["release", "verify", str(export)])
    assert refused.exit_code == 1
    assert "not signed" in refused.output
    allowed = runner.invoke(app, ["release", "verify", str(export), "--allow-unsigned"])
    assert allowed.exit_code == 0, allowed.output
    assert "UNSIGNED" in allowed.output


def test_build_refuses_existing_export_without_traceback(tmp_path: Path) -> None:
    rel, _ = _make_release(tmp_path)
    export = tmp_path / "export"
    export.mkdir()
    (export / "old.txt").write_text("x")
    result = runner.invoke(app, ["release", "build", str(rel.path), "-o", str(export)])
    assert result.exit_code == 1
    assert "not empty" in result.output
    assert "Traceback" not in result.output
    assert (export / "old.txt").read_text() == "x"


def test_build_of_missing_release_is_a_user_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["release", "build", str(tmp_path / "none"), "-o", str(tmp_path / "e")]
    )
    assert result.exit_code == 1
    assert "release.json" in result.output
    assert not (tmp_path / "e").exists()
