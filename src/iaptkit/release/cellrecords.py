"""The cell records of a protected output: what each published cell counts and shows.

:func:`records_from_protected` (``protect`` tables, the report notebooks' tables) and
:func:`records_from_measures` (``protect_measures``, ``iaptkit measures`` results) describe
every cell of an output by its :class:`~iaptkit.release.cellkeys.CellKey` and what the output
publishes of it (docs/release-format.md, "Cell keys and the joint audit of the whole release").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from iaptkit.definitions.labels import BREAKDOWN_SEPARATOR, GROUP_SEPARATOR
from iaptkit.release.cellkeys import (
    ENGLAND,
    CellKey,
    CellRecord,
    KeyContext,
    OutputCells,
    count_box,
)

__all__ = ["records_from_measures", "records_from_protected"]


def records_from_protected(pt: Any, ctx: KeyContext) -> OutputCells:
    """The records of a ``ProtectedTable`` (``protect``): one per row of ``published_long()``.

    A dim at its total (``pt.totals``, default ``"Total"``) is not part of the breakdown. The
    table's own relations (margins, hierarchies) and inequalities come along.
    """
    cells = pt.cells.reset_index(drop=True)
    totals = {d: str((getattr(pt, "totals", None) or {}).get(d, "Total")) for d in pt.dims}
    policy = pt.policy
    records: list[CellRecord] = []
    for i, c in enumerate(cells.to_dict("records")):
        start, end, pairs = ctx.period_of(
            [(d, str(c[d])) for d in pt.dims if str(c[d]) != totals[d]]
        )
        measure, breakdown = ctx.measure_of(pairs)
        key = CellKey(
            ctx.fingerprint,
            ctx.definitions_version,
            measure,
            start,
            end,
            ctx.filters,
            breakdown,
        )
        status = str(c["status"])
        hidden = status in ("primary", "secondary")
        lo = float(c.get("attacker_lower", 0.0)) if not hidden else 0.0
        hi = float(c.get("attacker_upper", math.inf)) if not hidden else math.inf
        rounded = not hidden and hi > lo and bool(getattr(policy, "rounds", False))
        shown = "*" if hidden else str(c.get("display", ""))
        b = int(policy.rounding_base) if rounded else 1
        records.append(
            _count(key, i, status, (hidden, lo, hi, shown, b), float(c["value"]), policy)
        )
    return OutputCells(
        uid="",
        file="",
        records=tuple(records),
        relations=_sparse_rows(getattr(pt, "relations", None)),
        inequalities=_sparse_rows(getattr(pt, "inequalities", None)),
    )


def _count(
    key: CellKey,
    row: int,
    status: str,
    shown_as: tuple[bool, float, float, str, int],
    true_value: float | None,
    policy: Any,
) -> CellRecord:
    """The record of a count: ``shown_as`` is (hidden, lower, upper, text, rounding base)."""
    hidden, lower, upper, shown, base = shown_as
    width = float(getattr(policy, "protection_width", policy.threshold))
    return CellRecord(
        key=key,
        kind="count",
        row=row,
        suppressed=hidden,
        lower=lower,
        upper=upper,
        shown=shown,
        structural_zero=status == "structural_zero",
        base=base,
        threshold=int(policy.threshold),
        primary=status == "primary",
        true_value=true_value,
        width=width if status == "primary" else 1.0,
        protection_width=width,
        zeros_suppressed=bool(policy.zeros_suppressed),
    )


def _sparse_rows(matrix: Any) -> tuple[tuple[tuple[int, float], ...], ...]:
    if matrix is None:
        return ()
    from scipy import sparse

    csr = sparse.csr_matrix(matrix)
    out = []
    for r in range(csr.shape[0]):
        start, end = csr.indptr[r], csr.indptr[r + 1]
        row = tuple(
            (int(c), float(v))
            for c, v in zip(csr.indices[start:end], csr.data[start:end], strict=True)
        )
        if row:
            out.append(row)
    return tuple(out)


def _breakdown(name: str, group: str) -> tuple[tuple[str, str], ...]:
    if name == ENGLAND:
        return ()
    parts = name.split(BREAKDOWN_SEPARATOR)
    labels = group.split(GROUP_SEPARATOR) if len(parts) > 1 else [group]
    return tuple(zip(parts, labels, strict=False))


def records_from_measures(pm: Any, ctx: KeyContext) -> OutputCells:
    """The records of a ``ProtectedMeasures`` (``protect_measures``): one per exported row.

    Counts carry their rounding box; rates their numerator and denominator keys and printed
    texts (rate and limits), read by the integer attacker at their published precision.
    """
    cells = pm.cells.reset_index(drop=True)
    policy = pm.policy
    base = int(policy.rounding_base) if getattr(policy, "rounds", True) else 1
    records: list[CellRecord] = []
    for i, c in enumerate(cells.to_dict("records")):
        version = c.get("definitions_version")
        defs = str(version) if version is not None and not pd.isna(version) else ""

        def key(measure: str, c: Mapping[str, Any] = c, defs: str = defs) -> CellKey:
            return CellKey(
                ctx.fingerprint,
                defs or ctx.definitions_version,
                measure,
                str(c["period_start"]),
                str(c["period_end"]),
                ctx.filters,
                ctx.breakdown(_breakdown(str(c["breakdown"]), str(c["group"]))),
            )

        kind = str(c["kind"])
        display = str(c.get("display", ""))
        status = str(c.get("status", ""))
        national = str(c["breakdown"]) == ENGLAND
        hidden = display == "*" or status in ("primary", "secondary", "suppressed")
        truth = pd.to_numeric(pd.Series([c.get("true_value")]), errors="coerce").iloc[0]
        true_value = None if pd.isna(truth) else float(truth)
        if kind == "count":
            lo, hi = 0.0, math.inf
            b = base if policy.rounds_cell(national=national) else 1
            if not hidden and display not in ("", "nan"):
                lo, hi = count_box(float(display), b, int(policy.threshold))
            shown_as = (hidden, lo, hi, display, b)
            records.append(_count(key(str(c["measure"])), i, status, shown_as, true_value, policy))
            continue
        num, den = c.get("numerator"), c.get("denominator")
        decimals = policy.rate_decimals_national if national else policy.rate_decimals_subnational
        records.append(
            CellRecord(
                key=key(str(c["measure"])),
                kind="rate" if kind == "rate" else "other",
                row=i,
                suppressed=hidden,
                lower=0.0,
                upper=math.inf,
                shown=display,
                numerator=None if num is None or pd.isna(num) else key(str(num)),
                denominator=None if den is None or pd.isna(den) else key(str(den)),
                decimals=int(decimals),
                rates_from=str(policy.rates_from),
                texts=(
                    display,
                    str(c.get("ci_lower_display", "")),
                    str(c.get("ci_upper_display", "")),
                ),
                true_value=true_value,
            )
        )
    return OutputCells(uid="", file="", records=tuple(records))
