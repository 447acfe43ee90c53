"""``iaptkit release verify EXPORT_DIR``: trust nothing in the export.

1. ``seal.json`` must be signed (Ed25519; an unsigned seal is accepted only with
   ``allow_unsigned``, and said so) and its signature must match; with ``public_key`` the signer
   must be that key.
2. Every file (manifest.json and results.json included) must have the sha256 the seal records:
   a missing, changed or extra file, and any manifest edit, is one line each. results.json that
   differs only by the fields the SACRO viewer adds on review is a reviewer's decision, reported
   as such, not tampering.
3. The file checks (:func:`iaptkit.release.checks.check_file`) re-run on every exported file
   under the policy each output records; an output whose recorded status is better than what the
   checks find now fails verification. The cross-output audit re-runs on the published tables
   (:mod:`iaptkit.release.published_audit`): a suppressed cell the exported files determine fails.
4. With ``against``, the export is compared with the register of the release folder: same
   outputs, statuses and file checksums, and the seal the build left in ``checker/seal.json``.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from iaptkit.errors import IaptkitError, ReleaseError
from iaptkit.release.checks import check_file
from iaptkit.release.files import sha256_file
from iaptkit.release.findings import policy_facts
from iaptkit.release.outputs import IMAGE_SUFFIXES
from iaptkit.release.published_audit import published_audit
from iaptkit.release.seal import RESERVED, export_files
from iaptkit.release.signing import SEAL_NAME, results_content_digest, seal_signature_ok

__all__ = ["Verification", "reviewer_decisions", "safe_name", "verify", "verify_export"]

_RANK = {"pass": 0, "review": 1, "fail": 2}


@dataclass
class Verification:
    """What verify found: ``problems`` (each fails), ``notes`` (told, not failing)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    signed: bool = False
    key_fingerprint: str | None = None
    reviews: list[str] = field(default_factory=list)
    files: int = 0


def safe_name(name: str) -> str:
    """Refuse names that could write outside the export folder.

    Examples
    --------
    >>> safe_name("a.csv")
    'a.csv'
    """
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


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _check_seal(seal: Any, result: Verification, allow_unsigned: bool, key: str | None) -> bool:
    if not isinstance(seal, dict) or not isinstance(seal.get("files"), dict):
        result.problems.append(f"{SEAL_NAME}: not a seal (expected a 'files' mapping)")
        return False
    if seal.get("signature") is None:
        if allow_unsigned:
            result.notes.append("UNSIGNED export: accepted because --allow-unsigned was given")
        else:
            result.problems.append(
                f"{SEAL_NAME}: the export is not signed; expected a signature "
                "(accept an unsigned export only with --allow-unsigned)"
            )
        return True
    result.signed = True
    result.key_fingerprint = seal.get("key_fingerprint")
    if not seal_signature_ok(seal):
        result.problems.append(
            f"{SEAL_NAME}: signature does not match its content (seal edited or re-computed)"
        )
        result.signed = False
    elif key is not None and str(seal.get("public_key", "")).lower() != key.lower():
        result.problems.append(
            f"{SEAL_NAME}: signed by key {result.key_fingerprint}, expected the given public key"
        )
    return True


def reviewer_decisions(summary: str) -> list[tuple[str, str, str]]:
    """(output, ACRO status, reviewer status) from the SACRO viewer's ``reviewer_summary``.

    Examples
    --------
    >>> text = chr(10).join(["# Review summary", "ok", "## recovery", "ACRO status: pass",
    ...                      "Reviewer status: approved"])
    >>> reviewer_decisions(text)
    [('recovery', 'pass', 'approved')]
    """
    found: list[tuple[str, str, str]] = []
    for block in re.split(r"^## ", summary, flags=re.MULTILINE)[1:]:
        lines = block.splitlines()
        acro = re.search(r"ACRO status:\s*(.+)", block)
        decision = re.search(r"Reviewer status:\s*(.+)", block)
        found.append(
            (
                lines[0].strip(),
                acro.group(1).strip() if acro else "?",
                decision.group(1).strip() if decision else "?",
            )
        )
    return found


def _review_notes(results: Any) -> list[str]:
    if not isinstance(results, dict) or "reviewer_summary" not in results:
        return []
    who = results.get("reviewer", "?")
    when = results.get("review_timestamp", "?")
    summary = str(results.get("reviewer_summary") or "")
    decisions = reviewer_decisions(summary)
    lines = [
        f"results.json: reviewed by {who} at {when} in the SACRO viewer "
        f"({len(decisions)} decision(s)); content otherwise as sealed"
    ]
    lines += [f"  reviewer decision: {uid} {dec} (recorded {acro})" for uid, acro, dec in decisions]
    return lines


def _check_files(folder: Path, seal: dict[str, Any], result: Verification) -> None:
    sealed: dict[str, str] = {str(k): str(v) for k, v in seal["files"].items()}
    present = export_files(folder)
    result.files = len(sealed)
    for name, digest in sealed.items():
        path = folder / name
        if name not in present:
            result.problems.append(f"{name}: missing (listed in the seal)")
        elif path.is_symlink():
            result.problems.append(f"{name}: is a symbolic link")
        elif sha256_file(path) == digest:
            continue
        elif name == "results.json":
            try:
                results = _read_json(path)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                result.problems.append(f"results.json: changed and unreadable ({exc})")
                continue
            if results_content_digest(results) == seal.get("results_content"):
                result.reviews.extend(_review_notes(results) or ["results.json: reviewer fields"])
            else:
                result.problems.append(
                    "results.json: changed after build beyond a reviewer's fields"
                )
        elif name == "manifest.json":
            result.problems.append("manifest.json: edited after build (sha256 differs)")
        else:
            result.problems.append(f"{name}: changed after build (sha256 differs from the seal)")
    for name in present:
        if name not in sealed:
            result.problems.append(f"{name}: extra file not in the seal")


