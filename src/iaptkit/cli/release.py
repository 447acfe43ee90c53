"""The ``iaptkit check``, ``iaptkit release build`` and ``iaptkit release verify`` commands.

The work is :mod:`iaptkit.release`'s (file checks, bundle, verification); here the results are
told on stderr and turned into exit codes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from iaptkit.release.bundle import build, verify
from iaptkit.release.checks import check_paths
from iaptkit.release.files import write_atomic
from iaptkit.release.findings import policy_facts
from iaptkit.release.register import Release

__all__ = ["build_command", "check_command", "verify_command"]


def check_command(
    paths: Sequence[Path],
    *,
    policy: str = "nhs-sde",
    json_out: Path | None = None,
    allow: Sequence[str] = (),
) -> int:
    """``iaptkit check``: print findings to stderr, optionally write JSON; exit code 0 or 1.

    Parameters
    ----------
    paths
        Files and folders to check (folders recursively).
    policy
        Policy id or YAML file.
    json_out
        Where to write the findings as JSON (``None``: nowhere).
    allow
        Extra file suffixes accepted for review instead of refused (the allow-list).

    Returns
    -------
    int
        1 when any file fails, else 0 (reviews allowed).
    """
    facts = policy_facts(policy)
    reports = check_paths(paths, policy=facts, allow=allow)
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    console.print(f"iaptkit check under policy {facts.id} {facts.version}")
    colour = {"pass": "green", "review": "yellow", "fail": "bold red"}
    for rep in reports:
        console.print(f"[{colour[rep.status]}]{rep.status.upper()}[/] {escape(rep.file)}")
        for f in rep.findings:
            line = f"    {f.location}  ({f.severity}) {f.rule}: {f.message}"
            console.print(escape(line))
    failed = [r for r in reports if r.status == "fail"]
    console.print(
        f"{len(reports)} file(s): {len(failed)} fail, "
        f"{sum(r.status == 'review' for r in reports)} review, "
        f"{sum(r.status == 'pass' for r in reports)} pass"
    )
    if json_out is not None:
        payload = {
            "policy_id": facts.id,
            "policy_version": facts.version,
            "files": [
                {
                    "file": r.file,
                    "status": r.status,
                    "findings": [asdict(f) for f in r.findings],
                }
                for r in reports
            ],
        }
        write_atomic(Path(json_out), json.dumps(payload, indent=2).encode("utf-8"))
    return 1 if failed else 0


def build_command(release_dir: Path, output: Path) -> int:
    """``iaptkit release build``: build, print a summary on stderr; exit 0 when built.

    Parameters
    ----------
    release_dir
        The release folder (inside the environment).
    output
        The export folder to create.

    Returns
    -------
    int
        0 (a build that cannot be made raises :class:`~iaptkit.errors.ReleaseError`).
    """
    console = Console(stderr=True)
    result = build(release_dir, output)
    release = Release.open(release_dir)
    for out in release.outputs:
        mark = "exported" if out.uid in result.exported else "NOT exported"
        console.print(f"{out.uid}: {out.status} -> {mark}", highlight=False)
        if out.uid not in result.exported:
            for reason in out.reasons:
                console.print(f"    {reason}", highlight=False)
    console.print(
        f"Built {result.export_dir}: {len(result.exported)} exported, "
        f"{len(result.excluded)} left out. Checker's report: {result.checker_report}",
        highlight=False,
    )
    return 0


def verify_command(export_dir: Path) -> int:
    """``iaptkit release verify``: exit 0 when every checksum matches, else 1 naming files.

    Parameters
    ----------
    export_dir
        An export folder made by ``iaptkit release build``.

    Returns
    -------
    int
        0 when the export matches its manifest, else 1.
    """
    console = Console(stderr=True)
    problems = verify(export_dir)
    for problem in problems:
        console.print(f"[red]{problem}[/red]", highlight=False)
    if problems:
        console.print(f"Export {export_dir} FAILED verification.", highlight=False)
        return 1
    with contextlib.suppress(Exception):
        count = len(json.loads((Path(export_dir) / "manifest.json").read_text())["files"])
        console.print(f"Export {export_dir}: {count} file(s) verified.", highlight=False)
    return 0
