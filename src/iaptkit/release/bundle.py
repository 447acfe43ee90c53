"""Build and verify the export bundle of a release.

``iaptkit release build RELEASE_DIR -o EXPORT_DIR``:

1. re-checks the register: each output's files still have the checksums recorded when it was
   added (a changed file fails that output); reruns the cross-output audit;
2. copies only releasable outputs (``pass``, or ``review`` with the analyst's exception) into a
   temporary folder beside ``EXPORT_DIR``, refusing any file name that is absolute, contains
   ``..`` or a separator, is a reserved name, or is a symbolic link;
3. writes ``results.json`` (ACRO's structure), ``report.html`` (export copy, no underlying
   counts) and ``manifest.json`` (sha256 of every file, policy, definitions, iaptkit version, git
   commit, notebook and parameters, extract fingerprint);
4. renames the temporary folder to ``EXPORT_DIR`` (a failed build leaves no partial export),
   and writes the checker's copy of the report to ``RELEASE_DIR/checker/report.html``.

Then ``checksums/<file>.txt`` (sha256 hex, as the SACRO viewer expects) and last ``seal.json``
(:mod:`iaptkit.release.seal`, signed when a key is given). Paths in manifest.json and
results.json are relative to the release (:mod:`iaptkit.release.provenance`).
``iaptkit release verify EXPORT_DIR`` trusts nothing in the export (:mod:`iaptkit.release.verify`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from iaptkit._version import __version__
from iaptkit.errors import ReleaseError
from iaptkit.release.acro import results_json
from iaptkit.release.files import folder_mode, sha256_file, write_atomic
from iaptkit.release.outputs import Output
from iaptkit.release.provenance import (
    extract_label,
    path_rewrites,
    portable,
    portable_html,
)
from iaptkit.release.register import Release
from iaptkit.release.report import export_safe_cross_audit, write_report
from iaptkit.release.seal import MANIFEST_FORMAT, write_checksums, write_seal
from iaptkit.release.signing import SEAL_NAME, load_private_key
from iaptkit.release.verify import safe_name, verify

__all__ = ["BuildResult", "build", "git_commit", "verify"]


@dataclass(frozen=True)
class BuildResult:
    """What a build exported and what it left out (with why)."""

    export_dir: Path
    exported: tuple[str, ...]
    excluded: Mapping[str, str]
    checker_report: Path


def git_commit(where: Path) -> str | None:
    """The git commit of the working tree containing ``where`` (``None`` when not in git)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = done.stdout.strip()
    return text if done.returncode == 0 and text else None


def _recheck(release: Release) -> None:
    """Fail outputs whose stored files changed or vanished since registration."""
    release.reset_statuses("build")
    for out in release.outputs:
        for name in (*out.files, *out.internal_files):
            try:
                safe_name(name)
            except ReleaseError as exc:
                raise ReleaseError(
                    f"release.json of {release.path}, output {out.uid}: {exc.message} "
                    "The register was edited by hand; restore it or re-run the notebook."
                ) from None
    for out in release.outputs:
        for name, digest in out.files.items():
            path = release.path / "outputs" / name
            if path.is_symlink() or not path.is_file():
                release.set_status(out.uid, "fail", f"file {name} is missing or a symlink")
            elif sha256_file(path) != digest:
                release.set_status(out.uid, "fail", f"file {name} changed after it was checked")


