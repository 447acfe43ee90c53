"""The README's "Using it" commands run as written in a fresh clone after the demo.

A ``git clone`` of this repository into a temporary folder, the test interpreter's virtual
environment linked in as ``.venv`` (no reinstall: the clone's ``src`` comes first on
``PYTHONPATH``), the demo made as ``make demo`` makes it (the same command, a smaller extract to
keep the test short), then the README's bash block run by ``bash -e`` and its Python block by
``.venv/bin/python``, unchanged.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]


def _blocks(section: str) -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index(f"## {section}")
    end = readme.find("\n## ", start + 3)
    text = readme[start : end if end > 0 else None]
    found = re.findall(r"```(bash|python)\n(.*?)```", text, flags=re.S)
    return {lang: code for lang, code in found}


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, f"{args[:3]}: {done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_readme_using_it_runs_in_a_fresh_clone(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.fail("the README test needs git and a git checkout of iaptkit")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    (clone / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    home = tmp_path / "home"  # the README's commands never touch the real home folder
    home.mkdir()
    env = {**os.environ, "PYTHONPATH": str(clone / "src"), "MPLBACKEND": "Agg", "HOME": str(home)}
    env.pop("IAPTKIT_KEY", None)
    env.pop("IAPTKIT_DEMO_EXTRACT", None)
    # `make demo` = .venv/bin/python -m iaptkit.cli.demo --out demo (after installing)
    _run([".venv/bin/python", "-m", "iaptkit.cli.demo", "--out", "demo", "--pathways", "3000"],
         clone, env)  # fmt: skip
    _the_demo_exported_what_passed(clone / "demo")
    blocks = _blocks("Using it")
    assert set(blocks) == {"bash", "python"}
    _run(["bash", "-e", "-o", "pipefail", "-c", blocks["bash"]], clone, env)
    for made in (
        "demo/small/IDS101Referral.parquet",
        "demo/dq.json",
        "demo/pathways.parquet",
        "demo/measures.csv",
        "demo/protected.csv",
        "demo/audit.json",
        "demo/export-2/report.html",
        "demo/export-2/manifest.json",
        "demo/export-2/seal.json",
        "demo/keys/my-key.pem",
    ):
        assert (clone / made).is_file(), made
    assert not list(home.rglob("*.pem*")), "a README command wrote a key into the home folder"
    assert len(list((clone / "demo" / "runs").glob("02_outcomes_report*.ipynb"))) >= 4
    done = _run([".venv/bin/python", "-c", blocks["python"]], clone, env)
    assert (clone / "demo" / "measures_protected.csv").is_file()
    assert "rate_from" in done.stdout


def _the_demo_exported_what_passed(demo: Path) -> None:
    """The demo's release: every run ok, exactly the passing outputs exported, verified, and
    opened by the checkers' own tools (ACRO, the SACRO viewer)."""
    import json

    from test_demo import _checkers_tools_open_the_demo_export

    from iaptkit.release import Release, verify

    export, release = demo / "export", demo / "release"
    assert verify(export) == []
    assert (release / "checker" / "report.html").is_file()
    executed = sorted(p.name for p in (demo / "runs").glob("*.ipynb"))
    assert len(executed) == 7  # four notebooks + three provider runs of 02
    outputs = Release.open(release).outputs
    assert "fail" not in {o.status for o in outputs}
    # exported = every pass, plus reviews with an exception (figures); nothing else
    expected = sorted(
        o.uid for o in outputs if o.status == "pass" or (o.status == "review" and o.exception)
    )
    manifest = json.loads((export / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(o["uid"] for o in manifest["outputs"]) == expected
    assert (export / "results.json").is_file()
    assert not any("underlying" in p.name for p in export.rglob("*"))
    _checkers_tools_open_the_demo_export(export, manifest)
