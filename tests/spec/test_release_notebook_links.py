"""Spec: a report notebook's table and a ``measures`` output of one period are one release.

A notebook table of finished treatment by provider and recovery outcome counts, in its
"recovered" and "not at caseness" rows, exactly the measures ``recovered`` and
``not_at_caseness`` of a ``measures --by provider`` output (docs/measures.md §2). A reader of
both sets them equal. The attacker here is written by hand: it reads only the exported CSV
files, identifies the cells by what they count (its own mapping of outcome labels to
measures), and bounds every suppressed count with ``scipy.optimize.milp``.

Before (the notebook's cells keyed by their own outcome labels): the build exports both
outputs, and the attacker pins provider A's 3 not at caseness. After (keys by measure,
``NotebookContext.add_table(..., aliases=...)``): the build links the cells and protects
them jointly; the attacker finds every suppressed count at least the protection width wide.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from test_release_relations import WIDTH, widths

from iaptkit.definitions.labels import FINISHED_OUTCOME, FINISHED_OUTCOME_MEASURES
from iaptkit.notebooks.context import NotebookContext
from iaptkit.release import Release, build, verify
from iaptkit.release.routes import register_measures_run
from iaptkit.sdc import protect, protect_measures

START, END = date(2024, 4, 1), date(2025, 3, 31)
FINGERPRINT = "f" * 64
# finished treatment by provider and outcome: A has 3 not at caseness (a primary)
TRUTH = {
    "A": {"not at caseness": 3, "recovered": 15, "not recovered": 32},
    "B": {"not at caseness": 20, "recovered": 30, "not recovered": 25},
}
# the attacker's own reading of the notebook's outcome labels (not iaptkit's)
SAME_AS_MEASURE = {"recovered": "recovered", "not at caseness": "not_at_caseness"}


def _measures_frame() -> pd.DataFrame:
    from iaptkit.definitions import load_definitions

    rows = []
    for p, out in TRUTH.items():
        at = out["recovered"] + out["not recovered"]
        counts = {
            "finished_treatment": at + out["not at caseness"],
            "at_caseness": at,
            "not_at_caseness": out["not at caseness"],
            "recovered": out["recovered"],
        }
        for m, v in counts.items():
            rows.append(
                dict(period_start=START.isoformat(), period_end=END.isoformat(),
                     breakdown="provider", group=p, measure=m, value=v, kind="count",
                     definitions_version=load_definitions().version)
            )  # fmt: skip
    return pd.DataFrame(rows)


def _notebook_table() -> pd.DataFrame:
    rows = [(p, o) for p, out in TRUTH.items() for o, n in out.items() for _ in range(n)]
    return pd.DataFrame(rows, columns=["provider", "outcome"])


def _release(tmp: Path, *, aliases: bool) -> Path:
    folder = tmp / "rel"
    pm = protect_measures(_measures_frame(), "sdap")
    params = {"start": START.isoformat(), "end": END.isoformat(), "by": "provider"}
    out = register_measures_run(
        folder, pm, name=None, replace=False, parameters=params, fingerprint=FINGERPRINT
    )
    assert out.status == "pass", out.reasons
    rel = Release.open(folder)
    ctx = NotebookContext(
        notebook="02_outcomes_report", parameters={"start": START.isoformat()}, extract="x",
        release_dir=folder, start=START, end=END, provider="", policy="sdap",
    )  # fmt: skip
    pt = protect(
        _notebook_table(), ["provider", "outcome"], policy="sdap", name="outcomes_by_provider",
        population="finished", categories={"outcome": FINISHED_OUTCOME},
    )  # fmt: skip
    got = ctx.add_table(
        rel, pt, "finished_treatment",
        aliases={"outcome": FINISHED_OUTCOME_MEASURES} if aliases else None,
    )  # fmt: skip
    assert got.status == "pass", got.reasons
    return folder


def _attack(export: Path) -> dict[tuple[str, ...], float]:
    """The hand-written attacker over the exported CSV files only."""
    shown: dict[tuple[str, ...], str] = {}

    def see(key: tuple[str, ...], value: str) -> None:
        value = "*" if value in ("", "*") else value
        assert shown.get(key, value) == value or "*" in (shown[key], value), key
        shown[key] = "*" if "*" in (shown.get(key, ""), value) else value

    for csv in export.glob("*.csv"):
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
        if "measure" in frame.columns:  # the measures output: one row per measure and provider
            for r in frame[frame["kind"] == "count"].to_dict("records"):
                see((r["provider"], r["measure"]), r["value"])
        elif "outcome" in frame.columns:  # the notebook table, with its margins
            for r in frame.to_dict("records"):
                p = "England" if r["provider"] == "Total" else r["provider"]
                o = r["outcome"]
                m = "finished_treatment" if o == "Total" else SAME_AS_MEASURE.get(o, o)
                see((p, m), r["value"])
    groups = ("A", "B", "England")
    sums = [((p, "finished_treatment"), [(p, "not_at_caseness"), (p, "recovered"),
                                         (p, "not recovered")]) for p in groups]  # fmt: skip
    sums += [((p, "finished_treatment"), [(p, "at_caseness"), (p, "not_at_caseness")])
             for p in groups]  # fmt: skip
    cols = ("not_at_caseness", "recovered", "not recovered", "finished_treatment")
    sums += [(("England", m), [("A", m), ("B", m)]) for m in cols]
    return widths(shown, sums)


def test_unlinked_the_attacker_pins_the_not_at_caseness_count(tmp_path: Path) -> None:
    """Before: outcome rows keyed by their labels, so the build sees two unrelated outputs."""
    rel = _release(tmp_path, aliases=False)
    done = build(rel, tmp_path / "export")
    assert not done.excluded  # each output safe alone, and no link between them seen
    got = _attack(tmp_path / "export")
    assert got[("A", "not_at_caseness")] == 0  # 50 - 15 - 32 = 3, exactly


def test_linked_by_measure_the_build_protects_them_jointly(tmp_path: Path) -> None:
    """After: "recovered" is the measure recovered, one cell in both outputs."""
    rel = _release(tmp_path, aliases=True)
    done = build(rel, tmp_path / "export")
    assert not done.excluded
    got = _attack(tmp_path / "export")
    assert ("A", "not_at_caseness") in got
    assert min(got.values()) >= WIDTH
    assert verify(tmp_path / "export", allow_unsigned=True) == []
