"""An independent attacker on exports of releases built the documented ways (issue 16).

Scenarios the project's own tests do not build, each a release made with the command line
(``iaptkit measures ... --release``, ``iaptkit release build``) or the Python API
(``Release.add_table(protect(...), cell_keys=KeyContext(...))``) on one synthetic extract.
The attacker (``release_attacker.py``, its own relations, never the export's) reads the
export back as an output checker would and must find no suppressed cell, and no small period
segment, narrower than the width it needs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from release_attacker import attack
from typer.testing import CliRunner

from iaptkit.cli.app import app
from iaptkit.notebooks.runner import run_grid
from iaptkit.release import Release, verify
from iaptkit.release.cellkeys import KeyContext
from iaptkit.sdc import protect

pytestmark = pytest.mark.slow
runner = CliRunner()
FY = ("2023-04-01", "2024-03-31")


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from iaptkit.synth.generate import write_synthetic

    folder = tmp_path_factory.mktemp("attacker") / "extract"
    write_synthetic(folder, pathways=900, start="2023-04", months=12, providers=3, seed=29)
    return folder


NOTEBOOKS = Path(__file__).parents[2] / "notebooks"


def notebook(name: str, extract: Path, release: Path, tmp: Path, **params: str) -> None:
    """Run a report notebook for England and for provider RAA into ``release``."""
    base = {"extract": str(extract), "start": FY[0], "end": FY[1], "output_dir": str(release),
            **params}  # fmt: skip
    done = run_grid(NOTEBOOKS / f"{name}.ipynb", [base, {**base, "provider": "RAA"}], tmp / "runs")
    assert [r.status for r in done.results] == ["ok", "ok"], [r.error for r in done.results]


def measures(
    extract: Path, release: Path, by: str, period: tuple[str, str] = FY, families: str = "0"
) -> None:
    args = [
        "measures",
        str(extract),
        "--start",
        period[0],
        "--end",
        period[1],
        "--by",
        by,
        "--families",
        families,
        "-o",
        str(release.parent / "m.csv"),
        "--release",
        str(release),
    ]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output


def build(release: Path, export: Path, *more: str, charts_redrawn: bool = False) -> None:
    """Build; every output exported (``charts_redrawn``: but figures whose data the joint
    protection changed, which must be redrawn, docs/release-format.md)."""
    done = runner.invoke(
        app, ["release", "build", str(release), "-o", str(export), "--unsigned", *more]
    )
    assert done.exit_code == 0, done.output
    left_out = [ln for ln in done.output.splitlines() if "NOT exported" in ln]
    if charts_redrawn:
        assert all("_chart_" in ln or "_funnel_" in ln for ln in left_out), done.output
        assert "redraw it" in done.output or not left_out
    else:
        assert not left_out, done.output
    assert verify(export, allow_unsigned=True) == []


def test_england_and_providers_as_two_outputs(extract: Path, tmp_path: Path) -> None:
    release = tmp_path / "release"
    measures(extract, release, "england")
    measures(extract, release, "provider")
    build(release, tmp_path / "export")
    assert attack([(tmp_path / "export", release)]) == []


def test_a_x_b_beside_both_margins_and_england(extract: Path, tmp_path: Path) -> None:
    release = tmp_path / "release"
    measures(extract, release, "england,gender")
    measures(extract, release, "provider")
    measures(extract, release, "provider x gender")
    build(release, tmp_path / "export")
    assert attack([(tmp_path / "export", release)]) == []


def test_three_overlapping_periods(extract: Path, tmp_path: Path) -> None:
    release = tmp_path / "release"
    measures(extract, release, "england,provider")
    measures(extract, release, "england,provider", ("2023-07-01", "2024-03-31"))
    measures(extract, release, "provider", ("2023-04-01", "2023-12-31"))
    build(release, tmp_path / "export")
    assert attack([(tmp_path / "export", release)]) == []


def test_measures_beside_an_analysts_own_table(extract: Path, tmp_path: Path) -> None:
    """A table of the measures' counts, protected with margins and keyed like the measures."""
    release = tmp_path / "release"
    measures(extract, release, "england,provider x gender")
    uid = next(iter(json.loads((release / "release.json").read_text())["outputs"]))["uid"]
    truth = pd.read_csv(release / "internal" / f"{uid}.underlying.csv")
    key = json.loads((release / "internal" / f"{uid}.cellkeys.json").read_text())
    key = key["cells"][0]["key"]
    rows = truth[
        (truth["breakdown"] == "provider x gender") & (truth["measure"] == "finished_treatment")
    ]
    table = pd.DataFrame(
        {
            "provider": rows["group"].str.split(" | ", regex=False).str[0],
            "gender": rows["group"].str.split(" | ", regex=False).str[1],
            "n": rows["true_value"].astype(int),
        }
    )
    pt = protect(table, ["provider", "gender"], "n", policy="nhs-sde", margins=True)
    ctx = KeyContext(
        fingerprint=key["fingerprint"],
        definitions_version=key["definitions_version"],
        measure="finished_treatment",
        period_start=FY[0],
        period_end=FY[1],
    )
    out = Release.open(release).add_table(pt, name="finished_by_provider_gender", cell_keys=ctx)
    assert out.status == "pass", out.reasons
    build(release, tmp_path / "export")
    assert attack([(tmp_path / "export", release)]) == []


def test_a_later_release_with_previous(extract: Path, tmp_path: Path) -> None:
    first, later = tmp_path / "first", tmp_path / "later"
    measures(extract, first, "england,provider")
    build(first, tmp_path / "export1")
    measures(extract, later, "provider x gender")
    measures(extract, later, "england,provider", ("2023-04-01", "2024-02-29"))
    build(later, tmp_path / "export2", "--previous", str(tmp_path / "export1"))
    pairs = [(tmp_path / "export1", first), (tmp_path / "export2", later)]
    assert attack(pairs) == []


def test_waiting_times_notebook_beside_every_family(extract: Path, tmp_path: Path) -> None:
    """Notebook 03's wait bands, waiting list and first-to-second tables beside families 0-8.

    The attacker adds the catalogue's partitions (wait bands to their total, end codes to the
    ended referrals ...) across the notebook's tables and the measures output.
    """
    release = tmp_path / "release"
    notebook("03_waiting_times", extract, release, tmp_path)
    measures(extract, release, "england,provider", families="all")
    build(release, tmp_path / "export", charts_redrawn=True)
    assert attack([(tmp_path / "export", release)]) == []


def test_monthly_trends_beside_one_months_measures(extract: Path, tmp_path: Path) -> None:
    """Notebook 02's monthly trends beside a measures output of one month (June)."""
    release = tmp_path / "release"
    notebook("02_outcomes_report", extract, release, tmp_path)
    measures(extract, release, "england,provider", ("2023-06-01", "2023-06-30"))
    build(release, tmp_path / "export", charts_redrawn=True)
    assert attack([(tmp_path / "export", release)]) == []
