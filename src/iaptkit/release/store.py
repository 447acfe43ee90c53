"""The register on disk: ``release.json`` read and written under a lock, and the output files.

A release is a folder *inside* the secure environment::

    RELEASE_DIR/release.json        the register (metadata, status and reasons of every output)
    RELEASE_DIR/outputs/            the export views (what would leave), one file set per output
    RELEASE_DIR/internal/           underlying unprotected counts, internal certificates and the
                                    pickled protected tables for the cross-output audit; never
                                    exported
    RELEASE_DIR/checker/            the checker's report (with underlying counts), made by build

Every change re-reads ``release.json`` under a file lock, merges the new state and writes the
file atomically, so several notebooks run one after another (or a notebook re-run) append to
the same release without losing outputs. Registering an output with the uid of an existing one
replaces it only when both come from the same place with the same parameters (a re-run of the
same notebook does not duplicate its outputs); an output of other parameters is never
overwritten: that is a :class:`~iaptkit.errors.ReleaseError` naming both.

Runs: a notebook calls :meth:`ReleaseStore.start_run` before it registers anything and
:meth:`ReleaseStore.finish_run` in its last cell. Until then its outputs are ``fail`` ("run
not finished"), so the outputs of a run that stopped half-way are never exported; a new run of
the same notebook and parameters supersedes the outputs of the earlier one (those it does not
make again stay ``fail``, never exported).

:class:`ReleaseStore` holds that storage, the statuses and their downgrades; the ``add_*``
methods that judge new outputs are :class:`iaptkit.release.register.Release`'s.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import pickle
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from iaptkit._version import __version__
from iaptkit.errors import ReleaseError
from iaptkit.release.files import pickle_bytes, write_atomic
from iaptkit.release.outputs import (
    RELEASE_FORMAT,
    STATUSES,
    Output,
    ProtectedLike,
    Status,
    combine_status,
    jsonable,
)
from iaptkit.release.runs import (
    RUN_SOURCE,
    overwrite_message,
    pending_downgrade,
    provenance_key,
    superseded_downgrade,
)

__all__ = [
    "SLUG_LENGTH",
    "ReleaseStore",
    "apply_downgrades",
    "now_iso",
    "slug",
]


#: Longest uid; longer names keep their start and end a hash of the whole name (stay unique).
SLUG_LENGTH = 100


def slug(text: str) -> str:
    """An output uid from a name: lower case letters, digits and ``_``, at most 100 characters.

    Examples
    --------
    >>> slug("Recovery by provider (2024)"), slug("***")
    ('recovery_by_provider_2024', 'output')
    >>> len(slug("x" * 150)), slug("x" * 150) != slug("x" * 151)
    (100, True)
    """
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    if len(text) > SLUG_LENGTH:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
        text = f"{text[: SLUG_LENGTH - 9]}_{digest}"
    return text or "output"


def now_iso() -> str:
    """The current UTC time to the second, ISO 8601 (``2024-05-01T09:30:00+00:00``)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class ReleaseStore:
    """A release folder's register on disk: metadata, outputs, statuses and stored files.

    Use :meth:`open_or_create` or :meth:`open`; every change is persisted at once (atomically,
    under a lock). :class:`iaptkit.release.register.Release` adds the ``add_*`` methods.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = ReleaseStore.open_or_create(pathlib.Path(tempfile.mkdtemp()) / "r", title="T")
    >>> (store.title, store.outputs, sorted(p.name for p in store.path.iterdir()))
    ('T', (), ['.release.lock', 'internal', 'outputs', 'release.json'])
    """

    def __init__(self, path: Path, meta: Mapping[str, Any]) -> None:
        self.path = path
        self._meta: dict[str, Any] = dict(meta)
        self._run: str | None = None

    # ------------------------------------------------------------------ opening and storage

    @classmethod
    def open_or_create(
        cls,
        path: str | Path,
        *,
        title: str = "",
        analyst: str = "",
        extract_fingerprint: str | None = None,
    ) -> Self:
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
    def open(cls, path: str | Path) -> Self:
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
                "created": now_iso(),
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
                meta["updated"] = now_iso()
                text = json.dumps(meta, indent=2, sort_keys=False, default=str)
                write_atomic(self.path / "release.json", text.encode("utf-8"))
                self._meta = meta
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def save(self) -> None:
        """Write the register again (every ``add_*`` already saved; this is for symmetry)."""
        with self._locked():
            pass

    def reload(self) -> Self:
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

    def _check_overwrite(
        self, uid: str, made_by: str, parameters: Any, meta: Mapping[str, Any] | None = None
    ) -> None:
        """Refuse (before any file is written) when ``uid`` belongs to another provenance."""
        key = provenance_key(made_by, parameters)
        for old in (meta if meta is not None else self._read()).get("outputs", []):
            theirs = provenance_key(str(old.get("made_by") or ""), old.get("parameters"))
            if old.get("uid") == uid and theirs != key:
                raise ReleaseError(overwrite_message(self.path, old, made_by, parameters))

    def _register(self, out: Output) -> Output:
        with self._locked() as meta:
            self._check_overwrite(out.uid, out.made_by, out.parameters, meta)
            outputs = [o for o in meta.get("outputs", []) if o.get("uid") != out.uid]
            replaced = len(outputs) != len(meta.get("outputs", []))
            out = replace(out, created=now_iso(), run=self._run or "")
            record = out.to_json()
            run = next((r for r in meta.get("runs", []) if r.get("id") == self._run), None)
            if run is not None:
                run["status"] = "running"  # registering under a finished run reopens it
                record["own_status"], record["own_reasons"] = out.status, list(out.reasons)
                apply_downgrades(record, [pending_downgrade(run)])
            if replaced:
                index = [o.get("uid") for o in meta["outputs"]].index(out.uid)
                outputs.insert(index, record)
            else:
                outputs.append(record)
            meta["outputs"] = outputs
            meta["cross_audit"] = None  # stale once the set of outputs changes
        return self.output(out.uid)

    # ------------------------------------------------------------------ runs

    @property
    def current_run(self) -> str | None:
        """The id of the run this object registers outputs under (``None``: no run)."""
        return self._run

    def start_run(self, made_by: str, parameters: Mapping[str, Any] | None = None) -> str:
        """Start a run: outputs registered from now on are ``fail`` until :meth:`finish_run`.

        Outputs an earlier run of the same ``made_by`` and ``parameters`` registered are
        superseded: ``fail`` (never exported) unless this run registers them again.

        Parameters
        ----------
        made_by
            The notebook (as passed to ``add_*``'s ``made_by``).
        parameters
            Its parameters (as passed to ``add_*``).

        Returns
        -------
        str
            The run id (recorded in ``release.json`` under ``runs`` and on each output).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from iaptkit.release import Release
        >>> rel = Release.open_or_create(pathlib.Path(tempfile.mkdtemp()) / "r")
        >>> _ = rel.start_run("nb.ipynb", {"n": 1})
        >>> made = {"made_by": "nb.ipynb", "parameters": {"n": 1}}
        >>> rel.add_text("x", name="t", exception="ok", **made).status
        'fail'
        >>> rel.finish_run(); rel.output("t").status
        'review'
        """
        run_id = uuid.uuid4().hex[:12]
        key = provenance_key(made_by, parameters)
        record = {
            "id": run_id,
            "made_by": made_by,
            "parameters": jsonable(dict(parameters or {})),
            "started": now_iso(),
            "status": "running",
        }
        superseded = superseded_downgrade(record)
        with self._locked() as meta:
            meta["runs"] = [*meta.get("runs", []), record]
            for o in meta.get("outputs", []):
                if provenance_key(str(o.get("made_by") or ""), o.get("parameters")) == key:
                    o.setdefault("own_status", o["status"])
                    o.setdefault("own_reasons", list(o["reasons"]))
                    kept = [d for d in o.get("downgrades", []) if d["source"] != RUN_SOURCE]
                    apply_downgrades(o, [*kept, superseded])
        self._run = run_id
        return run_id

    def finish_run(self) -> None:
        """Mark the current run finished: its outputs get their own statuses back.

        Called in a notebook's last cell; a run that never gets there (a failing cell, a kernel
        that died) leaves its outputs ``fail``, so they are never exported.
        """
        if self._run is None:
            raise ReleaseError(
                f"finish_run on release {self.path}: expected a run started with start_run; "
                "found none"
            )
        with self._locked() as meta:
            for run in meta.get("runs", []):
                if run.get("id") == self._run:
                    run["status"] = "finished"
                    run["finished"] = now_iso()
            for o in meta.get("outputs", []):
                if o.get("run") == self._run and "own_status" in o:
                    kept = [d for d in o.get("downgrades", []) if d["source"] != RUN_SOURCE]
                    apply_downgrades(o, kept)

    @property
    def runs(self) -> tuple[Mapping[str, Any], ...]:
        """Every run started in this release (id, made_by, parameters, started, status)."""
        return tuple(dict(r) for r in self._meta.get("runs", []))

    def _uid(self, name: str) -> str:
        return slug(name)

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
        self, uid: str, pt: ProtectedLike, suffix: str = ""
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
            internal.append(self._write_internal(f"{stem}.table.pkl", pickle_bytes(pt)))
        return files, internal

    # ------------------------------------------------------------------ statuses

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
                    apply_downgrades(o, downgrades)
        return self.output(uid)

    def reset_statuses(self, source: str = "cross-audit") -> None:
        """Undo the :meth:`set_status` downgrades of one ``source``."""
        with self._locked() as meta:
            for o in meta["outputs"]:
                if "own_status" in o:
                    kept = [d for d in o.get("downgrades", []) if d["source"] != source]
                    apply_downgrades(o, kept)

    def store_cross_audit(self, result: Mapping[str, Any]) -> None:
        """Store the cross-output audit result in the register."""
        with self._locked() as meta:
            meta["cross_audit"] = jsonable(dict(result))

    def load_table(self, uid: str) -> Any:
        """The pickled ProtectedTable of a table output (for the cross-output audit)."""
        out = self.output(uid)
        pickles = [f for f in out.internal_files if f.endswith(".table.pkl")]
        if not pickles:
            raise ReleaseError(f"Output {uid} has no stored protected table in internal/.")
        with (self.path / "internal" / pickles[0]).open("rb") as handle:
            return pickle.load(handle)

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


def apply_downgrades(record: dict[str, Any], downgrades: list[dict[str, str]]) -> None:
    """Set a stored output's status and reasons: its own, then each downgrade's.

    Examples
    --------
    >>> record = {"own_status": "pass", "own_reasons": ["ok"]}
    >>> apply_downgrades(record, [{"source": "build", "status": "fail", "reason": "changed"}])
    >>> record["status"], record["reasons"]
    ('fail', ['ok', 'changed'])
    """
    record["downgrades"] = downgrades
    record["status"] = combine_status([record["own_status"], *(d["status"] for d in downgrades)])
    record["reasons"] = [*record["own_reasons"], *(d["reason"] for d in downgrades)]