def _recheck_outputs(folder: Path, manifest: dict[str, Any], result: Verification) -> None:
    facts_by_policy: dict[str, Any] = {}
    for out in manifest.get("outputs") or []:
        uid, recorded = out.get("uid", "?"), str(out.get("status"))
        policy = str(out.get("policy_id") or "nhs-sde")
        try:
            facts = facts_by_policy.setdefault(policy, policy_facts(policy))
        except IaptkitError as exc:
            result.problems.append(f"output {uid}: recorded policy {policy!r} unknown: {exc}")
            continue
        worst, why = "pass", ""
        for name in out.get("files") or []:
            path = folder / str(name)
            if not path.is_file():
                continue  # told by the file checks above
            report = check_file(path, policy=facts, allow=(".txt", ".md", ".json"))
            for f in report.findings:
                benign = f.rule in ("image", "file-type") and f.severity == "review"
                if (
                    benign
                    and Path(name).suffix.lower() in IMAGE_SUFFIXES
                    and out.get("kind") == "figure"
                ):
                    continue
                if benign and out.get("kind") in ("text", "file"):
                    continue
                if _RANK[f.severity] > _RANK[worst]:
                    worst, why = f.severity, f"{name} {f.describe()}"
        if _RANK.get(recorded, 2) < _RANK[worst]:
            result.problems.append(
                f"output {uid}: recorded status {recorded}, but the file checks under policy "
                f"{policy} now give {worst}: {why}"
            )


def _against(folder: Path, seal: dict[str, Any], manifest: Any, release_dir: Path) -> list[str]:
    from iaptkit.release.register import Release  # the register only when asked

    problems: list[str] = []
    release = Release.open(release_dir)
    kept = release.path / "checker" / SEAL_NAME
    if not kept.is_file():
        problems.append(f"{kept}: no seal kept in the release (never built?)")
    elif _read_json(kept).get("signature") != seal.get("signature") or _read_json(kept).get(
        "files"
    ) != seal.get("files"):
        problems.append(f"{SEAL_NAME}: differs from the seal the release kept in {kept}")
    register = {o.uid: o for o in release.outputs}
    exported = {str(o.get("uid")): o for o in (manifest.get("outputs") or [])}
    for uid, out in exported.items():
        reg = register.get(uid)
        if reg is None:
            problems.append(f"output {uid}: in the export but not in the register")
            continue
        if reg.status != out.get("status"):
            problems.append(
                f"output {uid}: status {out.get('status')} in the export, {reg.status} in the "
                "register"
            )
        for name, digest in reg.files.items():
            if seal["files"].get(name) != digest:
                problems.append(f"{name}: differs from the file the register checked ({uid})")
    for uid, reg in register.items():
        if reg.releasable and uid not in exported:
            problems.append(f"output {uid}: releasable in the register but not in the export")
    return problems


def verify_export(
    export_dir: str | Path,
    *,
    allow_unsigned: bool = False,
    public_key: str | None = None,
    against: str | Path | None = None,
) -> Verification:
    """Verify an export (see module docstring); problems and notes, one line each.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> verify_export(pathlib.Path(tempfile.mkdtemp())).problems[0]
    'seal.json: missing; expected the seal written by iaptkit release build'
    """
    folder = Path(export_dir)
    if not folder.is_dir():
        raise ReleaseError(f"Expected an export folder at {folder}; found none.")
    result = Verification()
    try:
        seal = _read_json(folder / SEAL_NAME)
    except FileNotFoundError:
        result.problems.append(
            f"{SEAL_NAME}: missing; expected the seal written by iaptkit release build"
        )
        return result
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        result.problems.append(f"{SEAL_NAME}: unreadable ({exc})")
        return result
    if not _check_seal(seal, result, allow_unsigned, public_key):
        return result
    _check_files(folder, seal, result)
    try:
        manifest = _read_json(folder / "manifest.json")
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        result.problems.append(f"manifest.json: unreadable ({exc})")
        return result
    _recheck_outputs(folder, manifest, result)
    outputs = [o for o in manifest.get("outputs") or [] if isinstance(o, dict)]
    facts: dict[str, Any] = {}
    for policy in {str(o.get("policy_id")) for o in outputs if o.get("policy_id")}:
        with contextlib.suppress(IaptkitError):
            facts[policy] = policy_facts(policy)
    problems, notes = published_audit(folder, outputs, facts)
    result.problems.extend(problems)
    result.notes.extend(notes)
    from iaptkit.release.cellaudit import audit_cellkeys  # the solvers only when verifying

    problems, notes = audit_cellkeys(folder)
    result.problems.extend(problems)
    result.notes.extend(notes)
    if against is not None:
        result.problems.extend(_against(folder, seal, manifest, Path(against)))
    return result


def verify(
    export_dir: str | Path,
    *,
    allow_unsigned: bool = False,
    public_key: str | None = None,
    against: str | Path | None = None,
) -> list[str]:
    """Problems found verifying an export (empty list: all good); see :func:`verify_export`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> verify(pathlib.Path(tempfile.mkdtemp()))[0].startswith("seal.json: missing")
    True
    """
    return verify_export(
        export_dir, allow_unsigned=allow_unsigned, public_key=public_key, against=against
    ).problems
