"""The output checkers' own tools on a real export: ACRO 1.0.2 (``acro.record.load_records``) and
the SACRO viewer 0.2.1 (driven headless through Django's test client), each from its own virtual
environment made by ``make peers`` (.venv-acro, .venv-sacro in the repository root).

The peers run once per session. Without their environments these tests fail under CI (CI=true)
and skip elsewhere, saying how to make them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from release_export import Built, make_export
from typer.testing import CliRunner

from iaptkit.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
ACRO_PY = ROOT / ".venv-acro" / "bin" / "python"
SACRO_PY = ROOT / ".venv-sacro" / "bin" / "python"
TIMEOUT = 180

ACRO_SCRIPT = """
import json, sys
import pandas as pd
import acro
from acro.record import load_records
records = load_records(sys.argv[1])
out = {"acro_version": acro.__version__ if hasattr(acro, "__version__") else None, "records": {}}
for uid, rec in records.results.items():
    out["records"][uid] = {
        "status": rec.status, "type": rec.output_type,
        "outputs": [o if isinstance(o, str) else "DataFrame" for o in rec.output],
        "threshold_cells": rec.sdc.get("cells", {}).get("threshold", []),
        "exception": rec.exception,
    }
print(json.dumps(out))
"""

SACRO_SCRIPT = """
import json, os, sys, urllib.parse
from pathlib import Path
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sacro.settings")
import django
django.setup()
from django.test import Client
from sacro import models
export, decisions = Path(sys.argv[1]), json.loads(sys.argv[2])
client = Client()
load = client.get("/load/", {"dirpath": str(export), "role": "checker"})
page = client.get(load["Location"])
outputs = models.load_from_path(export / "results.json")
files = {
    uid: [
        {"name": f["name"], "checksum_valid": f["checksum_valid"],
         "cells": sorted(f.get("cell_index", {}))}
        for f in meta["files"]
    ]
    for uid, meta in outputs.items()
}
contents = client.get(
    "/contents/", {"path": str(outputs.path), "output": "recovery", "filename": "recovery.csv"}
)
review = {uid: {"state": state, "reason": "checked"} for uid, state in decisions.items()}
posted = client.post(
    "/review/?" + urllib.parse.urlencode({"path": str(outputs.path)}),
    {"comment": "Checked against the policy", "review": json.dumps(review)},
)
print(json.dumps({
    "load": load.status_code, "page": page.status_code, "page_text": page.content.decode()[:0],
    "version": outputs.version, "files": files, "contents": contents.status_code,
    "review": posted.status_code,
}))
"""


def _need(python: Path, what: str) -> None:
    if python.is_file():
        return
    message = f"{what} not installed at {python.parent.parent}: run 'make peers'"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _run(python: Path, script: str, *args: str) -> Any:
    done = subprocess.run(
        [str(python), "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={**os.environ, "PYTHONPATH": "", "SACRO_APP_TOKEN": ""},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def peer_export(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return make_export(tmp_path_factory.mktemp("peers"))


@pytest.fixture(scope="session")
def acro_view(peer_export: Built) -> Any:
    _need(ACRO_PY, "ACRO 1.0.2")
    return _run(ACRO_PY, ACRO_SCRIPT, str(peer_export.export))


@pytest.fixture(scope="session")
def sacro_review(peer_export: Built, tmp_path_factory: pytest.TempPathFactory) -> Any:
    _need(SACRO_PY, "SACRO viewer 0.2.1")
    reviewed = tmp_path_factory.mktemp("reviewed") / "export"
    shutil.copytree(peer_export.export, reviewed)
    decisions = {"recovery": True, "waits_chart": True, "waits_chart__figure": False,
                 "finding": True}  # fmt: skip
    view = _run(SACRO_PY, SACRO_SCRIPT, str(reviewed), json.dumps(decisions))
    return view, reviewed


@pytest.mark.slow
def test_acro_loads_every_output_with_status_and_files(acro_view: Any, peer_export: Built) -> None:
    records = acro_view["records"]
    manifest = json.loads((peer_export.export / "manifest.json").read_text())
    statuses = {o["uid"]: o["status"] for o in manifest["outputs"]}
    assert statuses == {"recovery": "pass", "waits_chart": "review", "finding": "review"}
    assert set(records) == {"recovery", "waits_chart", "waits_chart__figure", "finding"}
    assert records["recovery"]["status"] == "pass"
    assert records["recovery"]["type"] == "table"
    assert records["recovery"]["outputs"] == ["DataFrame"]
    # the figure's image is its own record (ACRO keeps only the CSVs of a record with any)
    assert records["waits_chart"]["outputs"] == ["DataFrame"]
    assert records["waits_chart__figure"]["outputs"] == ["waits_chart.png"]
    assert records["waits_chart__figure"]["status"] == "review"
    assert records["waits_chart__figure"]["exception"] == "Bars match the protected table."
    assert records["finding"]["outputs"] == ["finding.txt"]


@pytest.mark.slow
def test_acro_threshold_cells_are_the_suppressed_cells(acro_view: Any, peer_export: Built) -> None:
    # independently of iaptkit: the CSV read as ACRO does, its first column the index
    table = pd.read_csv(peer_export.export / "recovery.csv", index_col=0, dtype=str)
    stars = [[r, c] for r in range(table.shape[0]) for c in range(table.shape[1])
             if table.iat[r, c] == "*"]  # fmt: skip
    assert len(stars) >= 2
    assert acro_view["records"]["recovery"]["threshold_cells"] == stars
    assert all(table.columns[c] == "value" for _, c in stars)


@pytest.mark.slow
def test_sacro_viewer_opens_checksums_valid_and_highlights_value_cells(
    sacro_review: Any, peer_export: Built
) -> None:
    view, _ = sacro_review
    assert (view["load"], view["page"], view["contents"]) == (302, 200, 200)
    for uid, files in view["files"].items():
        for f in files:
            assert f["checksum_valid"] is True, (uid, f["name"])
    table = pd.read_csv(peer_export.export / "recovery.csv", index_col=0, dtype=str)
    (recovery,) = view["files"]["recovery"]
    highlighted = [tuple(map(int, key.split(","))) for key in recovery["cells"]]
    assert highlighted
    assert all(table.iat[r, c] == "*" for r, c in highlighted)
    assert sorted(highlighted) == sorted(
        (r, c)
        for r in range(table.shape[0])
        for c in range(table.shape[1])
        if table.iat[r, c] == "*"
    )


@pytest.mark.slow
def test_verify_after_viewer_review_lists_decisions_not_tampering(sacro_review: Any) -> None:
    view, reviewed = sacro_review
    assert view["review"] == 302
    results = json.loads((reviewed / "results.json").read_text())
    assert {"reviewer_summary", "review_timestamp", "reviewer"} <= set(results)
    result = CliRunner().invoke(app, ["release", "verify", str(reviewed)])
    assert result.exit_code == 0, result.output
    assert "reviewed by" in result.output
    assert "reviewer decision: recovery approved (recorded pass)" in result.output
    assert "reviewer decision: waits_chart__figure rejected (recorded review)" in result.output
    # a tampered status after the review still fails
    results["results"]["recovery"]["status"] = "review"
    (reviewed / "results.json").write_text(json.dumps(results, indent=2))
    again = CliRunner().invoke(app, ["release", "verify", str(reviewed)])
    assert again.exit_code == 1
    assert "results.json: changed after build beyond a reviewer's fields" in again.output
