"""Joint protection: a cell one output suppresses and another shows is hidden in both."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from iaptkit.release.cellkeys import CellKey, CellRecord, OutputCells
from iaptkit.release.jointaudit import protect_jointly
from iaptkit.release.relations import joint_system

KEY = CellKey("f", "1", "finished_treatment", "2023-04-01", "2024-03-31")
A, B = (replace(KEY, breakdown=(("provider", p),)) for p in "AB")


def outputs() -> list[OutputCells]:
    # out1 suppresses A (a secondary, 40) beside a published B; out2 shows A and England
    out1 = OutputCells("out1", "o1.csv", (
        CellRecord(A, "count", 0, True, 0, np.inf, true_value=40),
        CellRecord(B, "count", 1, False, 60, 60, true_value=60),
    ))  # fmt: skip
    out2 = OutputCells("out2", "o2.csv", (
        CellRecord(A, "count", 0, False, 40, 40, true_value=40),
        CellRecord(KEY, "count", 1, False, 100, 100, true_value=100),
    ))  # fmt: skip
    return [out1, out2]


def test_a_cell_shown_in_one_output_and_hidden_in_another_is_hidden_in_both() -> None:
    system = joint_system(outputs())
    a = system.keys.index(A)
    result = protect_jointly(system)
    assert a in result.added
    assert result.passed
    # audit only (no protection): out2 gives away what out1 suppresses, named as at risk
    audit = protect_jointly(joint_system(outputs()), protect=False)
    assert audit.added == ()
    assert not audit.passed
    assert [(f.cell, f.lower, f.upper) for f in audit.failures] == [(a, 40.0, 40.0)]
    assert set(audit.failures[0].outputs) == {"out1", "out2"}
