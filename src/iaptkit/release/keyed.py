"""Cell keys in a release folder: written when an output is registered, read by the joint audit.

Every protected table output gets ``internal/<uid>.cellkeys.json`` (its
:class:`~iaptkit.release.cellkeys.OutputCells` with true values, never exported). A
``ProtectedMeasures`` (``protect_measures``, ``iaptkit measures --release``) registers through
:func:`register_measures`. An earlier export's ``cellkeys.json`` is read by
:func:`previous_cells`.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from iaptkit.errors import ReleaseError
from iaptkit.release.cellkeys import KeyContext, OutputCells
from iaptkit.release.cellrecords import records_from_measures, records_from_protected
from iaptkit.release.checks import check_file
from iaptkit.release.findings import policy_facts
from iaptkit.release.outputs import Output, audit_reason, combine_status
from iaptkit.release.store import ReleaseStore

__all__ = [
    "CELLKEYS_NAME",
    "default_context",
    "figure_keys",
    "load_cells",
    "previous_cells",
    "previous_relations",
    "register_measures",
    "write_cellkeys",
]

#: The export's file of cell keys (beside results.json).
CELLKEYS_NAME = "cellkeys.json"
CELLKEYS_FORMAT = "iaptkit-cellkeys/1"


def default_context(
    store: ReleaseStore,
    parameters: Mapping[str, Any] | None,
    population: str,
    definitions_version: str | None,
    measure: str = "count",
) -> KeyContext:
    """The key context of an output registered without one (parameters and population).

    ``start``/``end`` (or ``period_start``/``period_end``) and ``measure`` are read from the
    parameters; the population label is a filter (outputs of one population share cells).
    """
    p = dict(parameters or {})
    start = str(p.get("period_start") or p.get("start") or "")
    end = str(p.get("period_end") or p.get("end") or "")
    return KeyContext(
        fingerprint=str(p.get("extract_fingerprint") or store.extract_fingerprint or ""),
        definitions_version=str(definitions_version or p.get("definitions_version") or ""),
        measure=str(p.get("measure") or measure),
        period_start=start,
        period_end=end,
        filters=(("population", population),) if population else (),
    )


def write_cellkeys(store: ReleaseStore, uid: str, cells: OutputCells, file: str) -> str:
    """Write ``internal/<uid>.cellkeys.json``; returns its name."""
    data = cells.to_json(internal=True)
    data.update(uid=uid, file=file)
    name = f"{uid}.cellkeys.json"
    return store._write_internal(name, json.dumps(data, default=str).encode("utf-8"))


def table_cellkeys(store: ReleaseStore, uid: str, pt: Any, ctx: KeyContext, file: str) -> str:
    """The cell keys of a ``ProtectedTable`` output (see :func:`write_cellkeys`).

    A context without a fingerprint takes the release's.
    """
    if not ctx.fingerprint and store.extract_fingerprint:
        ctx = replace(ctx, fingerprint=store.extract_fingerprint)
    return write_cellkeys(store, uid, records_from_protected(pt, ctx), file)


def figure_keys(
    store: ReleaseStore,
    uid: str,
    data: Any,
    parameters: Mapping[str, Any] | None,
    population: str,
    definitions_version: str | None,
) -> str:
    """The cell keys of a figure's data table: those of the table output it was registered as.

    A figure drawn from a protected table registered before (an output whose uid is the
    table's name, with the same cells, true values and published values) shows the same cells:
    it takes that output's keys (e.g. a notebook's ``cell_keys``), so that joint protection
    suppressing a cell of the table suppresses it in the figure's data too (and fails the
    figure, whose image must be redrawn). Otherwise the keys of :func:`default_context`.
    Writes ``internal/<uid>.cellkeys.json`` for ``<uid>.data.csv``; returns its name.
    """
    file = f"{uid}.data.csv"
    ctx = default_context(store, parameters, population, definitions_version)
    own = records_from_protected(data, ctx)
    table = store.path / "internal" / f"{store._uid(str(getattr(data, 'name', '')))}.cellkeys.json"
    if table.is_file():
        stored = OutputCells.from_json(json.loads(table.read_text(encoding="utf-8")))

        def seen(cells: OutputCells) -> list[tuple[Any, ...]]:
            return [(r.true_value, r.shown, r.suppressed) for r in cells.records]

        if seen(stored) == seen(own):
            own = replace(stored, uid=uid, file=file)
    return write_cellkeys(store, uid, own, file)


def load_cells(store: ReleaseStore, uids: Sequence[str]) -> list[OutputCells]:
    """The stored cell keys of the outputs ``uids`` (outputs without them are left out)."""
    out = []
    for uid in uids:
        path = store.path / "internal" / f"{uid}.cellkeys.json"
        if path.is_file():
            out.append(OutputCells.from_json(json.loads(path.read_text(encoding="utf-8"))))
    return out


def export_cellkeys(cells: Sequence[OutputCells], joint: Mapping[str, Any] | None = None) -> bytes:
    """The export's ``cellkeys.json``: every exported cell's key and published value, no truth.

    ``joint``: the build's relations between the cells, by key
    (:func:`iaptkit.release.keyrelations.relations_json`), for ``release verify``.
    """
    payload: dict[str, Any] = {
        "format": CELLKEYS_FORMAT,
        "outputs": [c.to_json(internal=False) for c in cells],
    }
    if joint is not None:
        payload["joint"] = dict(joint)
    return json.dumps(payload, indent=1).encode("utf-8")


def _read_export_keys(where: str | Path) -> dict[str, Any]:
    """An earlier export's ``cellkeys.json`` (a folder or a zip of it)."""
    path = Path(where)
    try:
        if path.is_dir():
            text = (path / CELLKEYS_NAME).read_text(encoding="utf-8")
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                name = next(n for n in zf.namelist() if n.endswith(CELLKEYS_NAME))
                text = zf.read(name).decode("utf-8")
        else:
            raise FileNotFoundError(path)
        data = json.loads(text)
    except (OSError, StopIteration, ValueError, KeyError):
        raise ReleaseError(
            f"--previous {path}: expected an export folder or zip with {CELLKEYS_NAME} "
            "(made by 'iaptkit release build'); found none or an unreadable one."
        ) from None
    if not isinstance(data, dict) or data.get("format") != CELLKEYS_FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ReleaseError(
            f"--previous {path}: expected {CELLKEYS_NAME} format {CELLKEYS_FORMAT!r}, "
            f"found {found!r}."
        )
    return data


