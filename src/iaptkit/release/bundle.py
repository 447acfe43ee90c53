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
4. writes the checker's copy of the report to ``RELEASE_DIR/checker/report.html``, then renames
   the temporary folder to ``EXPORT_DIR`` (a failed build leaves no partial export).

A build holds two locks, on the release and on the export folder: a concurrent build of the same
release, or into the same folder, is refused at once. An export folder that already holds
anything (another release's export, a release) is refused; a path that cannot be created is one
:class:`~iaptkit.errors.ReleaseError`, never a traceback.

Then ``checksums/<file>.txt`` (sha256 hex, as the SACRO viewer expects) and last ``seal.json``
(:mod:`iaptkit.release.seal`, signed when a key is given). Paths in manifest.json and
results.json are relative to the release (:mod:`iaptkit.release.provenance`).
``iaptkit release verify EXPORT_DIR`` trusts nothing in the export (:mod:`iaptkit.release.verify`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iaptkit._version import __version__
from iaptkit.errors import ReleaseError
from iaptkit.release.acro import results_json
from iaptkit.release.files import folder_mode, sha256_file, write_atomic
from iaptkit.release.keyed import CELLKEYS_NAME
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

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

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


def _occupant(target: Path) -> str:
    """What an existing, non-empty export folder holds, for the refusal."""
    manifest = target / "manifest.json"
    if manifest.is_file():
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            return (
                f"the export of release {data.get('title') or '(untitled)'!r} built "
                f"{data.get('built', '(unknown time)')}"
            )
        except (OSError, ValueError, AttributeError):
            return "an export (its manifest.json is unreadable)"
    if (target / "release.json").is_file():
        return "a release folder (release.json)"
    return "other files"


@contextlib.contextmanager
def _exclusive(lock_path: Path, what: str, *, remove: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path``, or refuse at once when someone else holds it.

    With ``remove`` the lock file is deleted when released; a build that locked a file deleted
    meanwhile (its inode is no longer the path's) refuses too, so two builds never both hold it.
    """
    try:
        handle = lock_path.open("a")
    except OSError as exc:
        raise ReleaseError(
            f"Cannot take the build lock {lock_path} ({exc.strerror or exc}); expected a folder "
            "you can write to."
        ) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ReleaseError(
                f"Another build {what} is in progress (lock {lock_path} is held); wait for it "
                "to finish, then build again."
            ) from None
        try:
            current = os.stat(lock_path).st_ino
        except OSError:
            current = -1
        if current != os.fstat(handle.fileno()).st_ino:
            fcntl.flock(handle, fcntl.LOCK_UN)
            raise ReleaseError(
                f"Another build {what} has just started or finished (lock {lock_path} changed); "
                "look at the export folder, then build again if needed."
            )
        try:
            yield
        finally:
            if remove:
                with contextlib.suppress(OSError):
                    lock_path.unlink()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _make_parent(target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReleaseError(
            f"Cannot create the export folder {target}: {exc.strerror or exc} "
            f"({exc.filename or target.parent}); expected a path whose folders can be created."
        ) from None
    if not target.parent.is_dir():
        raise ReleaseError(f"Cannot create the export folder {target}: {target.parent} is a file.")


def _check_target(target: Path) -> None:
    if target.is_symlink():
        raise ReleaseError(f"Refusing to build into {target}: it is a symbolic link.")
    if target.exists() and not target.is_dir():
        raise ReleaseError(f"Export folder {target} is a file; give a new folder.")
    if target.exists() and any(target.iterdir()):
        raise ReleaseError(
            f"Export folder {target} already exists and is not empty: it holds "
            f"{_occupant(target)}; give a new folder (a build never overwrites an export)."
        )


def build(
    release_dir: str | Path,
    export_dir: str | Path,
    *,
    key: str | Path | None = None,
    joint_protection: bool = True,
    previous: Sequence[str | Path] = (),
) -> BuildResult:
    """Build the export bundle (see module docstring); returns what was exported.

    The build is exclusive: it holds a lock on the release (``RELEASE_DIR/.build.lock``) and one
    on the export folder (``.<name>.build.lock`` beside it); a second build of the same release
    or into the same folder meanwhile is refused. It is atomic: everything is written into a
    staging folder beside the export, renamed into place at the end; a failed build leaves no
    export (staging folders of builds that died are removed by the next build).

    Notes
    -----
    Checklist: docs/disclosure-control.md, "Output checking before export" (checksums, status,
    underlying counts never exported); ``results.json`` follows AI-SDC/ACRO ``record.py``.
    ``key`` is the Ed25519 private key that signs ``seal.json`` (``None``: unsigned, which
    verifies only with ``allow_unsigned``); format in docs/release-format.md. The joint audit
    of every table output (and of the earlier exports ``previous``) runs first; with
    ``joint_protection`` (default) it suppresses more cells where outputs combine to narrow a
    suppressed one (:mod:`iaptkit.release.joint`); ``cellkeys.json`` is exported.

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
    try:
        return _build_exclusive(release, target, signing_key, (joint_protection, previous))
    except OSError as exc:  # a folder that cannot be read or written, a full disk, ...
        raise ReleaseError(
            f"Build of {release.path} into {target} failed: {exc.strerror or exc} "
            f"({exc.filename or target}); nothing was exported."
        ) from None


def _build_exclusive(
    release: Release,
    target: Path,
    signing_key: Ed25519PrivateKey | None,
    joint: tuple[bool, Sequence[str | Path]],
) -> BuildResult:
    _check_target(target)
    resolved_release = release.path.resolve()
    resolved_target = target.resolve()
    if resolved_target == resolved_release or resolved_release in resolved_target.parents:
        raise ReleaseError(
            f"Export folder {target} is inside the release {release.path}; put it outside."
        )
    _make_parent(target)
    with (
        _exclusive(release.path / ".build.lock", f"of release {release.path}"),
        _exclusive(target.parent / f".{target.name}.build.lock", f"into {target}", remove=True),
    ):
        _check_target(target)  # again, now that no other build can be writing it
        for stale in target.parent.glob(f".{target.name}.building-*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by a build that died
        return _build_locked(release, target, signing_key, joint)


def _build_locked(
    release: Release,
    target: Path,
    signing_key: Ed25519PrivateKey | None,
    joint: tuple[bool, Sequence[str | Path]],
) -> BuildResult:
    # the solvers load only when a release is built
    from iaptkit.release.joint import export_cells, export_safe, run_joint_audit, stored_summary

    _recheck(release)
    run_joint_audit(release, protect=joint[0], previous=joint[1])
    release.reload()
    release.cross_audit()
    release.reload()

    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    exported: list[tuple[Output, list[str]]] = []
    excluded: dict[str, str] = {}
    checker = release.path / "checker" / "report.html"
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
        cells = export_cells(release, uids)
        if cells is not None:  # the export's cell keys, when it has protected tables
            write_atomic(tmp / CELLKEYS_NAME, cells)
        pairs = _path_rewrites(release)
        results = portable(results_json(exported, tmp), pairs)
        write_atomic(tmp / "results.json", json.dumps(results, indent=2).encode("utf-8"))
        write_report(release, tmp / "report.html", mode="export", exported=uids)
        html = (tmp / "report.html").read_text(encoding="utf-8")
        write_atomic(tmp / "report.html", portable_html(html, pairs).encode("utf-8"))
        write_checksums(tmp, [n for _, names in exported for n in names])
        manifest = _manifest(release, tmp, exported, excluded)
        manifest["joint_audit"] = export_safe(stored_summary(release))
        manifest = portable(manifest, pairs)
        write_atomic(tmp / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
        seal = write_seal(tmp, signing_key)
        os.chmod(tmp, folder_mode())  # mkdtemp makes 0700
        # the checker's copy before the export appears: an export never lacks its report
        write_report(release, checker, mode="checker", exported=uids)
        if target.exists():
            target.rmdir()  # empty (checked under the lock); rename needs it gone or empty
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
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
                # the extract's row ledger stays inside: its counts are not protected
                "parameters": {k: v for k, v in o.parameters.items() if k != "ledger"},
                "run": o.run or None,
                "files": names,
            }
            for o, names in exported
        ],
        "excluded": [
            {"uid": uid, "name": by_uid[uid].name, "status": by_uid[uid].status} for uid in excluded
        ],
        "cross_audit": export_safe_cross_audit(release.cross_audit_result or {}),
    }
