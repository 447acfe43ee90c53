"""results.json has ACRO's structure (AI-SDC/ACRO acro/record.py, Records.finalise_json)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from release_fakes import DISTINCTIVE_ROWS, FakeProtectedTable, fake_table

from iaptkit.release import Release, build
from iaptkit.sdc.audit import AuditCertificate

# Written out from ACRO's record.py (not imported from iaptkit), so the test is independent.
ACRO_RECORD_FIELDS = {
    "uid": str,
    "status": str,
    "type": str,
    "properties": dict,
    "files": list,
    "outcome": dict,
    "command": str,
    "summary": str,
    "timestamp": str,
    "comments": list,
    "exception": str,
}
ACRO_SDC_CHECKS = {"negative", "missing", "threshold", "p-ratio", "nk-rule", "all-values-are-same"}


def _stand_in(tables: list[FakeProtectedTable]) -> AuditCertificate:
    return AuditCertificate((), True, 0, 0, 0.0, "stand-in", "test")


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], Path]:
    monkeypatch.setattr("iaptkit.sdc.audit_release", _stand_in)
    rel = Release.open_or_create(tmp_path / "rel", title="T")
    rel.add_table(
        fake_table("outcomes", ["provider", "outcome"], DISTINCTIVE_ROWS),
        description="Outcome by provider",
        made_by="nb.ipynb",
        parameters={"year": 2024},
    )
    rel.add_text("Words.", name="note", exception="No numbers.")
    build(rel.path, tmp_path / "export")
    data = json.loads((tmp_path / "export" / "results.json").read_text())
    return data, tmp_path / "export"


def test_top_level_and_record_fields(results: tuple[dict[str, Any], Path]) -> None:
    data, export = results
    assert {"version", "results"} <= set(data)
    assert isinstance(data["version"], str)
    assert set(data["results"]) == {"outcomes", "note"}
    for uid, record in data["results"].items():
        assert set(record) == set(ACRO_RECORD_FIELDS)
        for key, kind in ACRO_RECORD_FIELDS.items():
            assert isinstance(record[key], kind), (uid, key)
        assert record["uid"] == uid
        assert record["status"] in {"pass", "fail", "review"}
        datetime.fromisoformat(record["timestamp"])
        assert all(isinstance(c, str) for c in record["comments"])
        for entry in record["files"]:
            assert set(entry) == {"name", "sdc"}
            assert (export / entry["name"]).is_file()  # ACRO loads files beside results.json
        pd.DataFrame.from_dict(record["outcome"])  # ACRO's load_outcome


def test_table_sdc_points_at_the_suppressed_cells(results: tuple[dict[str, Any], Path]) -> None:
    data, export = results
    record = data["results"]["outcomes"]
    assert record["type"] == "table"
    assert record["properties"]["policy_id"] == "nhs-sde"
    assert record["exception"] == ""
    (entry,) = record["files"]
    sdc = entry["sdc"]
    assert set(sdc["summary"]) == ACRO_SDC_CHECKS | {"suppressed"}
    assert set(sdc["cells"]) == ACRO_SDC_CHECKS
    # independently: pivot the exported CSV (rows provider, columns outcome) and find the stars
    long = pd.read_csv(export / entry["name"], dtype=str)
    wide = long.pivot(index="provider", columns="outcome", values="value")
    wide = wide.loc[["A", "B", "Total"], ["X", "Y", "Total"]]
    stars = [
        [r, c]
        for r in range(wide.shape[0])
        for c in range(wide.shape[1])
        if wide.iat[r, c] == "*"
    ]
    assert stars == [[0, 1], [1, 1], [2, 1]]
    assert sdc["cells"]["threshold"] == stars
    assert sdc["summary"]["threshold"] == 3
    assert sdc["summary"]["suppressed"] is True
    assert record["outcome"]["Y"]["A"] != "ok"
    assert record["outcome"]["X"]["A"] == "ok"


def test_custom_output_with_exception(results: tuple[dict[str, Any], Path]) -> None:
    data, _ = results
    note = data["results"]["note"]
    assert note["type"] == "custom"
    assert note["status"] == "review"
    assert note["exception"] == "No numbers."
    assert note["files"] == [{"name": "note.txt", "sdc": {}}]
