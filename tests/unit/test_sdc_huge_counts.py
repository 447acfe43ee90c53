"""A count too large to hold exactly (1e20) is a one-line user error, never a wrap-around."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from iaptkit.cli.app import app
from iaptkit.errors import ConfigError
from iaptkit.sdc import protect
from iaptkit.sdc.counts import MAX_COUNT


@pytest.mark.parametrize("huge", [1e20, 10**20, 2**63, MAX_COUNT + 1])
def test_protect_refuses_a_count_too_large(huge: float) -> None:
    table = pd.DataFrame(
        {"region": ["A", "A", "B", "B"], "sex": ["M", "F", "M", "F"], "n": [huge, 3, 12, 40]}
    )
    with pytest.raises(ConfigError) as err:
        protect(table, ["region", "sex"], "n", policy="nhs-sde")
    message = str(err.value)
    assert "\n" not in message
    assert "column 'n'" in message
    assert f"expected counts from 0 to {MAX_COUNT:,}" in message
    assert "1 rows are larger" in message


def test_the_largest_count_is_still_protected() -> None:
    table = pd.DataFrame(
        {"region": ["A", "A", "B", "B"], "sex": ["M", "F", "M", "F"], "n": [MAX_COUNT, 30, 12, 40]}
    )
    out = protect(table, ["region", "sex"], "n", policy="nhs-sde")
    cells = out.cells.set_index(["region", "sex"])
    assert int(cells.loc[("A", "M"), "value"]) == MAX_COUNT


@pytest.mark.parametrize("text", ["1e20", "100000000000000000000", "-9223372036854775808"])
def test_cli_protect_names_the_row_in_one_line(tmp_path: Path, text: str) -> None:
    src = tmp_path / "t.csv"
    src.write_text(f"region,sex,n\nA,M,{text}\nA,F,3\nB,M,12\nB,F,40\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "protect",
            str(src),
            "--dims",
            "region,sex",
            "--value",
            "n",
            "-o",
            str(tmp_path / "o.csv"),
        ],
    )
    assert result.exit_code == 1
    text_out = result.stderr + result.stdout
    assert "Traceback" not in text_out
    errors = [ln for ln in text_out.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, text_out
    assert "line 2, column n" in errors[0]
    assert not (tmp_path / "o.csv").exists()
