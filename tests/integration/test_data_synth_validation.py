"""Validation finds exactly the faults the synthetic generator injected (``_synth.json``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iaptkit.data import load_extract
from iaptkit.data.validation import validate
from iaptkit.synth.generate import write_synthetic

SEVERE = ("fatal", "error", "warning")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_validation_counts_equal_injected_faults(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / fmt
    write_synthetic(out, pathways=1500, months=4, providers=3, seed=11, fmt=fmt, faults=0.05)
    injected = json.loads((out / "_synth.json").read_text())["faults"]
    assert injected, "the generator injected no faults"
    with load_extract(out) as ex:
        report = validate(ex)
    severe = {
        rule: where
        for rule, where in report.counts().items()
        if any(p.rule == rule and p.severity in SEVERE for p in report.problems)
    }
    assert severe == injected
    assert not report.fatal


def test_fault_free_synthetic_extract_has_no_errors(tmp_path: Path) -> None:
    write_synthetic(tmp_path, pathways=1500, months=4, providers=3, seed=12, with_nhs_fields=True)
    with load_extract(tmp_path) as ex:
        report = validate(ex)
    assert [p for p in report.problems if p.severity != "info"] == []
