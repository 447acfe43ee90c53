"""`iaptkit protect` end to end: CSV in, protected CSV and export-safe audit JSON out."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from iaptkit.cli.app import app

GRID = "r,c,n\nA,X,25\nA,Y,3\nA,Z,40\nB,X,12\nB,Y,30\nB,Z,18\nC,X,50\nC,Y,15\nC,Z,0\n"


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def test_protect_with_margins_and_audit(tmp_path: Path) -> None:
    src = tmp_path / "grid.csv"
    src.write_text(GRID)
    out = tmp_path / "out" / "grid_protected.csv"
    audit = tmp_path / "out" / "grid_audit.json"
    code, output = _run(
        ["protect", str(src), "--dims", "r,c", "--value", "n", "--policy", "sdap",
         "--margins", "-o", str(out), "--audit", str(audit)]
    )  # fmt: skip
    assert code == 0, output
    table = pd.read_csv(out, dtype=str)
    assert list(table.columns) == ["r", "c", "value", "policy_id", "policy_version"]
    assert len(table) == 16
    assert set(table["policy_id"]) == {"sdap"}
    got = table.set_index(["r", "c"])["value"]
    assert got[("A", "Y")] == "*"
    assert got[("C", "Z")] == "*"
    assert got[("Total", "Total")] == "193"
    # Published numbers are the true values (sdap: no rounding).
    truth = {("A", "X"): 25, ("A", "Z"): 40, ("B", "X"): 12, ("B", "Y"): 30, ("C", "X"): 50}
    for key, v in truth.items():
        assert got[key] in ("*", str(v))
    doc = json.loads(audit.read_text())
    assert doc["policy_id"] == "sdap"
    cert = doc["certificate"]
    assert cert["passed"] is True
    n_star = int((table["value"] == "*").sum())
    assert cert["n_suppressed"] == n_star
    # Export-safe: no truth, no primary flags.
    for iv in cert["intervals"]:
        assert "true_value" not in iv
        assert "is_primary" not in iv
    ay = next(iv for iv in cert["intervals"] if iv["label"].endswith("r=A, c=Y"))
    assert ay["upper"] - ay["lower"] >= 10


def test_protect_without_margins_rounds_under_nhs_sde(tmp_path: Path) -> None:
    src = tmp_path / "grid.csv"
    src.write_text(GRID)
    out = tmp_path / "o.csv"
    code, output = _run(["protect", str(src), "--dims", "r,c", "--value", "n", "-o", str(out)])
    assert code == 0, output
    table = pd.read_csv(out, dtype=str)
    assert len(table) == 9  # inner cells only
    got = table.set_index(["r", "c"])["value"]
    assert got[("B", "X")] == "10"  # 12 -> 10
    assert got[("A", "Y")] == "*"
    assert set(table["policy_id"]) == {"nhs-sde"}


def test_missing_column_is_a_clean_error(tmp_path: Path) -> None:
    src = tmp_path / "grid.csv"
    src.write_text(GRID)
    code, output = _run(
        ["protect", str(src), "--dims", "r,q", "--value", "n", "-o", str(tmp_path / "o.csv")]
    )
    assert code == 1
    assert "missing ['q']" in output
    assert "Traceback" not in output
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty: expected a header line"),
        (b"r,c,n\nA,x,30\nB,x,\n", "line 3, column n: expected a count"),
        (b"r,c,n\nA,x,30\nB\xe9,x,12\n", "line 3: bytes that are not UTF-8"),
    ],
    ids=["empty", "blank_count", "latin1"],
)
def test_unreadable_tables_name_the_line(tmp_path: Path, content: bytes, expected: str) -> None:
    src = tmp_path / "grid.csv"
    src.write_bytes(content)
    code, output = _run(
        ["protect", str(src), "--dims", "r,c", "--value", "n", "-o", str(tmp_path / "o.csv")]
    )
    assert code == 1
    assert expected in " ".join(output.split())
    assert "Traceback" not in output
    assert not (tmp_path / "o.csv").exists()


def test_unknown_policy_is_a_clean_error(tmp_path: Path) -> None:
    src = tmp_path / "grid.csv"
    src.write_text(GRID)
    code, output = _run(
        ["protect", str(src), "--dims", "r,c", "--value", "n", "--policy", "nope",
         "-o", str(tmp_path / "o.csv")]
    )  # fmt: skip
    assert code == 1
    assert "Unknown policy 'nope'" in output


def test_missing_input_file(tmp_path: Path) -> None:
    code, output = _run(
        ["protect", str(tmp_path / "none.csv"), "--dims", "r", "--value", "n", "-o", "x.csv"]
    )
    assert code == 1
    assert "not found" in output


def test_protect_secondary_method_option(tmp_path: Path) -> None:
    """--secondary hypercube protects the margin-differencing grid too; bad values are refused."""
    src = tmp_path / "grid.csv"
    src.write_text(GRID)
    out = tmp_path / "hc.csv"
    audit = tmp_path / "hc.json"
    code, output = _run(
        ["protect", str(src), "--dims", "r,c", "--value", "n", "--policy", "sdap",
         "--margins", "--secondary", "hypercube", "-o", str(out), "--audit", str(audit)]
    )  # fmt: skip
    assert code == 0, output
    got = pd.read_csv(out, dtype=str).set_index(["r", "c"])["value"]
    assert got[("A", "Y")] == "*"
    assert got[("Total", "Total")] == "193"
    doc = json.loads(audit.read_text())
    assert doc["secondary_method"] == "hypercube"
    assert doc["certificate"]["passed"] is True
    ay = next(iv for iv in doc["certificate"]["intervals"] if iv["label"].endswith("r=A, c=Y"))
    assert ay["upper"] - ay["lower"] >= 10
    # at least a rectangle: A/Y cannot be alone in its row or column
    assert (got.loc["A"] == "*").sum() >= 2
    assert (got.xs("Y", level="c") == "*").sum() >= 2
    code, output = _run(
        ["protect", str(src), "--dims", "r,c", "--value", "n", "--secondary", "magic",
         "-o", str(tmp_path / "x.csv")]
    )  # fmt: skip
    assert code != 0
    assert "auto, lp, hypercube" in output
    assert not (tmp_path / "x.csv").exists()


def test_protect_cost_option_and_information_loss(tmp_path: Path) -> None:
    """--cost cells|value|weight; the audit JSON reports the information loss (cells, value)."""
    src = tmp_path / "grid.csv"
    src.write_text(GRID)
    for cost in ("cells", "value", "0.5"):
        out = tmp_path / f"{cost}.csv"
        audit = tmp_path / f"{cost}.json"
        code, output = _run(
            ["protect", str(src), "--dims", "r,c", "--value", "n", "--policy", "sdap",
             "--margins", "--cost", cost, "-o", str(out), "--audit", str(audit)]
        )  # fmt: skip
        assert code == 0, output
        assert "value mass suppressed" in output
        doc = json.loads(audit.read_text())
        assert doc["cost"] == cost
        assert doc["certificate"]["passed"] is True
        loss = doc["information_loss"]
        got = pd.read_csv(out, dtype=str)
        assert (
            loss["suppressed_primary"] + loss["suppressed_secondary"] == (got["value"] == "*").sum()
        )
        # value mass of the suppressed cells, from the grid's true values (margins included)
        truth = pd.read_csv(src).set_index(["r", "c"])["n"]
        hidden = got[got["value"] == "*"]
        mass = 0
        for r, c in zip(hidden["r"], hidden["c"], strict=True):
            rows = truth if r == "Total" else truth.xs(r, level="r", drop_level=False)
            cells = rows if c == "Total" else rows[rows.index.get_level_values("c") == c]
            mass += int(cells.sum())
        assert loss["suppressed_value"] == mass
    code, output = _run(
        ["protect", str(src), "--dims", "r,c", "--value", "n", "--cost", "cheap",
         "-o", str(tmp_path / "x.csv")]
    )  # fmt: skip
    assert code != 0
    assert "value, cells" in output
    assert not (tmp_path / "x.csv").exists()


def test_protect_timeout_option(tmp_path: Path) -> None:
    src = tmp_path / "grid.csv"
    src.write_text(GRID)
    out = tmp_path / "t.csv"
    code, output = _run(
        ["protect", str(src), "--dims", "r,c", "--value", "n", "--policy", "sdap",
         "--margins", "--timeout", "0", "-o", str(out)]
    )  # fmt: skip
    assert code == 0, output
    assert "timeout of 0 s reached" in " ".join(output.split())
    assert (pd.read_csv(out, dtype=str)["value"] == "*").all()
    assert not (tmp_path / "t.csv.part").exists()
