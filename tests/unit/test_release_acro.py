"""results.json has ACRO's structure (AI-SDC/ACRO acro/record.py, Records.finalise_json)."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from release_tables import recovery_table

from iaptkit.release import Release, build

# Written out from ACRO's record.py (not imported from iaptkit), so the test is independent.
ACRO_RECORD_FIELDS = {
    "uid": str,
    "status": str,
    "type": str,
    "properties": dict,
    "files": list,
    "fair": dict,
    "outcome": dict,
    "command": str,
    "summary": str,
    "timestamp": str,
    "comments": list,
    "exception": str,
}
ACRO_SDC_CHECKS = {"negative", "missing", "threshold", "p-ratio", "nk-rule", "all-values-are-same"}


@pytest.fixture
def results(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    rel = Release.open_or_create(tmp_path / "rel", title="T")
    rel.add_table(
        recovery_table("outcomes"),
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
    # independently: the [row, column] of every "*" in the exported CSV (data rows from 0; the
    # first CSV column is the index for ACRO and the SACRO viewer, so columns count after it)
    with (export / entry["name"]).open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    stars = [[r, c - 1] for r, row in enumerate(rows) for c, v in enumerate(row) if v == "*"]
    assert len(stars) >= 2
    assert all(c == header.index("value") - 1 for _, c in stars)
    assert sdc["cells"]["threshold"] == stars
    assert sdc["summary"]["threshold"] == len(stars)
    assert sdc["summary"]["suppressed"] is True
    first_star, first_shown = (
        stars[0][0],
        next(r for r, row in enumerate(rows) if row[header.index("value")] != "*"),
    )
    assert record["outcome"]["value"][str(first_star)] != "ok"
    assert record["outcome"]["value"][str(first_shown)] == "ok"


def test_custom_output_with_exception(results: tuple[dict[str, Any], Path]) -> None:
    data, _ = results
    note = data["results"]["note"]
    assert note["type"] == "custom"
    assert note["status"] == "review"
    assert note["exception"] == "No numbers."
    assert note["files"] == [{"name": "note.txt", "sdc": {}}]
