"""``iaptkit measures --commissioner-lookup`` end to end on a small synthetic extract."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from iaptkit.cli.app import app
from iaptkit.data import load_extract

runner = CliRunner()
START, END = "2023-07-01", "2023-09-30"


@pytest.fixture(scope="module")
def extract_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from iaptkit.synth.generate import write_synthetic

    folder = tmp_path_factory.mktemp("commissioners") / "extract"
    write_synthetic(folder, pathways=300, start="2023-04", months=6, providers=2, seed=3)
    return folder


def _run(extract_dir: Path, out: Path, lookup: str | None, by: str) -> object:
    args = ["measures", str(extract_dir), "--start", START, "--end", END, "--by", by,
            "--families", "0", "--policy", "none", "-o", str(out)]  # fmt: skip
    if lookup is not None:
        args += ["--commissioner-lookup", lookup]
    return runner.invoke(app, args)


def test_synthetic_lookup_covers_the_synthetic_extract(extract_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.csv"
    result = _run(extract_dir, out, "synthetic", "england,icb,region")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "every commissioner code found" in result.output  # type: ignore[attr-defined]
    t = pd.read_csv(out)
    rr = t[t.measure == "referrals_received"]
    england = rr[rr.breakdown == "england"].value.sum()
    assert england > 0
    for bd in ("icb", "region"):
        groups = rr[rr.breakdown == bd]
        assert groups.value.sum() == england
        assert "Not in lookup" not in set(groups.group)


def test_codes_missing_from_a_site_lookup_are_reported(extract_dir: Path, tmp_path: Path) -> None:
    with load_extract(extract_dir) as ex:
        codes = sorted(set(ex.table("IDS101Referral").OrgIDComm.execute().dropna()))
    assert len(codes) >= 2
    lookup = tmp_path / "lk.csv"
    rows = [f"v9,{c},QAA,Y56" for c in codes[1:]]
    lookup.write_text("lookup_version,sub_icb_code,icb_code,region_code\n" + "\n".join(rows))
    out = tmp_path / "m.csv"
    result = _run(extract_dir, out, str(lookup), "england,icb")
    output = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 0, output  # type: ignore[attr-defined]
    assert f"1 commissioner code(s) not in it ({codes[0]})" in output
    t = pd.read_csv(out)
    rr = t[(t.measure == "referrals_received") & (t.breakdown == "icb")]
    assert set(rr.group) == {"QAA", "Not in lookup"}
    missing = _run(extract_dir, tmp_path / "n.csv", None, "england,region")
    assert missing.exit_code == 1  # type: ignore[attr-defined]
    assert "needs a commissioner lookup" in missing.output  # type: ignore[attr-defined]
    assert "Traceback" not in missing.output  # type: ignore[attr-defined]
