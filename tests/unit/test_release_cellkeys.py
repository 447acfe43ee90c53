"""Cell keys and the relations derived from them (release/cellkeys.py, release/relations.py)."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd

from iaptkit.release.cellkeys import (
    CellKey,
    CellRecord,
    KeyContext,
    OutputCells,
    count_box,
)
from iaptkit.release.cellrecords import records_from_measures
from iaptkit.release.jointaudit import protect_jointly
from iaptkit.release.relations import joint_system
from iaptkit.sdc import protect_measures

K = CellKey("fp", "1.0", "finished_treatment", "2024-04-01", "2025-03-31")


def _measures() -> pd.DataFrame:
    rows = [("england", "England", 123), ("provider", "A", 60), ("provider", "B", 63),
            ("provider x gender", "A | Female", 4),
            ("provider x gender", "A | Male", 56)]  # fmt: skip
    return pd.DataFrame([
        {"period_start": K.period_start, "period_end": K.period_end, "breakdown": b, "group": g,
         "measure": K.measure, "value": v, "kind": "count"} for b, g, v in rows
    ])  # fmt: skip


def test_measures_rows_are_keyed_by_what_they_count() -> None:
    pm = protect_measures(_measures(), "sdap")
    cells = records_from_measures(pm, KeyContext(fingerprint="fp", definitions_version="1.0"))
    keys = [r.key.breakdown for r in cells.records]
    a_f, a_m, a_o = (
        (("gender", g), ("provider", "A")) for g in ("Female", "Male", "Other or not known")
    )
    # the gender nobody of A is in is a row of its own (protect_measures adds it, a zero)
    assert keys == [(), (("provider", "A"),), (("provider", "B"),), a_f, a_m, a_o]
    assert cells.records[5].suppressed
    assert cells.records[5].true_value == 0
    assert all(r.key.measure == K.measure and r.key.fingerprint == "fp" for r in cells.records)
    assert [r.suppressed for r in cells.records][3] is True  # A | F = 4 < 10


def test_export_json_has_no_truth_and_no_box_ends() -> None:
    rec = CellRecord(K, "count", 0, False, 53.0, 57.0, shown="55", base=5, threshold=10,
                     primary=False, true_value=57.0)  # fmt: skip
    out = rec.to_json(internal=False)
    assert not {"true_value", "primary", "width", "lower", "upper"} & out.keys()
    assert "57" not in json.dumps(out)
    back = CellRecord.from_json(out)  # the box follows from the value shown
    assert (back.lower, back.upper, back.true_value) == (53.0, 57.0, None)
    assert CellRecord.from_json(rec.to_json(internal=True)).true_value == 57.0


def test_count_box_knows_the_threshold_and_zero() -> None:
    # independent: nearest 5, halves up: 53..57 print as 55; a shown count is 0 or >= 10
    assert count_box(55, 5, 10) == (53.0, 57.0)
    assert count_box(10, 5, 10) == (10.0, 12.0)
    assert count_box(0, 5, 10) == (0.0, 0.0)
    assert count_box(12, 1, 10) == (12.0, 12.0)


def _out(uid: str, *cells: tuple[CellKey, float, bool]) -> OutputCells:
    return OutputCells(uid, f"{uid}.csv", tuple(
        CellRecord(k, "count", i, hidden, 0.0 if hidden else v, math.inf if hidden else v,
                   true_value=v, primary=hidden and v < 10, width=10.0 if v < 10 else 1.0)
        for i, (k, v, hidden) in enumerate(cells)
    ))  # fmt: skip


def test_nested_periods_get_segments_and_differences() -> None:
    may = replace(K, period_start="2024-05-01")
    system = joint_system([_out("year", (K, 60, False)), _out("may", (may, 57, False))])
    latent = [system.keys[i] for i in range(system.n) if system.latent[i]]
    # segments: April alone, May-March
    assert sorted((k.period_start, k.period_end) for k in latent) == [
        ("2024-04-01", "2024-04-30"), ("2024-05-01", "2025-03-31")]  # fmt: skip
    assert len(system.equalities) == 2


def test_disjoint_periods_are_not_related() -> None:
    q1 = replace(K, period_start="2024-04-01", period_end="2024-06-30")
    q2 = replace(K, period_start="2024-07-01", period_end="2024-09-30")
    system = joint_system([_out("q1", (q1, 60, False)), _out("q2", (q2, 57, False))])
    assert system.n == 2
    assert system.equalities == []


def test_an_absent_category_is_a_known_zero_in_a_build_and_unknown_in_verify() -> None:
    """The rule for tables registered without their category list (docs, "Linked outputs").

    A reader takes a row a table does not have for 0. With true values (a build) a sum over a
    breakdown is taken wherever it holds on them, so a category a table leaves out under a
    parent it has rows for is a known zero: England X (a suppressed 0) = A,X + B,X with B's table
    lacking the X row pins nothing more than A,X does, and England F = A,F + B,F holds with no
    X rows at all. Without true values (verify, re-deriving from keys) an absent category is
    unknown: no sum unless every category is there (verify reads the build's sums from the
    export instead). A parent with no row at all under it (the empty sum) gets no sum.
    """
    x = replace(K, breakdown=(("gender", "X"),))
    f = replace(K, breakdown=(("gender", "F"),))
    af = replace(K, breakdown=(("gender", "F"), ("provider", "A")))
    bf = replace(K, breakdown=(("gender", "F"), ("provider", "B")))
    ax = replace(K, breakdown=(("gender", "X"), ("provider", "A")))
    england = _out("england", (f, 50, False), (x, 3, True))
    a = _out("provider_a", (af, 40, False), (ax, 3, True))
    b = _out("provider_b", (bf, 10, False))  # no X row: B's X is read as 0
    system = joint_system([england, a, b])
    ix = {system.keys[i]: i for i in range(system.n)}
    rows = [set(r) for r in system.equalities]
    assert {ix[f], ix[af], ix[bf]} in rows  # F = A,F + B,F
    assert {ix[x], ix[ax]} in rows  # X = A,X (+ B,X absent: a known zero)
    # both X cells suppressed and tied to each other only: each keeps [0, inf)
    assert protect_jointly(system, protect=False).failures == ()
    # without true values: A and B do not cover X's categories for B -> no X sum assumed
    blind = [
        replace(o, records=tuple(replace(r, true_value=None) for r in o.records))
        for o in (england, a, b)
    ]
    blind_rows = [set(r) for r in joint_system(blind).equalities]
    assert {ix[f], ix[af], ix[bf]} in blind_rows
    assert all(ix[x] not in r for r in blind_rows)
    # the empty sum: no provider has an X row at all -> X is not pinned to 0
    system = joint_system([_out("england", (f, 40, False), (x, 0, True)),
                           _out("provider_a", (af, 40, False))])  # fmt: skip
    assert all(len(row) > 1 for row in system.equalities)


def test_conflicting_truths_under_one_key_are_reported() -> None:
    system = joint_system([_out("a", (K, 60, False)), _out("b", (K, 61, False))])
    assert system.conflicts == [(K.label(), "a", "b")]


def test_joint_protection_suppresses_the_cheapest_linked_cell() -> None:
    a, b, c = (replace(K, breakdown=(("provider", p),)) for p in "ABC")
    eng = _out("england", (K, 123, False))
    prov = _out("providers", (a, 4, True), (b, 51, False), (c, 68, False))
    result = protect_jointly(joint_system([eng, prov]))
    assert result.passed
    assert result.value_mass == 51.0  # B (51) rather than C (68) or England (123)
    assert np.isclose(result.n_suppressed, 2)