def previous_cells(exports: Sequence[str | Path]) -> list[OutputCells]:
    """The published cells of earlier exports (folders or zip files with ``cellkeys.json``)."""
    found: list[OutputCells] = []
    for where in exports:
        path = Path(where)
        data = _read_export_keys(path)
        for o in data.get("outputs", []):
            cells = OutputCells.from_json(o, previous=True)
            found.append(
                OutputCells(
                    f"{path.name}/{cells.uid}",
                    cells.file,
                    cells.records,
                    cells.relations,
                    cells.inequalities,
                    previous=True,
                )
            )
    return found


def previous_relations(exports: Sequence[str | Path]) -> list[dict[str, Any]]:
    """The relations earlier exports' builds took (``joint`` of their ``cellkeys.json``)."""
    found = []
    for where in exports:
        joint = _read_export_keys(where).get("joint")
        if isinstance(joint, dict):
            found.append(joint)
    return found


def register_measures(
    store: ReleaseStore,
    pm: Any,
    *,
    uid: str,
    name: str,
    description: str,
    population: str,
    denominators: Sequence[str],
    made_by: str,
    parameters: Mapping[str, Any] | None,
    exception: str | None,
    ctx: KeyContext | None,
) -> Output:
    """Register a ``ProtectedMeasures`` as a table output (export view, internal truth, keys)."""
    store._check_overwrite(uid, made_by, parameters)
    store._clear_files(uid)
    file, digest = store._write_output(f"{uid}.csv", pm.export().to_csv(index=False).encode())
    cert = pm.certificate
    internal = [
        store._write_internal(
            f"{uid}.underlying.csv", pm.underlying().to_csv(index=False).encode()
        ),
        store._write_internal(
            f"{uid}.certificate.json",
            json.dumps(cert.to_dict(internal=True), indent=1, default=str).encode(),
        ),
    ]
    versions = (
        pm.cells["definitions_version"].dropna().astype(str).unique()
        if "definitions_version" in pm.cells.columns
        else []
    )
    version = str(versions[0]) if len(versions) == 1 else None
    context = ctx or default_context(store, parameters, population, version)
    internal.append(write_cellkeys(store, uid, records_from_measures(pm, context), file))
    facts = policy_facts(pm.policy)
    report = check_file(store.path / "outputs" / file, policy=facts)
    reasons = [f"file check: {f.describe()}" for f in report.findings]
    statuses = ["pass" if cert.passed else "fail", report.status]
    if not cert.passed:
        reasons.insert(0, audit_reason(cert))
    out = Output(
        uid=uid,
        kind="table",
        name=name,
        description=description,
        population=population,
        denominators=tuple(denominators),
        policy_id=str(pm.policy.id),
        policy_version=str(pm.policy.version),
        definitions_version=version,
        made_by=made_by,
        parameters={**dict(parameters or {}), "measures": True},
        status=combine_status(statuses),
        reasons=tuple(reasons)
        or ("audit passed (counts with published rates); file checks passed",),
        exception=exception,
        files={file: digest},
        internal_files=tuple(internal),
        dims=("period_start", "period_end", "breakdown", "group", "measure"),
        audit=cert.to_dict(internal=False),
    )
    return store._register(out)
