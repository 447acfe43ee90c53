"""The ``iaptkit check``, ``iaptkit release build`` and ``iaptkit release verify`` commands.

The work is :mod:`iaptkit.release`'s (file checks, bundle, verification); here the results are
told on stderr and turned into exit codes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from iaptkit.errors import ReleaseError
from iaptkit.release.bundle import build
from iaptkit.release.checks import check_paths
from iaptkit.release.files import write_atomic
from iaptkit.release.findings import policy_facts
from iaptkit.release.register import Release
from iaptkit.release.signing import default_key_path, generate_key, load_public_key
from iaptkit.release.verify import verify_export

__all__ = ["build_command", "check_command", "keygen_command", "protect_command", "verify_command"]


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


def keygen_command(key: Path | None, *, force: bool = False) -> int:
    """``iaptkit release keygen``: write a signing key; exit 0.

    Parameters
    ----------
    key
        Where to write the private key (``None``: the default path).
    force
        Replace an existing key.

    Returns
    -------
    int
        0 (an existing key without ``force`` raises :class:`~iaptkit.errors.ReleaseError`).
    """
    path, fingerprint = generate_key(key or default_key_path(), overwrite=force)
    Console(stderr=True).print(
        f"Signing key {path} (mode 0600), public key {path}.pub, fingerprint {fingerprint}. "
        "Keep the private key outside every export.",
        highlight=False,
    )
    return 0


def build_command(
    release_dir: Path,
    output: Path,
    *,
    key: Path | None = None,
    unsigned: bool = False,
    joint_protection: bool = True,
    previous: Sequence[Path] = (),
) -> int:
    """``iaptkit release build``: build, print a summary on stderr; exit 0 when built.

    Parameters
    ----------
    release_dir
        The release folder (inside the environment).
    output
        The export folder to create.
    key
        The signing key (``None``: the default path; when no key is there the export is
        unsigned, with a warning).
    unsigned
        Build without a signature.
    joint_protection
        Protect linked outputs jointly (``False``: fail them instead).
    previous
        Earlier exports whose published cells join the joint audit.

    Returns
    -------
    int
        0 (a build that cannot be made raises :class:`~iaptkit.errors.ReleaseError`).
    """
    console = Console(stderr=True)
    if unsigned and key is not None:
        raise ReleaseError("Expected either --key or --unsigned; found both.")
    signing = None if unsigned else (key or default_key_path())
    if signing is not None and not Path(signing).expanduser().is_file():
        if key is not None:
            raise ReleaseError(
                f"Expected a signing key at {key}; found none. Make one with "
                f"'iaptkit release keygen --key {key}'."
            )
        console.print(
            f"[yellow]No signing key at {signing}: building an UNSIGNED export (verify will "
            "need --allow-unsigned). Make a key with 'iaptkit release keygen'.[/yellow]",
            highlight=False,
        )
        signing = None
    if signing is not None:
        resolved = Path(signing).expanduser().resolve()
        for folder in (Path(release_dir).resolve(), Path(output).resolve()):
            if folder == resolved or folder in resolved.parents:
                raise ReleaseError(
                    f"Refusing the signing key {signing}: it lies inside {folder}. Keep the "
                    "private key outside every release and export (default ~/.config/iaptkit/)."
                )
    result = build(
        release_dir, output, key=signing, joint_protection=joint_protection, previous=previous
    )
    release = Release.open(release_dir)
    _print_joint(console, release.meta.get("joint_audit") or {})
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
    console.print("UNSIGNED export." if signing is None else f"Signed with {signing}.")
    return 0


def _print_joint(console: Console, joint: Mapping[str, Any]) -> None:
    if not joint:
        return
    added = int(joint.get("added") or 0)
    line = (
        f"Joint audit of {len(joint.get('outputs') or [])} output(s)"
        f" and {len(joint.get('previous') or [])} earlier export(s): {joint.get('n_cells', 0)} "
        f"cells, {joint.get('n_suppressed', 0)} suppressed, {joint.get('n_relations', 0)} "
        f"relations: {'passed' if joint.get('passed') else 'FAILED'}"
    )
    if added:
        line += (
            f"; joint protection suppressed {added} more cell(s) (value mass "
            f"{float(joint.get('value_mass') or 0):g}) in "
            f"{dict(joint.get('added_by_output') or {})}"
        )
    console.print(line, highlight=False)
    for failure in joint.get("failures") or []:
        console.print(f"    at risk: {failure}", highlight=False)


def protect_command(release_dir: Path, *, previous: Sequence[Path] = ()) -> int:
    """``iaptkit release protect``: the joint audit and protection now; exit 0 when it passes.

    Parameters
    ----------
    release_dir
        The release folder.
    previous
        Earlier exports whose published cells join the audit.

    Returns
    -------
    int
        0 when every suppressed cell keeps its width after joint protection, else 1.
    """
    from iaptkit.release.joint import run_joint_audit  # the solvers only when protecting

    summary = run_joint_audit(Release.open(release_dir), protect=True, previous=previous)
    _print_joint(Console(stderr=True), summary)
    return 0 if summary.get("passed") else 1


def verify_command(
    export_dir: Path,
    *,
    allow_unsigned: bool = False,
    public_key: Path | None = None,
    against: Path | None = None,
) -> int:
    """``iaptkit release verify``: exit 0 when the export verifies, else 1, one line a problem.

    Parameters
    ----------
    export_dir
        An export folder made by ``iaptkit release build``.
    allow_unsigned
        Accept an unsigned export (said so in the output).
    public_key
        A public key file the seal must be signed with.
    against
        A release folder whose register the export must match.

    Returns
    -------
    int
        0 when the export verifies, else 1.
    """
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    key_hex = None if public_key is None else load_public_key(public_key)
    result = verify_export(
        export_dir, allow_unsigned=allow_unsigned, public_key=key_hex, against=against
    )
    for problem in result.problems:
        console.print(f"[red]{escape(problem)}[/red]")
    for note in result.notes:
        console.print(f"[yellow]{escape(note)}[/yellow]")
    for line in result.reviews:
        console.print(escape(line))
    if result.problems:
        console.print(
            f"Export {escape(str(export_dir))} FAILED verification: "
            f"{len(result.problems)} problem(s)."
        )
        return 1
    signer = f"signed by key {result.key_fingerprint}" if result.signed else "UNSIGNED"
    review = "; reviewed in the SACRO viewer" if result.reviews else ""
    console.print(
        f"Export {escape(str(export_dir))}: {result.files} file(s) verified, {signer}{review}."
    )
    return 0
