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

``iaptkit release verify EXPORT_DIR`` recomputes every checksum: exit 1 naming the file on a
mismatch, a missing file or an extra file.
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
from pathlib import Path, PurePosixPath
from typing import Any

from iaptkit._version import __version__
from iaptkit.errors import ReleaseError
from iaptkit.release.acro import results_json
from iaptkit.release.files import folder_mode, sha256_file, write_atomic
from iaptkit.release.outputs import Output
from iaptkit.release.register import Release
from iaptkit.release.report import export_safe_cross_audit, write_report

__all__ = ["MANIFEST_FORMAT", "RESERVED", "BuildResult", "build", "git_commit", "verify"]

MANIFEST_FORMAT = "iaptkit-export/1"
RESERVED = frozenset({"manifest.json", "results.json", "report.html"})


@dataclass(frozen=True)
class BuildResult:
    """What a build exported and what it left out (with why)."""

    export_dir: Path
    exported: tuple[str, ...]
    excluded: Mapping[str, str]
    checker_report: Path


def _safe_name(name: str) -> str:
    """Refuse names that could write outside the export folder."""
    pure = PurePosixPath(name)
    if (
        not name
        or name != pure.name
        or name in (".", "..")
        or "\\" in name
        or name.startswith("/")
        or ".." in pure.parts
    ):
        raise ReleaseError(
            f"Refusing output file name {name!r}: expected a plain file name "
            "(no folders, no '..', not absolute)."
        )
    if name in RESERVED:
        raise ReleaseError(f"Refusing output file name {name!r}: reserved for the bundle itself.")
    return name


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
                _safe_name(name)
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


def build(release_dir: str | Path, export_dir: str | Path) -> BuildResult:
    """Build the export bundle (see module docstring); returns what was exported.

    Notes
    -----
    Checklist: docs/disclosure-control.md, "Output checking before export" (checksums, status,
    underlying counts never exported); ``results.json`` follows AI-SDC/ACRO ``record.py``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> rel = Release.open_or_create(root / "rel", title="Demo")
    >>> _ = rel.add_text("No numbers.", name="note", exception="Words only.")
    >>> _ = rel.add_text("Secret draft.", name="draft")
    >>> result = build(root / "rel", root / "export")
    >>> result.exported, sorted(p.name for p in (root / "export").iterdir())
    (('note',), ['manifest.json', 'note.txt', 'report.html', 'results.json'])
    >>> verify(root / "export")
    []
    """
    release = Release.open(release_dir)
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
                _safe_name(name)
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
        results = results_json(exported, tmp)
        write_atomic(tmp / "results.json", json.dumps(results, indent=2).encode("utf-8"))
        write_report(release, tmp / "report.html", mode="export", exported=uids)
        manifest = _manifest(release, tmp, exported, excluded)
        write_atomic(tmp / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
        os.chmod(tmp, folder_mode())  # mkdtemp makes 0700
        if target.exists():
            target.rmdir()  # empty (checked above); rename needs it gone or empty
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    checker = release.path / "checker" / "report.html"
    write_report(release, checker, mode="checker", exported=uids)
    return BuildResult(target, tuple(uids), excluded, checker)


def _manifest(
    release: Release,
    folder: Path,
    exported: list[tuple[Output, list[str]]],
    excluded: Mapping[str, str],
) -> dict[str, Any]:
    files = {
        p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in sorted(folder.iterdir())
        if p.name != "manifest.json"
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


def verify(export_dir: str | Path) -> list[str]:
    """Problems found re-checking an export against its manifest (empty list: all good).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> verify(pathlib.Path(tempfile.mkdtemp()))[0].startswith("manifest.json missing")
    True
    """
    folder = Path(export_dir)
    manifest_path = folder / "manifest.json"
    if not folder.is_dir():
        raise ReleaseError(f"Expected an export folder at {folder}; found none.")
    if not manifest_path.is_file():
        return [f"manifest.json missing in {folder}"]
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        listed: Mapping[str, Any] = manifest["files"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        return [f"manifest.json unreadable in {folder}: {exc}"]
    problems: list[str] = []
    for name, entry in listed.items():
        try:
            if name not in RESERVED:
                _safe_name(name)
        except ReleaseError as exc:
            problems.append(f"{name}: {exc.message}")
            continue
        path = folder / name
        if path.is_symlink():
            problems.append(f"{name}: is a symbolic link")
        elif not path.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(path) != entry.get("sha256"):
            problems.append(f"{name}: checksum mismatch (file changed after build)")
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if rel != "manifest.json" and rel not in listed and not path.is_dir():
            problems.append(f"{rel}: extra file not in the manifest")
        elif path.is_dir():
            problems.append(f"{rel}/: extra folder not in the manifest")
    return problems
