"""One audit over the whole release, run by ``release build`` and ``release protect``.

:func:`run_joint_audit` gathers the cell keys of every table output that is not failing (and
the published cells of earlier exports, ``--previous``), builds the joint system
(:mod:`iaptkit.release.relations`) and runs the exact integer attacker over all of it
(:mod:`iaptkit.release.jointaudit`). By default it protects jointly: the cells it suppresses
more are written as ``*`` into the outputs' files (rates made from them too), the outputs'
checksums and cell keys updated, and each output told how many of its cells were added. With
joint protection off, or when it is impossible, the outputs involved fail, naming the cell at
risk and the outputs that together narrow it. The result is stored in ``release.json``
(``joint_audit``), printed by the build and carried, export-safe, by ``manifest.json``.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iaptkit.release.cellkeys import CellKey, CellRecord, OutputCells
from iaptkit.release.files import sha256_file, write_atomic
from iaptkit.release.jointaudit import (
    JointResult,
    guard_unknown_segments,
    joint_attack,
    protect_jointly,
)
from iaptkit.release.keyed import (
    export_cellkeys,
    load_cells,
    previous_cells,
    previous_relations,
    write_cellkeys,
)
from iaptkit.release.keyrelations import add_relations, relations_json
from iaptkit.release.outputs import jsonable
from iaptkit.release.relations import JointSystem, joint_system
from iaptkit.release.store import ReleaseStore, now_iso

__all__ = [
    "SOURCE",
    "export_cells",
    "export_safe",
    "exposed_derived",
    "joint_candidates",
    "run_joint_audit",
    "stored_summary",
]

#: The downgrade source of the joint audit (reset before each run).
SOURCE = "joint-audit"
_LISTED = 20
_CONFLICT = (
    "the same cell key has different true counts in two outputs (they count different "
    "things: register them with different populations or cell_keys)"
)
_HIDE = ("value", "ci_lower", "ci_upper", "numerator", "denominator")


def joint_candidates(store: ReleaseStore) -> list[str]:
    """Uids of the table and figure outputs that take part (not failing for other reasons)."""
    return [
        o.uid
        for o in store.outputs
        if o.kind in ("table", "figure") and o.status != "fail" and o.files
    ]


def _suppress_rows(
    store: ReleaseStore, cells: OutputCells, keys: set[CellKey], hidden: set[CellKey]
) -> tuple[OutputCells, int]:
    """Write ``*`` into the output's CSV for counts in ``keys``, and for the rates and means
    made from a count in ``keys`` or ``hidden`` (a mean whose count is suppressed anywhere is
    suppressed: its contributors cannot be seen to be enough, and with the other published
    means and counts it is one more equation on the hidden count)."""
    changed: list[CellRecord] = []
    rows: set[int] = set()
    made = keys | hidden
    for rec in cells.records:
        hit = rec.kind == "count" and rec.key in keys and not rec.suppressed
        made_from = rec.kind != "count" and (rec.numerator in made or rec.denominator in made)
        if (hit or made_from) and not rec.suppressed:
            rows.add(rec.row)
            rec = replace(rec, suppressed=True, lower=0.0, upper=float("inf"), shown="*")
        changed.append(rec)
    n_counts = sum(
        1 for r in cells.records if r.kind == "count" and r.key in keys and r.row in rows
    )
    if not rows:
        return cells, 0
    path = store.path / "outputs" / cells.file
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for r in rows:
        for col in _HIDE:
            # the value always (a missing mean, shown blank, is suppressed like any other:
            # its cell key says so); the other columns where they hold something
            if col in frame.columns and (frame.at[r, col] != "" or col == "value"):
                frame.at[r, col] = "*"
        if "status" in frame.columns:
            frame.at[r, "status"] = "suppressed"
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    write_atomic(path, buffer.getvalue().encode("utf-8"))
    return replace(cells, records=tuple(changed)), n_counts


def _apply(store: ReleaseStore, outputs: Sequence[OutputCells], result: JointResult,
           system: JointSystem) -> dict[str, int]:  # fmt: skip
    """Suppress the added cells in every current output that shows them, and the rates and
    means made from any suppressed count; counts added per output."""
    keys = system.keys
    added = {keys[i] for i in result.added}
    hidden = {keys[i] for i in range(system.n) if system.hidden_in[i]}
    per_output: dict[str, int] = {}
    for cells in outputs:
        if cells.previous:
            continue
        new, n = _suppress_rows(store, cells, added, hidden)
        if new is cells:
            continue
        per_output[cells.uid] = n
        write_cellkeys(store, cells.uid, new, cells.file)
        digest = sha256_file(store.path / "outputs" / cells.file)
        with store._locked() as meta:
            for o in meta.get("outputs", []):
                if o.get("uid") == cells.uid:
                    o["files"][cells.file] = digest
    return per_output


def run_joint_audit(
    store: ReleaseStore,
    *,
    protect: bool = True,
    previous: Sequence[str | Path] = (),
) -> dict[str, Any]:
    """The joint audit (and, with ``protect``, joint protection) of ``store``; its summary.

    Returns
    -------
    dict
        ``passed``, ``outputs``, ``previous`` (earlier exports), ``n_cells``,
        ``n_suppressed``, ``n_relations``, ``added`` (cells suppressed jointly),
        ``added_by_output``, ``value_mass`` (their true total: internal), ``failures``.
    """
    store.reset_statuses(SOURCE)
    uids = joint_candidates(store)
    current = load_cells(store, uids)
    earlier = previous_cells(previous)
    earlier_relations = previous_relations(previous)  # what the earlier builds knew
    outputs = [*current, *earlier]
    summary: dict[str, Any] = {
        "ran": now_iso(),
        "outputs": [c.uid for c in current],
        "previous": [str(p) for p in previous],
        "joint_protection": protect,
    }
    if not current:
        summary.update(passed=True, n_cells=0, n_suppressed=0, added=0, failures=[])
        _store(store, summary)
        return summary
    system = _with_earlier(joint_system(outputs), earlier_relations)
    if system.conflicts:
        # two outputs count different things under one key: neither can be audited jointly
        bad: dict[str, str] = {}
        for label, first, second in system.conflicts:
            for uid, other in ((first, second), (second, first)):
                bad.setdefault(uid, f"{label}, also in {other}")
        for uid, where in bad.items():
            if uid in uids:
                store.set_status(uid, "fail", f"joint audit: {_CONFLICT} ({where})", source=SOURCE)
        current = [c for c in current if c.uid not in bad]
        system = _with_earlier(joint_system([*current, *earlier]), earlier_relations)
    try:
        if earlier:
            _keep_earlier_widths(system, earlier, earlier_relations)
            guard_unknown_segments(system)  # segments cut by an earlier export's periods
        result = protect_jointly(system, protect=protect)
    except ValueError as exc:  # published values no counts satisfy: keys that do not fit
        for c in current:
            store.set_status(c.uid, "fail", f"joint audit could not run: {exc}", source=SOURCE)
        summary.update(passed=False, n_cells=system.n, added=0, failures=[str(exc)])
        _store(store, summary)
        return summary
    per_output = _apply(store, current, result, system) if protect else {}
    for uid in [] if protect else exposed_derived(current, system):
        store.set_status(
            uid,
            "fail",
            "joint audit: a rate or mean is published whose count another output suppresses "
            "(joint protection is off)",
            source=SOURCE,
        )
    kinds = {o.uid: o.kind for o in store.outputs}
    for uid, n in per_output.items():
        said = f"joint protection: {n} more cell(s) suppressed so that no combination of the "
        said += "release's outputs narrows a suppressed cell"
        if kinds.get(uid) == "figure":  # the image still draws them: it must be redrawn
            said += "; the figure shows them: redraw it from the jointly protected data"
        store.set_status(uid, "fail" if kinds.get(uid) == "figure" else "pass", said, source=SOURCE)
    culprits: dict[str, list[str]] = defaultdict(list)
    for f in result.failures:
        for uid in f.outputs:
            culprits[uid].append(f.describe())
    why = "joint protection is off" if not protect else "joint protection is impossible"
    for uid, lines in culprits.items():
        if uid in uids:
            store.set_status(
                uid,
                "fail",
                f"joint audit ({why}): {len(lines)} suppressed cell(s) at risk, e.g. {lines[0]}",
                source=SOURCE,
            )
    summary.update(
        passed=result.passed,
        n_cells=result.n_cells,
        n_suppressed=result.n_suppressed,
        n_relations=len(system.equalities) + len(system.inequalities),
        n_rates=len(system.rates),
        added=len(result.added),
        added_by_output=per_output,
        value_mass=result.value_mass,
        steps=result.steps,
        failures=[f.describe() for f in result.failures[:_LISTED]],
        n_failures=len(result.failures),
    )
    _store(store, summary)
    return summary


def exposed_derived(outputs: Sequence[OutputCells], system: JointSystem) -> list[str]:
    """Outputs publishing a rate or mean made from a count suppressed in some output."""
    hidden = {system.keys[i] for i in range(system.n) if system.hidden_in[i]}
    return sorted(
        {
            c.uid
            for c in outputs
            for r in c.records
            if r.kind != "count"
            and not r.suppressed
            and (r.numerator in hidden or r.denominator in hidden)
        }
    )


def _with_earlier(system: JointSystem, relations: Sequence[dict[str, Any]]) -> JointSystem:
    """``system`` with the relations earlier exports' builds took (absent categories, sums)."""
    for data in relations:
        add_relations(system, data)
    return system


