"""The release register: one folder per piece of work, outputs added to it with their status.

A release is a folder *inside* the secure environment::

    RELEASE_DIR/release.json        the register (metadata, status and reasons of every output)
    RELEASE_DIR/outputs/            the export views (what would leave), one file set per output
    RELEASE_DIR/internal/           underlying unprotected counts, internal certificates and the
                                    pickled protected tables for the cross-output audit; never
                                    exported
    RELEASE_DIR/checker/            the checker's report (with underlying counts), made by build

Every ``add_*`` call re-reads ``release.json`` under a file lock, merges the new output and writes
the file atomically, so several notebooks run one after another (or a notebook re-run) append to
the same release without losing outputs. Adding an output with the name of an existing one
replaces it (a re-run of the same notebook does not duplicate its outputs).

Status rules (disclosure-control.md, "Output checking before export"): a table passes when its
audit passed and its file checks pass; anything unprotected or failing an audit fails; a figure
without its protected data table fails; images and free text are ``review``. An output is
*releasable* when it passes, or is ``review`` with an exception request written by the analyst.
"""

from __future__ import annotations

import contextlib
import copyreg
import fcntl
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol

import pandas as pd

from iaptkit._version import __version__
from iaptkit.errors import ReleaseError

if TYPE_CHECKING:
    from iaptkit.sdc.audit import AuditCertificate

__all__ = [
    "RELEASE_FORMAT",
    "STATUSES",
    "Output",
    "Release",
    "combine_status",
    "sha256_file",
    "write_atomic",
]

RELEASE_FORMAT = "iaptkit-release/1"
STATUSES: tuple[str, ...] = ("pass", "review", "fail")
Status = Literal["pass", "review", "fail"]
OutputKind = Literal["table", "figure", "model", "text", "file"]
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".svg", ".gif"})


class _Certificate(Protocol):
    @property
    def passed(self) -> bool: ...

    def to_dict(self, *, internal: bool = False) -> dict[str, Any]: ...


