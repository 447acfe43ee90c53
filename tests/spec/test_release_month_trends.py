"""Spec: a monthly trend table and a ``measures`` output of one of its months are one release.

A report notebook's trend table counts a measure per month of its period (notebook 02:
referrals received, entered and finished treatment by ``month``), with the period's total as
its margin. May's row counts exactly what a ``measures`` output of May counts, and what May's
row of a trend over any other period counts; a reader of the release sets them equal, and the
months add up to the period (docs/release-format.md, "Cell keys and the joint audit").

The attacker here is written by hand: it reads only the exported CSV files, identifies the
cells by its own reading of the months, and bounds every suppressed count with
``scipy.optimize.milp`` (``test_release_relations.widths``).

Before (each month keyed as a breakdown of the whole period): the build sees two unrelated
outputs, exports both, and the attacker pins May's 3 referrals (93 - 50 - 40). After
(``NotebookContext.add_table(..., period_dim="month")``): May's cell is the measure over May,
the build links the outputs and protects them jointly; no suppressed count is narrower than
the protection width.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from test_release_relations import WIDTH, widths

from iaptkit.definitions import load_definitions
from iaptkit.definitions.labels import months
from iaptkit.notebooks.context import NotebookContext
from iaptkit.release import Release, build, verify
from iaptkit.release.cellkeys import KeyContext
from iaptkit.release.cellrecords import records_from_protected
from iaptkit.release.routes import register_measures_run
from iaptkit.sdc import protect, protect_measures

START, END = date(2024, 4, 1), date(2024, 6, 30)
FINGERPRINT = "f" * 64
MEASURE = "referrals_received"
# referrals received per month: May's 3 is a primary under sdap (threshold 10)
TRUTH = {"2024-04": 50, "2024-05": 3, "2024-06": 40}


def _trend_rows() -> pd.DataFrame:
    return pd.DataFrame({"month": [m for m, n in TRUTH.items() for _ in range(n)]})


def _register_month(folder: Path, month: str) -> None:
    """A ``measures`` output of one month, England (as ``iaptkit measures --release``)."""
    first = date.fromisoformat(f"{month}-01")
    last = {"2024-04": 30, "2024-05": 31, "2024-06": 30}[month]
    row = dict(
        period_start=first.isoformat(), period_end=first.replace(day=last).isoformat(),
        breakdown="england", group="England", measure=MEASURE, value=TRUTH[month],
        kind="count", definitions_version=load_definitions().version,
    )  # fmt: skip
    pm = protect_measures(pd.DataFrame([row]), "sdap")
    params = {"start": row["period_start"], "end": row["period_end"], "by": "england"}
    out = register_measures_run(
        folder, pm, name=f"measures_{month}", replace=False, parameters=params,
        fingerprint=FINGERPRINT,
    )  # fmt: skip
    assert out.status == "pass", out.reasons


def _release(tmp: Path, *, period_dim: str) -> Path:
    folder = tmp / "rel"
    _register_month(folder, "2024-06")
    rel = Release.open(folder)
    ctx = NotebookContext(
        notebook="02_outcomes_report", parameters={"start": START.isoformat()}, extract="x",
        release_dir=folder, start=START, end=END, provider="", policy="sdap",
    )  # fmt: skip
    pt = protect(
        _trend_rows(), ["month"], policy="sdap", name="trend_referrals_received",
        population="referrals received", categories={"month": months(START, END)},
    )  # fmt: skip
    assert pt.published().set_index("month").loc["2024-05", "status"] == "suppressed"
    got = ctx.add_table(rel, pt, MEASURE, period_dim=period_dim)
    assert got.status == "pass", got.reasons
    return folder


def _attack(export: Path) -> dict[tuple[str, ...], float]:
    """The hand-written attacker over the exported CSV files only."""
    shown: dict[tuple[str, ...], str] = {}

    def see(key: tuple[str, ...], value: str) -> None:
        value = "*" if value in ("", "*") else value
        assert shown.get(key, value) == value or "*" in (shown[key], value), key
        if shown.get(key, "*") == "*":  # a count one output shows is known, whoever hides it
            shown[key] = value

    for csv in export.glob("*.csv"):
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
        if "measure" in frame.columns:  # a measures output of one month
            for r in frame[frame["kind"] == "count"].to_dict("records"):
                see((r["period_start"][:7],), r["value"])
        elif "month" in frame.columns:  # the trend table, with the period's total
            for r in frame.to_dict("records"):
                see(("all" if r["month"] == "Total" else r["month"],), r["value"])
    return widths(shown, [(("all",), [(m,) for m in TRUTH])])


def test_month_cells_are_keyed_as_the_measure_over_that_month() -> None:
    """May's row is the measure over May (clipped to the period); the total is the period."""
    pt = protect(
        _trend_rows(), ["month"], policy="sdap", name="t", population="p",
        categories={"month": months(START, END)},
    )  # fmt: skip
    ctx = KeyContext(
        measure=MEASURE, period_start="2024-04-10", period_end=END.isoformat(),
        period_dim="month",
    )  # fmt: skip
    keys = {(r.key.period_start, r.key.period_end, r.key.breakdown)
            for r in records_from_protected(pt, ctx).records}  # fmt: skip
    assert keys == {
        ("2024-04-10", "2024-04-30", ()),
        ("2024-05-01", "2024-05-31", ()),
        ("2024-06-01", "2024-06-30", ()),
        ("2024-04-10", "2024-06-30", ()),
    }


def test_month_as_a_breakdown_the_attacker_pins_may(tmp_path: Path) -> None:
    """Before: months keyed as a breakdown of the whole period, unlinked to June's output."""
    rel = _release(tmp_path, period_dim="")
    done = build(rel, tmp_path / "export")
    assert not done.excluded  # each output safe alone, and no link between them seen
    got = _attack(tmp_path / "export")
    assert got[("2024-05",)] == 0  # 93 - 50 - 40 = 3, exactly


def test_month_as_a_period_the_build_protects_them_jointly(tmp_path: Path) -> None:
    """After: May's and June's rows are the measure over May and June, linked to June's output."""
    rel = _release(tmp_path, period_dim="month")
    done = build(rel, tmp_path / "export")
    assert not done.excluded
    got = _attack(tmp_path / "export")
    assert ("2024-05",) in got
    assert min(got.values()) >= WIDTH
    assert verify(tmp_path / "export", allow_unsigned=True) == []