def _keep_earlier_widths(
    system: JointSystem, earlier: Sequence[OutputCells], relations: Sequence[dict[str, Any]]
) -> None:
    """A cell an earlier export suppressed keeps the width it had there (up to the threshold)."""
    before = _with_earlier(joint_system(earlier), relations)
    targets = before.suppressed()
    hidden = targets & np.array([not s for s in before.shown_in], dtype=bool)
    lo, hi = joint_attack(before, hidden, hidden)
    threshold = {r.key: float(r.threshold) for c in earlier for r in c.records if r.suppressed}
    index = {k: i for i, k in enumerate(system.keys)}
    for j, key in enumerate(before.keys):
        i = index.get(key)
        if i is None or not hidden[j] or before.latent[j]:
            continue
        had = float(hi[j] - lo[j])
        system.width[i] = max(system.width[i], min(had, threshold.get(key, 1.0)), 1.0)


def _store(store: ReleaseStore, summary: dict[str, Any]) -> None:
    with store._locked() as meta:
        meta["joint_audit"] = jsonable(dict(summary))


def export_cells(store: ReleaseStore, uids: Sequence[str]) -> bytes | None:
    """The export's ``cellkeys.json`` for the exported outputs ``uids`` (no true values).

    It carries the relations the build derived between their cells (``joint``).

    ``None`` when none of them has cell keys (no protected table: no file is written).
    """
    cells = load_cells(store, uids)
    if not cells:
        return None
    # the relations the build knows (true counts: absent categories, sums that hold, period
    # segments), by key, so that verify re-runs the attack with them
    return export_cellkeys(cells, relations_json(joint_system(cells)))


def stored_summary(store: ReleaseStore) -> dict[str, Any]:
    """The last joint audit's summary stored in ``release.json`` (empty when never run)."""
    data = store.meta.get("joint_audit")
    return dict(data) if isinstance(data, dict) else {}


def export_safe(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without the failing cells' intervals and value mass (for the manifest)."""
    keep = ("ran", "passed", "outputs", "previous", "joint_protection", "n_cells")
    more = ("n_suppressed", "n_relations", "n_rates", "added", "added_by_output", "n_failures")
    safe: dict[str, Any] = json.loads(
        json.dumps({k: summary[k] for k in (*keep, *more) if k in summary})
    )
    return safe