class _Policy(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def version(self) -> str: ...


class _Protected(Protocol):
    """The parts of :class:`iaptkit.sdc.ProtectedTable` the register uses (read-only)."""

    @property
    def name(self) -> str: ...

    @property
    def dims(self) -> tuple[str, ...]: ...

    @property
    def policy(self) -> Any: ...

    @property
    def population(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def cells(self) -> pd.DataFrame: ...

    @property
    def certificate(self) -> Any: ...

    @property
    def audit_passed(self) -> bool: ...

    def published_long(self) -> pd.DataFrame: ...

    def underlying(self) -> pd.DataFrame: ...


class _Check(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def reasons(self) -> tuple[str, ...]: ...


def combine_status(statuses: Sequence[str]) -> Status:
    """The worst of several statuses: ``fail`` > ``review`` > ``pass``.

    Notes
    -----
    Status rules: disclosure-control.md, "Output checking before export".

    Examples
    --------
    >>> combine_status(["pass", "review"])
    'review'
    >>> combine_status([])
    'pass'
    """
    if "fail" in statuses:
        return "fail"
    if "review" in statuses:
        return "review"
    return "pass"


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return slug[:60] or "output"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


@dataclass(frozen=True)
class Output:
    """One registered output and everything the checker needs to judge it.

    ``files`` are names inside ``RELEASE_DIR/outputs/`` (the export view) with their sha256 at
    registration; ``internal_files`` are inside ``RELEASE_DIR/internal/`` and never exported.
    """

    uid: str
    kind: str
    name: str
    description: str
    population: str = ""
    denominators: tuple[str, ...] = ()
    policy_id: str | None = None
    policy_version: str | None = None
    definitions_version: str | None = None
    made_by: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    status: str = "review"
    reasons: tuple[str, ...] = ()
    exception: str | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    internal_files: tuple[str, ...] = ()
    dims: tuple[str, ...] = ()
    audit: Mapping[str, Any] | None = None
    n: int | None = None
    df_resid: float | None = None
    created: str = ""

    @property
    def releasable(self) -> bool:
        """``pass``, or ``review`` with an exception request written by the analyst."""
        return self.status == "pass" or (
            self.status == "review" and bool((self.exception or "").strip())
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (the form stored in ``release.json``)."""
        data = asdict(self)
        data["parameters"] = _jsonable(dict(self.parameters))
        data["files"] = dict(self.files)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Output:
        """Rebuild an output from its ``release.json`` form."""
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in known}
        for key in ("denominators", "reasons", "internal_files", "dims"):
            kwargs[key] = tuple(kwargs.get(key) or ())
        return cls(**kwargs)


class Release:
    """A release folder: the register of outputs one piece of work wants to export.

    Use :meth:`open_or_create`; every ``add_*`` call is persisted at once (atomically, under a
    lock), so there is nothing to lose if a notebook stops half-way; :meth:`save` rewrites the
    metadata.

    Notes
    -----
    Implements disclosure-control.md, "Output checking before export": description, population
    and denominators, policy, where the output was made, status pass/fail/review with reasons,
    the analyst's exception request, underlying counts kept for the checker only.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "rel"
    >>> rel = Release.open_or_create(folder, title="Demo", analyst="A. Analyst")
    >>> out = rel.add_text("Recovery rose in 2024.", name="summary", description="Key finding")
    >>> (out.uid, out.status, out.releasable)
    ('summary', 'review', False)
    >>> rel.request_exception("summary", "Plain words, no numbers.").releasable
    True
    >>> [o.uid for o in Release.open_or_create(folder).outputs]
    ['summary']
    """

    def __init__(self, path: Path, meta: Mapping[str, Any]) -> None:
        self.path = path
        self._meta: dict[str, Any] = dict(meta)

    # ------------------------------------------------------------------ opening and storage

    @classmethod
    def open_or_create(
        cls,
        path: str | Path,
        *,
        title: str = "",
        analyst: str = "",
        extract_fingerprint: str | None = None,
    ) -> Release:
        """Open the release at ``path``, creating the folder and register if needed.

        Title, analyst and fingerprint given here fill in blanks of an existing release; a
        different non-empty value replaces the old one (the latest notebook's view wins), and
        every extract fingerprint seen is kept in ``extract_fingerprints`` (shown to the
        checker: outputs of one release should come from one extract).
        """
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise ReleaseError(
                f"Expected a release folder at {folder}, found a file. Give a folder path."
            )
        for sub in ("outputs", "internal"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        rel = cls(folder, {})
        with rel._locked() as meta:
            if title:
                meta["title"] = title
            if analyst:
                meta["analyst"] = analyst
            if extract_fingerprint:
                meta["extract_fingerprint"] = extract_fingerprint
                seen = list(meta.get("extract_fingerprints") or [])
                if extract_fingerprint not in seen:
                    seen.append(extract_fingerprint)  # outputs made from several extracts
                meta["extract_fingerprints"] = seen
        return rel

    @classmethod
    def open(cls, path: str | Path) -> Release:
        """Open an existing release (``ReleaseError`` if there is no ``release.json``)."""
        folder = Path(path)
        if not (folder / "release.json").is_file():
            raise ReleaseError(
                f"Expected a release folder with release.json at {folder}; found none. "
                "Create it with Release.open_or_create in the notebook that makes the outputs."
            )
        rel = cls(folder, {})
        rel._meta = rel._read()
        return rel

    def _read(self) -> dict[str, Any]:
        file = self.path / "release.json"
        if not file.exists():
            return {
                "format": RELEASE_FORMAT,
                "title": "",
                "analyst": "",
                "created": _now(),
                "extract_fingerprint": None,
                "iaptkit_version": __version__,
                "outputs": [],
                "cross_audit": None,
            }
        try:
            data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ReleaseError(
                f"{file} is not valid JSON ({exc}); restore it or start anew."
            ) from None
        if data.get("format") != RELEASE_FORMAT:
            raise ReleaseError(
                f"Expected release.json format {RELEASE_FORMAT!r} in {file}, "
                f"found {data.get('format')!r}."
            )
        return data

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """Read-modify-write of release.json under an exclusive lock; written atomically."""
        self.path.mkdir(parents=True, exist_ok=True)
        with (self.path / ".release.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                meta = self._read()
                yield meta
                meta["updated"] = _now()
                text = json.dumps(meta, indent=2, sort_keys=False, default=str)
                write_atomic(self.path / "release.json", text.encode("utf-8"))
                self._meta = meta
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def save(self) -> None:
        """Write the register again (every ``add_*`` already saved; this is for symmetry)."""
        with self._locked():
            pass

    def reload(self) -> Release:
        """Re-read ``release.json`` (outputs added by other notebooks since opening)."""
        self._meta = self._read()
        return self

    # ------------------------------------------------------------------ properties

    @property
    def title(self) -> str:
        """The release title."""
        return str(self._meta.get("title", ""))

    @property
    def analyst(self) -> str:
        """Who made the outputs."""
        return str(self._meta.get("analyst", ""))

    @property
    def extract_fingerprint(self) -> str | None:
        """Fingerprint of the source extract (``Extract.fingerprint()``), if given."""
        value = self._meta.get("extract_fingerprint")
        return None if value is None else str(value)

    @property
    def meta(self) -> Mapping[str, Any]:
        """The register's metadata as stored (read-only copy)."""
        return dict(self._meta)

    @property
    def outputs(self) -> tuple[Output, ...]:
        """Every registered output, in the order added."""
        return tuple(Output.from_json(o) for o in self._meta.get("outputs", []))

    def output(self, uid_or_name: str) -> Output:
        """One output by uid or name (``ReleaseError`` naming the known ones if absent)."""
        for out in self.outputs:
            if uid_or_name in (out.uid, out.name):
                return out
        known = ", ".join(o.uid for o in self.outputs) or "none"
        raise ReleaseError(f"No output {uid_or_name!r} in release {self.path}; known: {known}.")

    @property
    def cross_audit_result(self) -> Mapping[str, Any] | None:
        """The stored result of the last cross-output audit, if any."""
        value = self._meta.get("cross_audit")
        return None if value is None else dict(value)

    # ------------------------------------------------------------------ registering

    def _register(self, out: Output) -> Output:
        with self._locked() as meta:
            outputs = [o for o in meta.get("outputs", []) if o.get("uid") != out.uid]
            replaced = len(outputs) != len(meta.get("outputs", []))
            out = replace(out, created=_now())
            if replaced:
                index = [o.get("uid") for o in meta["outputs"]].index(out.uid)
                outputs.insert(index, out.to_json())
            else:
                outputs.append(out.to_json())
            meta["outputs"] = outputs
            meta["cross_audit"] = None  # stale once the set of outputs changes
        return out

    def _uid(self, name: str) -> str:
        return _slug(name)

    def _clear_files(self, uid: str) -> None:
        for sub in ("outputs", "internal"):
            for old in (self.path / sub).glob(f"{uid}.*"):
                old.unlink()

    def _write_output(self, name: str, data: bytes) -> tuple[str, str]:
        write_atomic(self.path / "outputs" / name, data)
        return name, hashlib.sha256(data).hexdigest()

    def _write_internal(self, name: str, data: bytes) -> str:
        write_atomic(self.path / "internal" / name, data)
        return name

    def _store_protected(
        self, uid: str, pt: _Protected, suffix: str = ""
    ) -> tuple[dict[str, str], list[str]]:
        stem = f"{uid}{suffix}"
        files = dict(
            [self._write_output(f"{stem}.csv", pt.published_long().to_csv(index=False).encode())]
        )
        internal = [
            self._write_internal(
                f"{stem}.underlying.csv", pt.underlying().to_csv(index=False).encode()
            ),
            self._write_internal(f"{stem}.cells.csv", pt.cells.to_csv(index=False).encode()),
            self._write_internal(
                f"{stem}.certificate.json",
                json.dumps(pt.certificate.to_dict(internal=True), indent=1, default=str).encode(),
            ),
        ]
        # if the table cannot be pickled, the cross-audit reports that it could not be re-read
        with contextlib.suppress(pickle.PicklingError, TypeError, AttributeError):
            internal.append(self._write_internal(f"{stem}.table.pkl", _dumps(pt)))
        return files, internal

    def add_table(
        self,
        pt: _Protected | pd.DataFrame,
        *,
        name: str | None = None,
        description: str = "",
        population: str | None = None,
        denominators: Sequence[str] = (),
        made_by: str = "",
        parameters: Mapping[str, Any] | None = None,
        exception: str | None = None,
        definitions_version: str | None = None,
    ) -> Output:
        """Register a protected table (or, to record it as failing, an unprotected DataFrame).

        The export view (``published_long``) goes to ``outputs/``; the underlying counts, the
        internal cell statuses and certificate go to ``internal/``. Status: ``pass`` when the
        audit passed and the file checks of the export view pass; ``fail`` for an unprotected
        table or a failed audit.
        """
        from iaptkit.release.checks import check_file, policy_facts

        if isinstance(pt, pd.DataFrame):
            uid = self._uid(name or "unprotected_table")
            self._clear_files(uid)
            internal = [
                self._write_internal(f"{uid}.unprotected.csv", pt.to_csv(index=False).encode())
            ]
            out = Output(
                uid=uid,
                kind="table",
                name=name or uid,
                description=description,
                population=population or "",
                denominators=tuple(denominators),
                made_by=made_by,
                parameters=dict(parameters or {}),
                status="fail",
                reasons=("unprotected: a plain DataFrame, not a ProtectedTable from iaptkit.sdc",),
                exception=exception,
                internal_files=tuple(internal),
                dims=tuple(str(c) for c in pt.columns),
                definitions_version=definitions_version,
            )
            return self._register(out)
        uid = self._uid(name or pt.name)
        self._clear_files(uid)
        files, internal = self._store_protected(uid, pt)
        reasons: list[str] = []
        statuses: list[str] = []
        if pt.audit_passed:
            statuses.append("pass")
        else:
            statuses.append("fail")
            reasons.append(_audit_reason(pt.certificate))
        facts = policy_facts(pt.policy)
        if facts.rounding_applies_to == "sub-national":
            # protect() rounded the sub-national counts; national ones are unrounded by design
            # and a file check cannot tell them apart, so only the count rules apply here
            facts = replace(facts, rounding_applies_to="none")
        report = check_file(self.path / "outputs" / f"{uid}.csv", policy=facts)
        statuses.append(report.status)
        reasons.extend(f"file check: {f.describe()}" for f in report.findings)
        if definitions_version is None and "definitions_version" in pt.cells.columns:
            versions = pt.cells["definitions_version"].dropna().unique()
            definitions_version = str(versions[0]) if len(versions) == 1 else None
        out = Output(
            uid=uid,
            kind="table",
            name=name or pt.name,
            description=description or pt.description,
            population=population if population is not None else pt.population,
            denominators=tuple(denominators),
            policy_id=str(pt.policy.id),
            policy_version=str(pt.policy.version),
            definitions_version=definitions_version,
            made_by=made_by,
            parameters=dict(parameters or {}),
            status=combine_status(statuses),
            reasons=tuple(reasons) or ("audit passed; file checks passed",),
            exception=exception,
            files=files,
            internal_files=tuple(internal),
            dims=tuple(pt.dims),
            audit=pt.certificate.to_dict(internal=False),
        )
        return self._register(out)

    def add_figure(
        self,
        path_png: str | Path,
        data: _Protected | None,
        *,
        name: str | None = None,
        description: str = "",
        population: str | None = None,
        denominators: Sequence[str] = (),
        made_by: str = "",
        parameters: Mapping[str, Any] | None = None,
        exception: str | None = None,
        definitions_version: str | None = None,
    ) -> Output:
        """Register a figure with its protected data table.

        A figure is ``review`` (an image must be looked at); it ``fail``s without its data table
        or when that table's audit failed (disclosure-control.md: "A histogram or chart is
        released only with its underlying (protected) table").
        """
        image = Path(path_png)
        if not image.is_file():
            raise ReleaseError(f"Expected an image file at {image}; found none.")
        if image.suffix.lower() not in _IMAGE_SUFFIXES:
            raise ReleaseError(
                f"Expected a figure as {', '.join(sorted(_IMAGE_SUFFIXES))}; found {image.name}."
            )
        uid = self._uid(name or image.stem)
        self._clear_files(uid)
        files = dict([self._write_output(f"{uid}{image.suffix.lower()}", image.read_bytes())])
        internal: list[str] = []
        reasons = ["image: the checker compares it with its data table"]
        statuses = ["review"]
        policy_id = policy_version = None
        audit: Mapping[str, Any] | None = None
        dims: tuple[str, ...] = ()
        if data is None:
            statuses.append("fail")
            reasons.append("figure without its protected data table")
        else:
            more, internal = self._store_protected(uid, data, suffix=".data")
            files.update(more)
            policy_id, policy_version = str(data.policy.id), str(data.policy.version)
            audit = data.certificate.to_dict(internal=False)
            dims = tuple(data.dims)
            if not data.audit_passed:
                statuses.append("fail")
                reasons.append("data table: " + _audit_reason(data.certificate))
        out = Output(
            uid=uid,
            kind="figure",
            name=name or image.stem,
            description=description,
            population=population if population is not None else getattr(data, "population", ""),
            denominators=tuple(denominators),
            policy_id=policy_id,
            policy_version=policy_version,
            definitions_version=definitions_version,
            made_by=made_by,
            parameters=dict(parameters or {}),
            status=combine_status(statuses),
            reasons=tuple(reasons),
            exception=exception,
            files=files,
            internal_files=tuple(internal),
            dims=dims,
            audit=audit,
        )
        return self._register(out)

    def add_model(
        self,
        result_df: pd.DataFrame,
        n: int,
        df_resid: float,
        check: _Check | None,
        *,
        name: str = "model",
        description: str = "",
        population: str = "",
        denominators: Sequence[str] = (),
        made_by: str = "",
        parameters: Mapping[str, Any] | None = None,
        exception: str | None = None,
        policy: _Policy | None = None,
        definitions_version: str | None = None,
    ) -> Output:
        """Register model results (coefficients table) with N, residual df and their check.

        The status is the :class:`~iaptkit.sdc.checks.CheckResult`'s (``check_regression``);
        without a check the output fails.
        """
        uid = self._uid(name)
        self._clear_files(uid)
        files = dict([self._write_output(f"{uid}.csv", result_df.to_csv().encode())])
        reasons: tuple[str, ...]
        if check is None:
            status, reasons = "fail", ("no disclosure check (check_regression) was given",)
        else:
            status = combine_status([str(check.status)])
            reasons = tuple(f"{check.name}: {r}" for r in check.reasons) or (
                f"{check.name}: {check.status}",
            )
        out = Output(
            uid=uid,
            kind="model",
            name=name,
            description=description,
            population=population,
            denominators=tuple(denominators),
            policy_id=None if policy is None else str(policy.id),
            policy_version=None if policy is None else str(policy.version),
            definitions_version=definitions_version,
            made_by=made_by,
            parameters=dict(parameters or {}),
            status=status,
            reasons=reasons,
            exception=exception,
            files=files,
            n=int(n),
            df_resid=float(df_resid),
        )
        return self._register(out)

    def add_text(
        self,
        text: str,
        *,
        name: str = "text",
        description: str = "",
        made_by: str = "",
        parameters: Mapping[str, Any] | None = None,
        exception: str | None = None,
    ) -> Output:
        """Register free text (always ``review``: a person reads it)."""
        uid = self._uid(name)
        self._clear_files(uid)
        files = dict([self._write_output(f"{uid}.txt", text.encode("utf-8"))])
        out = Output(
            uid=uid,
            kind="text",
            name=name,
            description=description,
            made_by=made_by,
            parameters=dict(parameters or {}),
            status="review",
            reasons=("free text: the checker reads it",),
            exception=exception,
            files=files,
        )
        return self._register(out)

    def add_file(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        description: str = "",
        population: str = "",
        made_by: str = "",
        parameters: Mapping[str, Any] | None = None,
        exception: str | None = None,
        policy: Any = "nhs-sde",
        allow: Sequence[str] = (),
    ) -> Output:
        """Register another file; its status is that of the file checks (``iaptkit check``)."""
        from iaptkit.release.checks import check_file

        source = Path(path)
        if not source.is_file() or source.is_symlink():
            raise ReleaseError(f"Expected a regular file at {source}; found none (or a symlink).")
        uid = self._uid(name or source.stem)
        self._clear_files(uid)
        stored = f"{uid}{source.suffix.lower()}"
        files = dict([self._write_output(stored, source.read_bytes())])
        report = check_file(self.path / "outputs" / stored, policy=policy, allow=allow)
        facts_id = getattr(report, "policy_id", None)
        out = Output(
            uid=uid,
            kind="file",
            name=name or source.name,
            description=description,
            population=population,
            policy_id=facts_id,
            policy_version=getattr(report, "policy_version", None),
            made_by=made_by,
            parameters=dict(parameters or {}),
            status=report.status,
            reasons=tuple(f"file check: {f.describe()}" for f in report.findings)
            or ("file checks passed",),
            exception=exception,
            files=files,
        )
        return self._register(out)

    def request_exception(self, uid_or_name: str, text: str) -> Output:
        """Record the analyst's exception request (justification) for an output."""
        out = self.output(uid_or_name)
        with self._locked() as meta:
            for o in meta["outputs"]:
                if o["uid"] == out.uid:
                    o["exception"] = text
        return self.output(out.uid)

    def set_status(self, uid: str, status: Status, reason: str, *, source: str = "build") -> Output:
        """Downgrade an output's status with a reason (build re-checks, cross-output audit).

        Downgrades are kept apart from the output's own status, so that :meth:`reset_statuses`
        can undo those of one ``source`` (e.g. before the cross-output audit runs again).
        """
        if status not in STATUSES:
            raise ReleaseError(f"Expected a status in {STATUSES}; found {status!r}.")
        with self._locked() as meta:
            for o in meta["outputs"]:
                if o["uid"] == uid:
                    o.setdefault("own_status", o["status"])
                    o.setdefault("own_reasons", list(o["reasons"]))
                    downgrades = [d for d in o.get("downgrades", []) if d["reason"] != reason]
                    downgrades.append({"source": source, "status": status, "reason": reason})
                    _apply_downgrades(o, downgrades)
        return self.output(uid)

    def reset_statuses(self, source: str = "cross-audit") -> None:
        """Undo the :meth:`set_status` downgrades of one ``source``."""
        with self._locked() as meta:
            for o in meta["outputs"]:
                if "own_status" in o:
                    kept = [d for d in o.get("downgrades", []) if d["source"] != source]
                    _apply_downgrades(o, kept)

    def store_cross_audit(self, result: Mapping[str, Any]) -> None:
        """Store the cross-output audit result in the register."""
        with self._locked() as meta:
            meta["cross_audit"] = _jsonable(dict(result))

    def load_table(self, uid: str) -> Any:
        """The pickled ProtectedTable of a table output (for the cross-output audit)."""
        out = self.output(uid)
        pickles = [f for f in out.internal_files if f.endswith(".table.pkl")]
        if not pickles:
            raise ReleaseError(f"Output {uid} has no stored protected table in internal/.")
        with (self.path / "internal" / pickles[0]).open("rb") as handle:
            return pickle.load(handle)

    def cross_audit(self) -> AuditCertificate | None:
        """Audit all tables of the release together (see :mod:`iaptkit.release.crossaudit`).

        Stores the result in ``release.json``, fails the outputs involved in a failing joint
        audit, and returns the joint certificate (``None`` when there are no tables).
        """
        from iaptkit.release.crossaudit import run_cross_audit

        return run_cross_audit(self)

    def remove(self, uid: str) -> None:
        """Remove an output and its files from the release."""
        self.output(uid)
        self._clear_files(uid)
        with self._locked() as meta:
            meta["outputs"] = [o for o in meta["outputs"] if o["uid"] != uid]
            meta["cross_audit"] = None

    def delete(self) -> None:
        """Delete the whole release folder (irreversible)."""
        shutil.rmtree(self.path)


def _apply_downgrades(record: dict[str, Any], downgrades: list[dict[str, str]]) -> None:
    record["downgrades"] = downgrades
    record["status"] = combine_status([record["own_status"], *(d["status"] for d in downgrades)])
    record["reasons"] = [*record["own_reasons"], *(d["reason"] for d in downgrades)]


def _mappingproxy(data: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    """Rebuild a read-only mapping when unpickling (see :func:`_dumps`)."""
    return MappingProxyType(data)


def _dumps(obj: Any) -> bytes:
    """Pickle, also handling read-only mappings (``MappingProxyType``) inside frozen objects."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    table = copyreg.dispatch_table.copy()
    table[MappingProxyType] = lambda m: (_mappingproxy, (dict(m),))
    pickler.dispatch_table = table
    pickler.dump(obj)
    return buffer.getvalue()


def _audit_reason(certificate: _Certificate) -> str:
    """Why an audit failed, without naming cells or bounds (they can reveal true values)."""
    failures = getattr(certificate, "failures", None)
    count = f"{len(failures())} cell(s) " if callable(failures) else ""
    return f"audit failed: {count}not protected (cells and intervals in the checker's report)"
