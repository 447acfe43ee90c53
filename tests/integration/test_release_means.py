"""A release of two measures outputs read together with their means and sums of sessions.

The measures of families 1 and 7 of one synthetic extract, by England and provider in one
output and by provider x age band in another (``nhs-sde``), registered and built with joint
protection. An attacker written apart from iaptkit (``tests/measures_sums_attacker.py``: course
counts, their sessions, the means of sessions, rounding boxes, providers adding up to England
and age bands to their provider), reading both exported files together, narrows no suppressed
course count below its width.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from measures_sums_attacker import narrowed

from iaptkit.data import load_extract
from iaptkit.measures import published_measures
from iaptkit.release import Release, build, verify
from iaptkit.sdc import load_policy, protect_measures
from iaptkit.synth.generate import write_synthetic

pytestmark = pytest.mark.slow

BY = {"overall": ["england", "provider"], "by_age": ["provider x age_band"]}


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    """An exported file's rows as (breakdown, group, measure, value)."""
    dims = [c for c in ("provider", "age_band") if c in frame.columns]
    group = frame[dims].apply(lambda r: " | ".join(v for v in r if v), axis=1)
    group = group.where(group != "", "England")
    return pd.DataFrame(
        {
            "breakdown": frame["breakdown"],
            "group": group,
            "measure": frame["measure"],
            "value": frame["value"],
        }
    )


def test_an_attacker_reading_both_outputs_narrows_no_course_count(tmp_path: Path) -> None:
    folder = tmp_path / "extract"
    write_synthetic(folder, pathways=1500, start="2023-04", months=12, providers=5, seed=3)
    ex = load_extract(folder)
    rel = Release.open_or_create(tmp_path / "rel")
    truths = []
    try:
        for name, by in BY.items():
            table = published_measures(
                ex, date(2023, 4, 1), date(2024, 3, 31), by=by, families=[1, 7]
            )
            pm = protect_measures(table, "nhs-sde")
            cells = pm.cells
            truths.append(cells[cells["measure"] == "finished_treatment"])
            out = rel.add_table(pm, name=name)
            assert out.status == "pass", out.reasons
    finally:
        ex.close()
    result = build(rel.path, tmp_path / "export")
    assert not result.excluded
    assert verify(tmp_path / "export", allow_unsigned=True) == []
    files = sorted((tmp_path / "export").glob("*.csv"))
    assert len(files) == 2
    export = pd.concat(
        [_rows(pd.read_csv(f, dtype=str, keep_default_na=False)) for f in files],
        ignore_index=True,
    )
    truth = pd.concat(truths)[["breakdown", "group", "true_value"]]
    pol = load_policy("nhs-sde")
    found = narrowed(export, truth, 5, pol.threshold, float(pol.protection_width))
    assert found == [], found
    # England's courses are published, rounded to the nearest 5
    eng = export[(export["breakdown"] == "england") & (export["measure"] == "finished_treatment")]
    true_eng = float(truth[truth["breakdown"] == "england"]["true_value"].iloc[0])
    assert int(eng["value"].iloc[0]) == 5 * int(true_eng / 5 + 0.5)
