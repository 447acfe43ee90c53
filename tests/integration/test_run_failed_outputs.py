"""End to end: a notebook that fails half-way through `iaptkit run`; its outputs never leave."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from rich.console import Console
from typer.testing import CliRunner

from iaptkit.cli.app import app
from iaptkit.cli.run import print_summary
from iaptkit.notebooks.runner import RunResult, RunSummary
from iaptkit.release import Release

PARAMS = 'release = ""\nquarter = "Q1"\nfail = False'
BODY = """
from iaptkit.release import Release
rel = Release.open_or_create(release, title="Runs")
made = dict(made_by="half_way.ipynb", parameters={"quarter": quarter, "fail": fail})
rel.start_run(**made)
rel.add_text(f"{quarter} words", name=f"note_{quarter}", exception="Words only.", **made)
"""
FAIL = 'if fail:\n    raise RuntimeError(f"deliberate failure in {quarter}")'


def _notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(BODY),
        nbformat.v4.new_code_cell(FAIL),
        nbformat.v4.new_code_cell("rel.finish_run()"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / "half_way.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_failed_run_outputs_are_marked_and_never_exported(tmp_path: Path) -> None:
    notebook = _notebook(tmp_path)
    release = tmp_path / "rel"
    grid = tmp_path / "grid.yaml"
    grid.write_text("- {quarter: Q1}\n- {quarter: Q2, fail: true}\n", encoding="utf-8")
    runner = CliRunner()
    run = runner.invoke(
        app,
        ["run", str(notebook), "--grid", str(grid), "-p", f"release={release}",
         "-o", str(tmp_path / "runs"), "--workers", "2"],
    )  # fmt: skip
    text = " ".join(run.output.split())
    assert run.exit_code == 1, run.output
    assert "1 of 2 runs failed" in text
    assert "deliberate failure in Q2" in text
    assert "never exported" in text
    rel = Release.open(release)
    statuses = {o.uid: o.status for o in rel.outputs}
    assert statuses == {"note_q1": "review", "note_q2": "fail"}
    assert rel.output("note_q2").reasons[-1].startswith("run not finished")
    assert sorted(r["status"] for r in rel.runs) == ["finished", "running"]

    built = runner.invoke(app, ["release", "build", str(release), "-o", str(tmp_path / "export")])
    assert built.exit_code == 0, built.output
    assert "note_q2: fail -> NOT exported" in built.output
    names = sorted(p.name for p in (tmp_path / "export").iterdir())
    assert names == [
        "checksums", "manifest.json", "note_q1.txt", "report.html", "results.json", "seal.json"
    ]  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "export" / "checksums").iterdir()) == [
        "note_q1.txt.txt"
    ]
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text())
    assert [o["uid"] for o in manifest["outputs"]] == ["note_q1"]
    exported = [p for p in (tmp_path / "export").rglob("*") if p.is_file()]
    assert b"Q2 words" not in b"".join(p.read_bytes() for p in exported)


def test_run_summary_logs_kernel_start_retries(tmp_path: Path) -> None:
    result = RunResult(
        tmp_path / "nb.ipynb", {"quarter": "Q1"}, tmp_path / "nb__quarter-Q1.ipynb", "ok", 3.2,
        attempts=2, retries=("RuntimeError: Kernel died before replying to kernel_info",),
    )  # fmt: skip
    console = Console(record=True, width=200)
    print_summary(console, tmp_path / "nb.ipynb", RunSummary((result,)), tmp_path)
    text = console.export_text()
    assert "kernel start 1 failed, started again: RuntimeError: Kernel died" in text
    assert "kernel starts" in text
