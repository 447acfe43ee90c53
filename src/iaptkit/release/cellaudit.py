"""The joint audit again, on an export's ``cellkeys.json`` alone (``release verify``).

A checker holding the export knows every exported cell's key and published value. From those
alone the relations of :mod:`iaptkit.release.relations` follow (without true values: a sum is
assumed where the children cover every category seen); the relations the build derived with the
true counts (``joint`` in the file: absent categories as known zeros, sums that hold, period
segments) are added to them, and the exact integer attacker runs over all of them: a suppressed
cell determined exactly fails verification, and so does a rate or mean published whose count is
suppressed. Published values that no counts satisfy under the build's relations (a value edited
after build) fail too; when only a sum re-derived from the keys fails to hold, the build's
relations decide (said in a note). Each record must also agree with its output's CSV file (the
value shown, ``*`` where suppressed).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from iaptkit.release.cellkeys import OutputCells
from iaptkit.release.joint import exposed_derived
from iaptkit.release.jointaudit import protect_jointly
from iaptkit.release.keyrelations import add_relations
from iaptkit.release.relations import joint_system

__all__ = ["CELLKEYS_FILE", "audit_cellkeys"]

CELLKEYS_FILE = "cellkeys.json"


def _matches(folder: Path, cells: OutputCells) -> list[str]:
    path = folder / cells.file
    if not cells.file or not path.is_file():
        return [f"{CELLKEYS_FILE}: output {cells.uid} names file {cells.file!r}, not in the export"]
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    problems = []
    for rec in cells.records:
        if rec.row >= len(frame) or "value" not in frame.columns:
            problems.append(f"{CELLKEYS_FILE}: {cells.uid} row {rec.row} is not in {cells.file}")
            continue
        shown = str(frame.at[rec.row, "value"]).strip()
        if (shown == "*") != rec.suppressed:
            problems.append(
                f"{CELLKEYS_FILE}: {cells.uid} row {rec.row} ({rec.key.label()}) is "
                f"{'suppressed' if rec.suppressed else 'shown'} there but {shown!r} in {cells.file}"
            )
    return problems


def audit_cellkeys(folder: Path) -> tuple[list[str], list[str]]:
    """Problems and notes of the joint audit of an export's ``cellkeys.json``.

    An export without the file (built before cell keys) gives a note, not a problem.
    """
    path = folder / CELLKEYS_FILE
    if not path.is_file():
        return [], [f"{CELLKEYS_FILE}: none in the export; the joint audit cannot be re-run"]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        outputs = [OutputCells.from_json(o) for o in data.get("outputs", [])]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{CELLKEYS_FILE}: unreadable ({exc})"], []
    problems = [p for cells in outputs for p in _matches(folder, cells)]
    if problems or not outputs:
        return problems, []
    joint = data.get("joint")
    notes: list[str] = []
    try:
        system = joint_system(outputs)  # re-derived from the keys alone
        if isinstance(joint, dict):
            add_relations(system, joint)
        result = protect_jointly(system, protect=False)
    except ValueError as exc:
        if not isinstance(joint, dict):
            return [], [f"{CELLKEYS_FILE}: joint audit skipped ({exc})"]
        # a sum re-derived without true values may not hold (England counts pathways no
        # provider row has): the build's own relations, with the outputs' own sums, decide
        try:
            system = joint_system(outputs, derive=False)
            add_relations(system, joint)
            result = protect_jointly(system, protect=False)
        except ValueError as again:
            return [
                f"joint audit of {CELLKEYS_FILE}: the published values contradict the "
                f"relations the build recorded between them ({again}); expected values that "
                "add up as built (an export edited after build?)"
            ], []
        notes.append(
            f"joint audit of {CELLKEYS_FILE}: a sum derived from the keys alone does not hold "
            "on the published values; audited with the relations the build recorded"
        )
    if not isinstance(joint, dict):
        notes.append(
            f"{CELLKEYS_FILE}: no build relations ('joint'); audited with the sums the keys "
            "give alone"
        )
    for f in result.failures:
        problems.append(f"joint audit of {CELLKEYS_FILE}: suppressed cell {f.describe()}")
    for uid in exposed_derived(outputs, system):
        problems.append(
            f"joint audit of {CELLKEYS_FILE}: {uid} publishes a rate or mean made from a count "
            "suppressed in the export"
        )
    return problems, notes
