"""The build's relations between cells, by cell key: exported so that ``verify`` re-runs them.

``release build`` derives the relations of :mod:`iaptkit.release.relations` knowing the true
counts (a sum is taken where it holds on them, an absent category is then a known zero, a
period segment is made where the periods' counts allow it). A checker holding only the export
cannot re-derive all of those: :func:`relations_json` writes them into ``cellkeys.json``
(``joint``: the cells by key, period segments marked, and every equality and inequality by cell
index), and :func:`add_relations` puts them back into a system ``verify`` re-derived from the
keys alone. Nothing here holds a true value: a relation says only which published cells (and
unpublished period segments) add up, a fact the outputs' keys already suggest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from iaptkit.release.cellkeys import CellKey
from iaptkit.release.relations import JointSystem, Row

__all__ = ["add_relations", "relations_json"]


def _canonical(row: Row) -> tuple[tuple[int, float], ...]:
    return tuple(sorted((int(c), float(v)) for c, v in row.items()))


def relations_json(system: JointSystem) -> dict[str, Any]:
    """The relations of ``system`` by cell key (no true value, no box end).

    Examples
    --------
    >>> from dataclasses import replace
    >>> s = JointSystem()
    >>> k = CellKey("f", "1", "m", "", "")
    >>> e, a = s.add(k), s.add(replace(k, breakdown=(("provider", "A"),)))
    >>> s.equalities.append({a: 1.0, e: -1.0})
    >>> d = relations_json(s)
    >>> d["equalities"], d["segments"]
    ([[[0, -1.0], [1, 1.0]]], [])
    """
    return {
        "keys": [k.to_json() for k in system.keys],
        "segments": [i for i in range(system.n) if system.latent[i]],
        "equalities": [[[c, v] for c, v in _canonical(r)] for r in system.equalities],
        "inequalities": [[[c, v] for c, v in _canonical(r)] for r in system.inequalities],
    }


def add_relations(system: JointSystem, data: Mapping[str, Any]) -> int:
    """Add the exported relations ``data`` (:func:`relations_json`) to ``system``.

    A key not in ``system`` becomes a new cell (a period segment when the export says so, else
    a cell no exported output shows: unknown, ``>= 0``); a relation ``system`` has already is
    not added twice. Returns the number of relations added.

    Raises
    ------
    ValueError
        ``data`` names a cell index outside its key list (a malformed file).
    """
    keys = [CellKey.from_json(k) for k in data.get("keys", [])]
    segments = {int(i) for i in data.get("segments", [])}
    index = {k: i for i, k in enumerate(system.keys)}
    mapped: dict[int, int] = {}

    def cell(i: int) -> int:
        if not 0 <= i < len(keys):
            raise ValueError(f"relation names cell {i}, the file lists {len(keys)} keys")
        if i not in mapped:
            j = index.get(keys[i])
            if j is None:
                j = index[keys[i]] = system.add(keys[i], latent=i in segments)
            mapped[i] = j
        return mapped[i]

    added = 0
    for name, target in (("equalities", system.equalities), ("inequalities", system.inequalities)):
        have = {_canonical(r) for r in target}
        for raw in data.get(name, []):
            row: Row = {}
            for i, coef in raw:
                c = cell(int(i))
                row[c] = row.get(c, 0.0) + float(coef)
            canon = _canonical(row)
            if row and canon not in have:
                target.append(row)
                have.add(canon)
                added += 1
    return added
