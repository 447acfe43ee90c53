"""The end-to-end demo (``python -m iaptkit.cli.demo``) on a small synthetic extract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from iaptkit.cli.app import app
from iaptkit.cli.demo import ensure_extract, main

pytestmark = pytest.mark.slow


SACRO_OPEN = """
import json, os, sys
from pathlib import Path
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sacro.settings")
import django
django.setup()
from django.test import Client
from sacro import models
export = Path(sys.argv[1])
load = Client().get("/load/", {"dirpath": str(export), "role": "checker"})
outputs = models.load_from_path(export / "results.json")
files = {u: [[f["name"], f["checksum_valid"]] for f in m["files"]] for u, m in outputs.items()}
print(json.dumps({"load": load.status_code, "files": files}))
"""


def _checkers_tools_open_the_demo_export(export: Path, manifest: dict[str, object]) -> None:
    """ACRO 1.0.2 and the SACRO viewer 0.2.1 (make peers) open the demo's own export as built."""
    from test_release_peers import ACRO_PY, ACRO_SCRIPT, SACRO_PY, _need, _run

    exported = {o["uid"]: o for o in manifest["outputs"]}  # type: ignore[attr-defined]
    _need(ACRO_PY, "ACRO 1.0.2")
    acro = _run(ACRO_PY, ACRO_SCRIPT, str(export))["records"]
    for uid, out in exported.items():
        assert uid in acro, f"ACRO has no record of {uid}"
        assert acro[uid]["status"], uid
        if out["kind"] == "figure":  # a figure's images are a record of their own
            figure = acro[f"{uid}__figure"]["outputs"]
            assert figure, uid
            assert all(str(f).endswith(".png") for f in figure), figure
    _need(SACRO_PY, "SACRO viewer 0.2.1")
    viewer = _run(SACRO_PY, SACRO_OPEN, str(export))
    assert viewer["load"] in (200, 302)
    assert set(exported) <= set(viewer["files"])
    invalid = [(u, n) for u, fs in viewer["files"].items() for n, ok in fs if not ok]
    assert not invalid, f"the viewer finds invalid checksums: {invalid}"


def test_extract_reused_when_present(tmp_path: Path) -> None:
    console = Console(stderr=True, quiet=True)
    folder = tmp_path / "extract"
    ensure_extract(folder, pathways=300, console=console)
    stamp = (folder / "IDS101Referral.parquet").stat().st_mtime_ns
    ensure_extract(folder, pathways=300, console=console)
    assert (folder / "IDS101Referral.parquet").stat().st_mtime_ns == stamp
    ensure_extract(folder, pathways=400, console=console)  # a different size is regenerated
    meta = json.loads((folder / "_synth.json").read_text(encoding="utf-8"))
    assert meta["parameters"]["pathways"] == 400


def test_demo_refuses_foreign_release_folder(tmp_path: Path) -> None:
    (tmp_path / "demo" / "release").mkdir(parents=True)
    (tmp_path / "demo" / "release" / "keep.txt").write_text("not a release", encoding="utf-8")
    assert main(["--out", str(tmp_path / "demo"), "--pathways", "300"]) == 1
    assert (tmp_path / "demo" / "release" / "keep.txt").is_file()


def test_iaptkit_demo_command_reports_a_user_error(tmp_path: Path) -> None:
    """``iaptkit demo`` is the same demo; a user error is one message and exit code 1."""
    (tmp_path / "demo" / "release").mkdir(parents=True)
    (tmp_path / "demo" / "release" / "keep.txt").write_text("not a release", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--pathways", "300"])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "error:" in text
    assert "is not an iaptkit release (no release.json)" in text
    assert "Traceback" not in result.output
    assert (tmp_path / "demo" / "release" / "keep.txt").is_file()
