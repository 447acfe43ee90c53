"""The end-to-end demo (``python -m iaptkit.cli.demo``) on a small synthetic extract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from iaptkit.cli.app import app
from iaptkit.cli.demo import ensure_extract, main, run_demo
from iaptkit.release import Release, verify

pytestmark = pytest.mark.slow


def test_demo_end_to_end(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo", pathways=1500, providers_in_grid=1, workers=1)
    assert result.failed_runs == ()
    assert verify(result.export) == []
    assert result.checker_report.is_file()
    assert result.checker_report.is_relative_to(result.release)
    executed = sorted(p.name for p in result.runs.glob("*.ipynb"))
    assert len(executed) == 5  # four notebooks + one provider run of 02
    rel = Release.open(result.release)
    statuses = {o.uid: o.status for o in rel.outputs}
    assert "fail" not in statuses.values()
    # exported = every pass, plus reviews with an exception (figures); nothing else
    expected = sorted(
        o.uid for o in rel.outputs if o.status == "pass" or (o.status == "review" and o.exception)
    )
    assert sorted(result.exported) == expected
    manifest = json.loads((result.export / "manifest.json").read_text(encoding="utf-8"))
    assert manifest  # written and parseable
    assert (result.export / "results.json").is_file()
    assert not any("underlying" in p.name for p in result.export.rglob("*"))


def test_extract_reused_when_present(tmp_path: Path) -> None:
    console = Console(stderr=True, quiet=True)
    folder = tmp_path / "extract"
    ensure_extract(folder, pathways=300, console=console)
    stamp = (folder / "IDS101Referral.parquet").stat().st_mtime_ns
    ensure_extract(folder, pathways=300, console=console)
    assert (folder / "IDS101Referral.parquet").stat().st_mtime_ns == stamp
    ensure_extract(folder, pathways=400, console=console)  # a different size is regenerated
    meta = json.loads((folder / "_synth.json").read_text(encoding="utf-8"))
    assert meta["parameters"]["pathways"] == 400


def test_demo_refuses_foreign_release_folder(tmp_path: Path) -> None:
    (tmp_path / "demo" / "release").mkdir(parents=True)
    (tmp_path / "demo" / "release" / "keep.txt").write_text("not a release", encoding="utf-8")
    assert main(["--out", str(tmp_path / "demo"), "--pathways", "300"]) == 1
    assert (tmp_path / "demo" / "release" / "keep.txt").is_file()


def test_iaptkit_demo_command_reports_a_user_error(tmp_path: Path) -> None:
    """``iaptkit demo`` is the same demo; a user error is one message and exit code 1."""
    (tmp_path / "demo" / "release").mkdir(parents=True)
    (tmp_path / "demo" / "release" / "keep.txt").write_text("not a release", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--pathways", "300"])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "error:" in text
    assert "is not an iaptkit release (no release.json)" in text
    assert "Traceback" not in result.output
    assert (tmp_path / "demo" / "release" / "keep.txt").is_file()
