"""The cross-output audit again, on an export's published files alone (``release verify``).

An attacker holding the export knows the published cells (within their rounding), the
suppressed cells' positions, and that tables of one population add up along their ``Total``
rows. From that alone, every suppressed cell gets a feasible interval (a linear programme per
population, all that population's exported tables together: cells with the same dims values are
one cell, a dim a table lacks is its ``Total``). A suppressed cell determined exactly (interval
narrower than one), or published by another output, fails verification: the build's audit would
have failed it.

Only tables whose published values are whole numbers take part; a population whose tables do not
add up (not counts with margins) is skipped and said so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from iaptkit.release.findings import PolicyFacts

__all__ = ["TOTAL", "published_audit"]

TOTAL = "Total"
_META = ("value", "policy_id", "policy_version")


def _table(path: Path) -> tuple[list[str], pd.DataFrame] | None:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError):
        return None
    if "value" not in frame.columns:
        return None
    dims = [c for c in frame.columns if c not in _META]
    values = frame["value"].str.strip()
    if not values.map(lambda v: v == "*" or v.lstrip("-").isdigit()).all() or not dims:
        return None
    return dims, frame


def published_audit(
    folder: Path, outputs: Sequence[Mapping[str, Any]], facts: Mapping[str, PolicyFacts]
) -> tuple[list[str], list[str]]:
    """Problems and notes of the published-data audit of an export's tables (module docstring).

    ``facts`` maps a policy id to its :class:`PolicyFacts` (rounding slack of published cells).
    """
    groups: dict[str, list[tuple[str, list[str], pd.DataFrame, int]]] = defaultdict(list)
    for out in outputs:
        if out.get("kind") not in ("table", "figure"):
            continue
        csvs = [str(n) for n in out.get("files") or [] if str(n).endswith(".csv")]
        parsed = _table(folder / csvs[0]) if csvs and (folder / csvs[0]).is_file() else None
        if parsed is None:
            continue
        fact = facts.get(str(out.get("policy_id")))
        base = fact.rounding_base if fact and fact.rounding_applies_to != "none" else 1
        groups[str(out.get("population") or "")].append((str(out["uid"]), *parsed, base))
    problems: list[str] = []
    notes: list[str] = []
    for population, tables in groups.items():
        p, n = _audit_group(population, tables)
        problems += p
        notes += n
    return problems, notes


def _audit_group(
    population: str, tables: list[tuple[str, list[str], pd.DataFrame, int]]
) -> tuple[list[str], list[str]]:
    all_dims: list[str] = []
    for _, dims, _, _ in tables:
        all_dims += [d for d in dims if d not in all_dims]
    index: dict[tuple[str, ...], int] = {}
    lower: list[float] = []
    upper: list[float] = []
    suppressed_in: dict[int, list[str]] = defaultdict(list)
    shown_in: dict[int, list[str]] = defaultdict(list)
    rows: list[dict[int, float]] = []

    def cell(key: tuple[str, ...]) -> int:
        if key not in index:
            index[key] = len(lower)
            lower.append(0.0)
            upper.append(np.inf)
        return index[key]

    for uid, dims, frame, base in tables:
        keys = []
        for _, row in frame.iterrows():
            key = tuple(str(row[d]) if d in dims else TOTAL for d in all_dims)
            i = cell(key)
            keys.append(key)
            text = str(row["value"]).strip()
            if text == "*":
                suppressed_in[i].append(uid)
            else:
                v, slack = float(text), (base - 1) / 2 if base > 1 else 0.0
                lower[i], upper[i] = max(lower[i], v - slack, 0.0), min(upper[i], v + slack)
                shown_in[i].append(uid)
        present = set(keys)
        for pos, d in enumerate(all_dims):
            if d not in dims:
                continue
            parts: dict[tuple[str, ...], list[int]] = defaultdict(list)
            for key in present:
                if key[pos] != TOTAL:
                    parts[(*key[:pos], TOTAL, *key[pos + 1 :])].append(index[key])
            for total, members in parts.items():
                if total in present and len(members) > 1:
                    relation = {m: 1.0 for m in members}
                    relation[index[total]] = -1.0
                    rows.append(relation)
    labels = {i: " | ".join(k) for k, i in index.items()}
    where = f"population {population!r}" if population else "the export"
    problems: list[str] = []
    for i, uids in suppressed_in.items():
        if i in shown_in:
            problems.append(
                f"cross-output audit of the exported files: cell {labels[i]} of {where} is "
                f"suppressed in {', '.join(uids)} but shown in {', '.join(shown_in[i])}"
            )
    hidden = [i for i in suppressed_in if i not in shown_in]
    if not hidden or not rows:
        return problems, []
    n = len(lower)
    a_eq = np.zeros((len(rows), n))
    for r, relation in enumerate(rows):
        for c, coef in relation.items():
            a_eq[r, c] = coef
    bounds = list(zip(lower, [None if np.isinf(u) else u for u in upper], strict=True))
    for i in hidden:
        ends = []
        for sign in (1.0, -1.0):
            cost = np.zeros(n)
            cost[i] = sign
            done = linprog(cost, A_eq=a_eq, b_eq=np.zeros(len(rows)), bounds=bounds, method="highs")
            if done.status == 2:
                return problems, [
                    f"cross-output audit of the exported files: {where} skipped (its tables do "
                    "not add up along their totals)"
                ]
            ends.append(np.inf if done.status == 3 else sign * float(done.fun))
        low, high = ends
        if high - low < 1.0:
            problems.append(
                f"cross-output audit of the exported files: suppressed cell {labels[i]} of {where} "
                f"({', '.join(suppressed_in[i])}) is determined by the published cells "
                f"(between {low:g} and {high:g})"
            )
    return problems, []
