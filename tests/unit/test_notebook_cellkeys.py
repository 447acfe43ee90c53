"""Notebook tables carry cell keys by default; a figure takes the keys of its data table."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd

from iaptkit.notebooks.context import NotebookContext
from iaptkit.release import Release, build
from iaptkit.release.keyed import load_cells
from iaptkit.release.relations import joint_system
from iaptkit.sdc import protect

# a tiny 1x1 PNG (the register reads the file, it does not draw it)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _ctx(tmp: Path, provider: str) -> NotebookContext:
    params = {"start": "2023-04-01", "end": "2024-03-31", "provider": provider}
    return NotebookContext("02_outcomes_report", params, "x", tmp, date(2023, 4, 1),
                           date(2024, 3, 31), provider, "nhs-sde")  # fmt: skip


def _pathways(provider: str, commissioners: dict[str, int]) -> pd.DataFrame:
    rows = [{"provider": provider, "commissioner": c} for c, n in commissioners.items()
            for _ in range(n)]  # fmt: skip
    return pd.DataFrame(rows)


def _keys(rel: Release, uid: str) -> list[dict[str, object]]:
    data = json.loads((rel.path / "internal" / f"{uid}.cellkeys.json").read_text())
    return [c["key"] for c in data["cells"]]


def test_england_and_provider_tables_share_keys_and_sums(tmp_path: Path) -> None:
    rel = Release.open_or_create(tmp_path / "rel", extract_fingerprint="fp")
    both = pd.concat([_pathways("RAA", {"01A": 30, "02B": 25}), _pathways("RAB", {"01A": 40})])
    england = protect(both, ["provider"], policy="nhs-sde", name="by_provider")
    raa = protect(both[both["provider"] == "RAA"], ["commissioner"], policy="nhs-sde",
                  name="by_commissioner_raa")  # fmt: skip
    _ctx(tmp_path, "").add_table(rel, england, "finished_treatment")
    out = _ctx(tmp_path, "RAA").add_table(rel, raa, "finished_treatment")
    assert out.made_by == "notebooks/02_outcomes_report.ipynb"
    assert out.parameters["provider"] == "RAA"
    england_keys = _keys(rel, "by_provider")
    assert {k["measure"] for k in england_keys} == {"finished_treatment"}
    assert {k["fingerprint"] for k in england_keys} == {"fp"}  # the release's extract
    raa_keys = _keys(rel, "by_commissioner_raa")
    # the provider run's total (55 pathways) is England's RAA cell: one key
    assert {"provider": "RAA"} in [k["breakdown"] for k in raa_keys]
    assert {"provider": "RAA"} in [k["breakdown"] for k in england_keys]
    system = joint_system(load_cells(rel, ["by_provider", "by_commissioner_raa"]))
    raa_cell = [i for i in range(system.n) if dict(system.keys[i].breakdown) == {"provider": "RAA"}]
    assert len(raa_cell) == 1
    assert system.truth[raa_cell[0]] == 55
    assert set(system.shown_in[raa_cell[0]]) == {"by_provider", "by_commissioner_raa"}
    # 01A + 02B = RAA: a sum across the two runs
    parts = {i for i in range(system.n) if "commissioner" in dict(system.keys[i].breakdown)}
    assert any(raa_cell[0] in row and parts <= row.keys() for row in system.equalities)


def test_a_figure_takes_the_keys_of_its_registered_table(tmp_path: Path) -> None:
    rel = Release.open_or_create(tmp_path / "rel", extract_fingerprint="fp")
    pop = "pathways, provider RAA"
    pt = protect(_pathways("RAA", {"01A": 30, "02B": 25}), ["commissioner"], policy="nhs-sde",
                 name="table_a", population=pop)  # fmt: skip
    other = protect(_pathways("RAA", {"01A": 31, "02B": 25}), ["commissioner"],
                    policy="nhs-sde", name="table_b", population=pop)  # fmt: skip
    _ctx(tmp_path, "RAA").add_table(rel, pt, "finished_treatment")
    image = tmp_path / "f.png"
    image.write_bytes(PNG)
    rel.add_figure(image, pt, name="figure_a")
    rel.add_figure(image, other, name="figure_b")  # its table was never registered
    assert _keys(rel, "figure_a") == _keys(rel, "table_a")
    assert {k["measure"] for k in _keys(rel, "figure_a")} == {"finished_treatment"}
    # without a registered table: the default keys (population label as a filter)
    assert {k["measure"] for k in _keys(rel, "figure_b")} == {"count"}
    assert {k["filters"]["population"] for k in _keys(rel, "figure_b")} == {pop}
    figure = json.loads((rel.path / "internal" / "figure_a.cellkeys.json").read_text())
    assert (figure["uid"], figure["file"]) == ("figure_a", "figure_a.data.csv")


def test_a_category_absent_from_a_provider_run_discloses_englands_zero(tmp_path: Path) -> None:
    """Why notebook 02 does not key its runs yet: an absent row is a known zero.

    Provider A has no pathway in category y; England suppresses A's zero in y (primary). A's own
    run has no y row at all, so its rows state A = A,x: with England's A = A,x + A,y that pins
    A,y to 0. Joint protection cannot suppress a row that does not exist: the build fails them.
    """
    rows = [("A", "01A", "x")] * 15 + [("A", "02B", "x")] * 15
    rows += [("B", "01A", "x")] * 25 + [("B", "01A", "y")] * 20
    both = pd.DataFrame(rows, columns=["provider", "commissioner", "change"])
    rel = Release.open_or_create(tmp_path / "rel", extract_fingerprint="fp")
    england = protect(both, ["provider", "change"], policy="nhs-sde", name="england")
    run_a = protect(both[both["provider"] == "A"], ["commissioner", "change"], policy="nhs-sde",
                    name="run_a")  # fmt: skip
    cells = england.cells.set_index(["provider", "change"])
    assert (cells.loc[("A", "y"), "value"], cells.loc[("A", "y"), "status"]) == (0, "primary")
    assert "y" not in set(run_a.cells["change"])
    _ctx(tmp_path, "").add_table(rel, england, "finished_treatment")
    _ctx(tmp_path, "A").add_table(rel, run_a, "finished_treatment")
    result = build(rel.path, tmp_path / "export")
    assert "england" not in result.exported
    summary = json.loads((rel.path / "release.json").read_text())["joint_audit"]
    assert not summary["passed"]
    assert any("change=y, provider=A" in f for f in summary["failures"])


def test_with_the_full_category_list_the_provider_run_builds_jointly(tmp_path: Path) -> None:
    """The fix: the provider run's table has the y row (a zero cell, suppressed), so it builds."""
    rows = [("A", "01A", "x")] * 15 + [("A", "02B", "x")] * 15
    rows += [("B", "01A", "x")] * 25 + [("B", "01A", "y")] * 20
    both = pd.DataFrame(rows, columns=["provider", "commissioner", "change"])
    cats = {"change": ("x", "y")}
    rel = Release.open_or_create(tmp_path / "rel", extract_fingerprint="fp")
    england = protect(both, ["provider", "change"], policy="nhs-sde", name="england",
                      categories=cats, population="England")  # fmt: skip
    run_a = protect(both[both["provider"] == "A"], ["commissioner", "change"], policy="nhs-sde",
                    name="run_a", categories=cats, population="provider A")  # fmt: skip
    cells = run_a.cells.set_index(["commissioner", "change"])
    assert (cells.loc[("Total", "y"), "value"], cells.loc[("Total", "y"), "status"]) == (
        0,
        "primary",
    )
    _ctx(tmp_path, "").add_table(rel, england, "finished_treatment")
    _ctx(tmp_path, "A").add_table(rel, run_a, "finished_treatment")
    result = build(rel.path, tmp_path / "export")
    assert set(result.exported) == {"england", "run_a"}
    summary = json.loads((rel.path / "release.json").read_text())["joint_audit"]
    assert summary["passed"] is True
    # A's y is one cell of both outputs, suppressed in both
    system = joint_system(load_cells(rel, ["england", "run_a"]))
    a_y = {"provider": "A", "change": "y"}
    ay = [i for i in range(system.n) if dict(system.keys[i].breakdown) == a_y]
    assert len(ay) == 1
    assert set(system.hidden_in[ay[0]]) == {"england", "run_a"}
