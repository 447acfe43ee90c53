"""Notebook 02 for England and two providers into one release: built jointly, nothing lost.

The runs register their tables with cell keys (``ctx.add_table``) and every outcome category as
a row, so a provider run's table is a sub-population of the England run's and the build's joint
audit links them. The build must export every output, and the integer attacker of the docs
(:func:`iaptkit.release.jointaudit.joint_attack`), reading only the export (``cellkeys.json``:
published values, no true counts), must find no suppressed cell narrower than its width.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from iaptkit.notebooks.runner import run_grid
from iaptkit.release import Release, build, verify
from iaptkit.release.cellkeys import OutputCells
from iaptkit.release.jointaudit import joint_attack
from iaptkit.release.keyed import previous_cells
from iaptkit.release.relations import joint_system
from iaptkit.synth.generate import write_synthetic

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "02_outcomes_report.ipynb"
PROVIDERS = ("RAA", "RAB")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("nb02joint")
    extract = root / "extract"
    write_synthetic(extract, pathways=1000, providers=4, with_nhs_fields=True, seed=7)
    release = root / "release"
    base = {"extract": str(extract), "start": "2023-04-01", "end": "2024-03-31",
            "output_dir": str(release)}  # fmt: skip
    grid = [base, *({**base, "provider": p} for p in PROVIDERS)]
    summary = run_grid(NOTEBOOK, grid, root / "runs")
    result = build(release, root / "export")
    return {"root": root, "release": release, "summary": summary, "result": result}


def test_every_output_of_the_three_runs_is_exported(built: dict[str, object]) -> None:
    errors = [r.error for r in built["summary"].results if r.status != "ok"]  # type: ignore[attr-defined]
    assert errors == []
    uids = {o.uid for o in Release.open(built["release"]).outputs}  # type: ignore[arg-type]
    result = built["result"]
    assert dict(result.excluded) == {}  # type: ignore[attr-defined]
    assert set(result.exported) == uids  # type: ignore[attr-defined]
    # the England run and both provider runs, each with its recovery table
    for who in ("provider", "commissioner_raa", "commissioner_rab"):
        assert f"outcomes_recovery_by_{who}_20230401_20240331" in uids
    joint = json.loads((Path(built["release"]) / "release.json").read_text())["joint_audit"]  # type: ignore[arg-type]
    assert joint["passed"] is True
    assert joint["n_relations"] > 0


def test_the_attacker_of_the_export_narrows_no_suppressed_cell(built: dict[str, object]) -> None:
    """Every true relation between the cells, the values the export publishes: no cell narrowed.

    The attacker knows every sum that holds between the outputs' cells (the build's relations,
    from the true counts: providers to England, categories to totals, the provider runs' totals
    to England's rows) and reads each cell at the value the export shows (``cellkeys.json``,
    checked against the exported CSV files by ``verify``).
    """
    export = Path(built["root"]) / "export"  # type: ignore[arg-type]
    release = Path(built["release"])  # type: ignore[arg-type]
    published = {c.uid: c for c in previous_cells([export])}
    assert verify(export, allow_unsigned=True) == []
    inside = [
        OutputCells.from_json(json.loads((release / "internal" / f"{uid}.cellkeys.json").read_text()))
        for uid in sorted(u.split("/", 1)[1] for u in published)
    ]
    for cells in inside:  # the export shows what the audited copy shows
        out = published[f"export/{cells.uid}"]
        assert [(r.key, r.suppressed, r.shown) for r in out.records] == [
            (r.key, r.suppressed, r.shown) for r in cells.records
        ]
    system = joint_system(inside)
    provider_cells = [
        i for i in range(system.n) if dict(system.keys[i].breakdown).get("provider") in PROVIDERS
    ]
    shared = [i for i in provider_cells if len({*system.shown_in[i], *system.hidden_in[i]}) > 1]
    assert shared, "the provider runs' cells are not linked to the England run's"
    assert any(set(row) & set(shared) for row in system.equalities)
    suppressed = system.suppressed()
    hidden = suppressed & np.array([not s for s in system.shown_in], dtype=bool)
    assert not (suppressed & ~hidden).any()  # no cell shown in one output, hidden in another
    lo, hi = joint_attack(system, hidden, suppressed)
    checked = 0
    for i in np.flatnonzero(suppressed):
        if system.structural_zero[i]:
            continue
        true = system.truth[i]
        assert true is not None
        assert lo[i] <= true <= hi[i], system.label(i)  # the attacker's facts are true
        assert hi[i] - lo[i] >= system.width[i], f"{system.label(i)}: {true} in [{lo[i]}, {hi[i]}]"
        checked += 1
    assert checked >= 5
    assert max(system.width) > 1  # primary cells among them, needing the policy's width
