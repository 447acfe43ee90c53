"""The ledger sheet of a notebook run: in the notebook, every output's provenance, the report.

Notebook 01 is run (papermill, through iaptkit's runner) on a small CSV extract; the rows in
the files are counted here from the files themselves.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from iaptkit.notebooks.runner import run_grid
from iaptkit.release import Release
from iaptkit.release.report import render_report
from iaptkit.synth.generate import write_synthetic

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"


def test_notebook_outputs_carry_the_ledger_and_the_report_shows_it(tmp_path: Path) -> None:
    extract = tmp_path / "extract"
    write_synthetic(extract, pathways=300, start="2023-04", months=6, providers=2, seed=5,
                    fmt="csv")  # fmt: skip
    release = tmp_path / "release"
    params = {"extract": str(extract), "start": "2023-04-01", "end": "2023-09-30",
              "output_dir": str(release)}  # fmt: skip
    summary = run_grid(NOTEBOOKS / "01_data_quality.ipynb", [params], tmp_path / "runs")
    assert [r.status for r in summary.results] == ["ok"], [r.error for r in summary.results]
    lines = {p.stem: len(p.read_bytes().splitlines()) - 1 for p in extract.glob("IDS*.csv")}
    rel = Release.open(release)
    assert rel.outputs
    for out in rel.outputs:
        ledger = {e["table"]: e for e in out.parameters["ledger"]}
        assert {t: e["rows_in_files"] for t, e in ledger.items()} == lines
        for e in ledger.values():
            assert e["rows_used"] + sum(e["rows_not_used"].values()) == e["rows_in_files"]
    # the notebook shows the sheet: its table names and counts are in the executed notebook
    executed = summary.results[0].output.read_text(encoding="utf-8")
    cells = json.loads(executed)["cells"]
    sheet = next(c for c in cells if "ctx.ledger()" in "".join(c["source"]))
    shown = json.dumps(sheet["outputs"])
    assert "IDS101Referral" in shown
    assert str(lines["IDS101Referral"]) in shown
    # the checker's report: every table with its rows in the files
    page = render_report(rel, mode="checker")
    for table, rows in lines.items():
        assert re.search(rf'<tr data-table="{table}"><th>{table}</th><td>{rows}</td>', page)