def build(
    release_dir: str | Path, export_dir: str | Path, *, key: str | Path | None = None
) -> BuildResult:
    """Build the export bundle (see module docstring); returns what was exported.

    Notes
    -----
    Checklist: docs/disclosure-control.md, "Output checking before export" (checksums, status,
    underlying counts never exported); ``results.json`` follows AI-SDC/ACRO ``record.py``.
    ``key`` is the Ed25519 private key that signs ``seal.json`` (``None``: unsigned, which
    verifies only with ``allow_unsigned``); format in docs/release-format.md.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> rel = Release.open_or_create(root / "rel", title="Demo")
    >>> _ = rel.add_text("No numbers.", name="note", exception="Words only.")
    >>> _ = rel.add_text("Secret draft.", name="draft")
    >>> result = build(root / "rel", root / "export")
    >>> result.exported, sorted(p.name for p in (root / "export").iterdir())[:4]
    (('note',), ['checksums', 'manifest.json', 'note.txt', 'report.html'])
    >>> verify(root / "export", allow_unsigned=True)
    []
    """
    release = Release.open(release_dir)
    signing_key = None if key is None else load_private_key(key)
    target = Path(export_dir)
    if target.is_symlink():
        raise ReleaseError(f"Refusing to build into {target}: it is a symbolic link.")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ReleaseError(
            f"Export folder {target} already exists and is not empty; give a new folder "
            "(a build never overwrites an export)."
        )
    resolved_release = release.path.resolve()
    resolved_target = target.resolve()
    if resolved_target == resolved_release or resolved_release in resolved_target.parents:
        raise ReleaseError(
            f"Export folder {target} is inside the release {release.path}; put it outside."
        )
    _recheck(release)
    release.cross_audit()
    release.reload()

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    exported: list[tuple[Output, list[str]]] = []
    excluded: dict[str, str] = {}
    try:
        for out in release.outputs:
            if not out.releasable:
                why = out.status if out.status != "review" else "review without an exception"
                excluded[out.uid] = why
                continue
            names: list[str] = []
            for name in out.files:
                safe_name(name)
                source = release.path / "outputs" / name
                if source.is_symlink() or not source.is_file():
                    raise ReleaseError(f"Output {out.uid}: {source} is missing or a symlink.")
                dest = tmp / name
                if dest.exists():
                    raise ReleaseError(f"Two outputs export the same file name {name!r}.")
                if dest.resolve().parent != tmp.resolve():
                    raise ReleaseError(f"Refusing to write {name!r} outside the export.")
                shutil.copyfile(source, dest)
                names.append(name)
            exported.append((out, names))
        uids = [o.uid for o, _ in exported]
        pairs = _path_rewrites(release)
        results = portable(results_json(exported, tmp), pairs)
        write_atomic(tmp / "results.json", json.dumps(results, indent=2).encode("utf-8"))
        write_report(release, tmp / "report.html", mode="export", exported=uids)
        html = (tmp / "report.html").read_text(encoding="utf-8")
        write_atomic(tmp / "report.html", portable_html(html, pairs).encode("utf-8"))
        write_checksums(tmp, [n for _, names in exported for n in names])
        manifest = portable(_manifest(release, tmp, exported, excluded), pairs)
        write_atomic(tmp / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
        seal = write_seal(tmp, signing_key)
        os.chmod(tmp, folder_mode())  # mkdtemp makes 0700
        if target.exists():
            target.rmdir()  # empty (checked above); rename needs it gone or empty
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    checker = release.path / "checker" / "report.html"
    write_report(release, checker, mode="checker", exported=uids)
    # the register keeps the seal of its latest export: ``verify --against RELEASE_DIR``
    write_atomic(release.path / "checker" / SEAL_NAME, json.dumps(seal, indent=2).encode())
    return BuildResult(target, tuple(uids), excluded, checker)


def _path_rewrites(release: Release) -> list[tuple[str, str]]:
    extracts = {str(o.parameters.get("extract") or "") for o in release.outputs}
    extracts |= {str(e) for e in (release.meta.get("extracts") or []) if isinstance(e, str)}
    return path_rewrites(release.path, sorted(extracts), release.extract_fingerprint)


def _extract_name(release: Release) -> str | None:
    if not release.extract_fingerprint:
        return None
    paths = sorted({str(o.parameters.get("extract") or "") for o in release.outputs} - {""})
    return extract_label(paths[0] if paths else "extract", release.extract_fingerprint)


def _manifest(
    release: Release,
    folder: Path,
    exported: list[tuple[Output, list[str]]],
    excluded: Mapping[str, str],
) -> dict[str, Any]:
    files = {
        p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in sorted(folder.iterdir())
        if p.name != "manifest.json" and p.is_file()
    }
    by_uid = {o.uid: o for o in release.outputs}
    return {
        "format": MANIFEST_FORMAT,
        "title": release.title,
        "analyst": release.analyst,
        "release_created": release.meta.get("created"),
        "built": datetime.now(UTC).isoformat(timespec="seconds"),
        "iaptkit_version": __version__,
        "git_commit": git_commit(Path.cwd()),
        "release": ".",
        "extract": _extract_name(release),
        "extract_fingerprint": release.extract_fingerprint,
        "extract_fingerprints": list(release.meta.get("extract_fingerprints") or []),
        "files": files,
        "outputs": [
            {
                "uid": o.uid,
                "name": o.name,
                "kind": o.kind,
                "status": o.status,
                "reasons": list(o.reasons),
                "exception": o.exception,
                "description": o.description,
                "population": o.population,
                "denominators": list(o.denominators),
                "policy_id": o.policy_id,
                "policy_version": o.policy_version,
                "definitions_version": o.definitions_version,
                "made_by": o.made_by,
                "parameters": dict(o.parameters),
                "files": names,
            }
            for o, names in exported
        ],
        "excluded": [
            {"uid": uid, "name": by_uid[uid].name, "status": by_uid[uid].status} for uid in excluded
        ],
        "cross_audit": export_safe_cross_audit(release.cross_audit_result or {}),
    }
