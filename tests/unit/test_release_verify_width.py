"""``release verify`` checks the protection width where it can tell a cell is a primary.

An export has no true counts and no primary flags. A suppressed cell whose interval, from the
published values alone, holds only counts the policy suppresses (1 to threshold - 1, and 0
where zeros are suppressed) is a primary whatever it is, so it needs the policy's width; any
other suppressed cell must only not be exact.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np

from iaptkit.release.cellkeys import CellKey, CellRecord, OutputCells
from iaptkit.release.jointaudit import protect_jointly
from iaptkit.release.relations import joint_system

KEY = CellKey("f", "1", "finished_treatment", "2024-04-01", "2025-03-31")


def _exported(england: int, c_shown: int, *, zeros: bool) -> list[OutputCells]:
    """England and three providers as an export holds them: A and B suppressed."""
    policy = {"threshold": 10, "protection_width": 10.0, "zeros_suppressed": zeros}
    eng = CellRecord(KEY, "count", 0, False, england, england, shown=str(england), **policy)
    prov = []
    for row, (p, shown) in enumerate((("A", None), ("B", None), ("C", c_shown))):
        key = replace(KEY, breakdown=(("provider", p),))
        if shown is None:
            rec = CellRecord(key, "count", row, True, 0.0, np.inf, shown="*", **policy)
        else:
            rec = CellRecord(key, "count", row, False, shown, shown, shown=str(shown), **policy)
        prov.append(rec)
    outputs = [OutputCells("eng", "e.csv", (eng,)), OutputCells("prov", "p.csv", tuple(prov))]
    # as verify reads them: the export's JSON, without internal fields
    return [OutputCells.from_json(json.loads(json.dumps(o.to_json(internal=False))))
            for o in outputs]  # fmt: skip


def test_a_suppressed_pair_holding_five_fails_under_a_width_of_ten() -> None:
    # A + B = 25 - 20 = 5: each is 0..5, only counts the policy suppresses (zeros too)
    result = protect_jointly(joint_system(_exported(25, 20, zeros=True)), protect=False)
    assert not result.passed
    assert sorted((f.lower, f.upper, f.required) for f in result.failures) == [
        (0.0, 5.0, 10.0),
        (0.0, 5.0, 10.0),
    ]


def test_a_pair_that_may_hold_a_published_count_needs_only_not_to_be_exact() -> None:
    # A + B = 45 - 20 = 25: either may be 10 or more (a secondary), so width 1 is what is known
    result = protect_jointly(joint_system(_exported(45, 20, zeros=True)), protect=False)
    assert result.passed


def test_where_zeros_are_shown_a_zero_may_be_a_secondary() -> None:
    # A + B = 5 with zeros shown: A may be a suppressed 0 (a secondary), so 0..5 is allowed
    result = protect_jointly(joint_system(_exported(25, 20, zeros=False)), protect=False)
    assert result.passed
