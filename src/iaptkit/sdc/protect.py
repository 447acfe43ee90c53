"""Protect count tables: primary suppression, rounding, secondary suppression and the audit.

:func:`protect` turns a long count table (or microdata) into a :class:`ProtectedTable`:
margins or hierarchies are added (:mod:`iaptkit.sdc.tables`), the policy's rules are applied
cell by cell (:mod:`iaptkit.sdc.rules`), a :class:`~iaptkit.sdc.solver.cells.CellSpace` is built and
handed to the solver (:func:`iaptkit.sdc.secondary.secondary_suppression`), and the result is
audited (:func:`iaptkit.sdc.audit.audit`); an output whose audit fails is refused
(:class:`~iaptkit.errors.AuditFailedError`). :func:`protect_linked` protects several tables
that share cells jointly; :func:`audit_release` audits already-protected tables together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from iaptkit.errors import ConfigError
from iaptkit.sdc.counts import inner_counts
from iaptkit.sdc.linking import implied_relations, merge_cells
from iaptkit.sdc.policies import Policy, load_policy
from iaptkit.sdc.protected import ProtectedTable, audit_release, cell_label, info_loss
from iaptkit.sdc.solve import Progress, cells_frame, solve_cells
from iaptkit.sdc.tables import (
    TOTAL,
    CellTable,
    DimStructure,
    build_cells,
    dim_structure,
)

__all__ = [
    "ProtectedTable",
    "TableRequest",
    "audit_release",
    "protect",
    "protect_linked",
]

_POP = "__population__"

BoolArray = npt.NDArray[np.bool_]


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class TableRequest:
    """One table to protect (for :func:`protect_linked`); fields as in :func:`protect`."""

    data: pd.DataFrame
    dims: tuple[str, ...]
    value: str | None = None
    margins: bool = True
    hierarchies: Mapping[str, Mapping[str, str]] | None = None
    structural_zeros: pd.DataFrame | None = None
    name: str = "table"
    population: str = ""
    description: str = ""
    geography: tuple[str, ...] | None = None
    categories: Mapping[str, Sequence[str]] | None = None


@dataclass(frozen=True, eq=False)
class _Prepared:
    request: TableRequest
    structures: tuple[DimStructure, ...]
    table: CellTable
    national: BoolArray
    structural: BoolArray


def _as_request(req: TableRequest | Mapping[str, Any]) -> TableRequest:
    if isinstance(req, TableRequest):
        return req
    args = dict(req)
    args["dims"] = tuple(args.get("dims", ()))
    if args.get("geography") is not None:
        args["geography"] = tuple(args["geography"])
    if args.get("categories") is not None:
        args["categories"] = {str(d): tuple(map(str, v)) for d, v in args["categories"].items()}
    try:
        return TableRequest(**args)
    except TypeError as exc:
        raise ConfigError(f"A table request has unexpected fields: {exc}") from None


def _prepare(req: TableRequest) -> _Prepared:
    dims = tuple(req.dims)
    hier = dict(req.hierarchies or {})
    unknown = [d for d in hier if d not in dims]
    if unknown:
        raise ConfigError(
            f"Table {req.name!r}: hierarchies given for {unknown}, which are not among its "
            f"dims {list(dims)}."
        )
    inner = inner_counts(req.data, dims, req.value, name=req.name)
    structures = tuple(
        dim_structure(
            d,
            _leaves(req, d, inner[d].unique().tolist()),
            margins=req.margins,
            hierarchy=hier.get(d),
        )
        for d in dims
    )
    table = build_cells(inner, structures)
    geography = req.geography
    if geography is None:
        geography = tuple(d for d in dims if d in hier) or dims
    bad_geo = [g for g in geography if g not in dims]
    if bad_geo:
        raise ConfigError(f"Table {req.name!r}: geography {bad_geo} not among dims {list(dims)}.")
    national = np.ones(table.n_cells, dtype=bool)
    for s in structures:
        if s.name in geography:
            national &= (table.keys[s.name] == s.top).to_numpy() if s.top else False
    structural = np.zeros(table.n_cells, dtype=bool)
    if req.structural_zeros is not None and len(req.structural_zeros):
        sz = req.structural_zeros
        missing = [d for d in dims if d not in sz.columns]
        if missing:
            raise ConfigError(
                f"Table {req.name!r}: structural_zeros needs the dims {list(dims)}; "
                f"missing {missing}."
            )
        wanted = set(map(tuple, sz[list(dims)].astype(str).to_numpy().tolist()))
        have = list(map(tuple, table.keys[list(dims)].astype(str).to_numpy().tolist()))
        structural = np.array([k in wanted for k in have], dtype=bool)
        absent = wanted - set(have)
        if absent:
            raise ConfigError(
                f"Table {req.name!r}: {len(absent)} structural zeros are not cells of the "
                f"table (e.g. {sorted(absent)[:3]})."
            )
    return _Prepared(req, structures, table, national, structural)


def _leaves(req: TableRequest, dim: str, found: list[str]) -> list[str]:
    """The labels of ``dim``: its full category list when given, else the labels found.

    A category of the list absent from the data is a cell with a count of 0 (protected like
    any other); a label found in the data but not in the list is refused.
    """
    cats = dict(req.categories or {})
    unknown = [d for d in cats if d not in req.dims]
    if unknown:
        raise ConfigError(
            f"Table {req.name!r}: categories given for {unknown}, which are not among its "
            f"dims {list(req.dims)}."
        )
    if dim not in cats:
        return found
    listed = [str(c) for c in dict.fromkeys(cats[dim])]
    extra = sorted(set(found) - set(listed))
    if extra:
        raise ConfigError(
            f"Table {req.name!r}: expected the labels of {dim!r} among its categories "
            f"{listed}; found {len(extra)} other(s) in the data, e.g. {extra[:5]}."
        )
    return listed


def check_secondary_method(secondary: str) -> None:
    """Refuse an unknown secondary suppression method before any work is done.

    Raises
    ------
    ConfigError
        ``secondary`` is not one of ``auto``, ``lp``, ``hypercube``, ``modular``.

    Examples
    --------
    >>> check_secondary_method("lp")
    """
    from iaptkit.sdc.secondary import METHODS

    if secondary not in METHODS:
        raise ConfigError(
            f"Secondary suppression method must be one of {', '.join(METHODS)}; "
            f"found {secondary!r}."
        )


def _protect_prepared(
    preps: Sequence[_Prepared],
    policy: Policy,
    rounding: str,
    secondary: str = "auto",
    cost: str | float = "value",
    progress: Progress | None = None,
    timeout: float | None = None,
) -> tuple[ProtectedTable, ...]:
    check_secondary_method(secondary)
    key_dims: list[str] = []
    fill: dict[str, str] = {_POP: ""}
    for p in preps:
        for s in p.structures:
            if s.name not in key_dims:
                key_dims.append(s.name)
            if s.top is not None and s.top != TOTAL:
                fill.setdefault(s.name, s.top)
    for d in key_dims:
        fill.setdefault(d, TOTAL)
    tables = []
    for p in preps:
        keys = p.table.keys.copy()
        keys.insert(0, _POP, p.request.population)
        tables.append(
            CellTable(
                keys=keys,
                values=p.table.values,
                is_margin=p.table.is_margin,
                level=p.table.level,
                relations=p.table.relations,
                inner=p.table.inner,
                grids=p.table.grids,
            )
        )
    if len(tables) == 1:
        merged, positions = tables[0], [np.arange(tables[0].n_cells, dtype=np.int64)]
    else:
        merged, positions = merge_cells(tables, [_POP, *key_dims], fill)
        implied = implied_relations(merged.keys, merged.values, key_dims, fill, group_by=[_POP])
        merged = replace(
            merged, relations=sparse.csr_matrix(sparse.vstack([merged.relations, implied]))
        )
    n = merged.n_cells
    national = np.ones(n, dtype=bool)
    structural = np.zeros(n, dtype=bool)
    appearances = np.zeros(n, dtype=np.int64)
    for p, pos in zip(preps, positions, strict=True):
        sub = np.ones(n, dtype=bool)
        sub[pos] = p.national
        national &= sub
        structural[pos[p.structural]] = True
        np.add.at(appearances, pos, 1)
    derived = np.zeros(n, dtype=bool)
    if policy.margins == "sum_of_rounded":
        derived = merged.is_margin & (appearances == 1)
    if len(tables) > 1 and derived.any():
        # Build the inner-cell membership of the merged space from each table's own.
        rows: list[npt.NDArray[np.int64]] = []
        cols: list[npt.NDArray[np.int64]] = []
        for p, pos in zip(preps, positions, strict=True):
            assert p.table.inner is not None
            coo = sparse.coo_matrix(p.table.inner)
            rows.append(pos[coo.row])
            cols.append(pos[coo.col])
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        inner_m = sparse.csr_matrix((np.ones(r.shape[0]), (r, c)), shape=(n, n))
        inner_m.data[:] = 1.0
        merged = CellTable(
            keys=merged.keys,
            values=merged.values,
            is_margin=merged.is_margin,
            level=merged.level,
            relations=merged.relations,
            inner=sparse.csr_matrix(inner_m, dtype=np.int64),
            grids=merged.grids,
        )
    names = [""] * n
    for p, pos in zip(preps, positions, strict=True):
        recs = p.table.keys.to_dict("records")
        for i, j in enumerate(pos):
            if not names[j]:
                names[j] = cell_label(p.request.name, recs[i], [s.name for s in p.structures])
    solved = solve_cells(
        merged,
        policy,
        national=national,
        structural_zero=structural,
        derived_total=derived,
        rounding=rounding,
        labels=names,
        secondary=secondary,
        cost=cost,
        progress=progress,
        timeout=timeout,
    )
    search = {"timed_out": float(solved.timed_out), "fallback": float(solved.fallback)}
    out = []
    for p, pos in zip(preps, positions, strict=True):
        dims = tuple(s.name for s in p.structures)
        cells = cells_frame(p.table.keys, dims, p.table.is_margin, solved, pos)
        out.append(
            ProtectedTable(
                name=p.request.name,
                dims=dims,
                policy=policy,
                population=p.request.population,
                description=p.request.description,
                cells=cells,
                certificate=solved.certificate,
                info_loss=MappingProxyType({**info_loss(cells), **search}),
                relations=p.table.relations,
                totals=MappingProxyType({s.name: s.top for s in p.structures if s.top}),
                rounding=rounding,
                grid=p.table.grids[0] if p.table.grids else None,
            )
        )
    return tuple(out)


# --------------------------------------------------------------------------- public API


def protect(
    data: pd.DataFrame,
    dims: Sequence[str],
    value: str | None = None,
    *,
    policy: Policy | str | Path = "nhs-sde",
    margins: bool = True,
    hierarchies: Mapping[str, Mapping[str, str]] | None = None,
    structural_zeros: pd.DataFrame | None = None,
    rounding: str = "policy",
    name: str = "table",
    population: str = "",
    description: str = "",
    geography: Sequence[str] | None = None,
    secondary: str = "auto",
    cost: str | float = "value",
    progress: Progress | None = None,
    timeout: float | None = None,
    categories: Mapping[str, Sequence[str]] | None = None,
) -> ProtectedTable:
    """Protect a count table under a disclosure-control policy.

    Parameters
    ----------
    data
        A long table (one row per inner cell: ``dims`` + ``value``) or microdata with
        ``value=None`` (rows are counted).
    dims
        The dimension columns.
    value
        The count column, or ``None`` for microdata.
    policy
        A :class:`Policy`, a packaged policy id or a policy YAML path.
    margins
        Add all marginal totals (every combination of dims summed over, labelled ``"Total"``).
    hierarchies
        ``{dim: {child: parent}}``, e.g. provider -> commissioner -> England.
    structural_zeros
        Cells (dims columns) known to be zero by construction: shown as 0, never suppressed.
    rounding
        ``"policy"`` or ``"midpoint6"`` (where the policy allows it).
    name, population, description
        What the table is (cells of the same population are shared across a release).
    geography
        The geographic dims: a cell is national when all of them are at their total. Default:
        the dims with a hierarchy, else all dims (only the grand total is national). Pass
        ``()`` for a national table (every cell national).
    secondary
        Secondary suppression method: ``"lp"`` (attacker-LP guided: few and small secondary
        cells, slow on large tables), ``"modular"`` (a min-cost LP per primary on the
        subtables through it, rounded up, then redundant cells pruned: near the ``"lp"``
        pattern, minutes on tables of thousands of cells), ``"hypercube"`` (tau-Argus-style
        hypercubes: fast, but hides more, including large totals) or ``"auto"`` (default:
        ``"lp"`` up to 2,000 cells; above, ``"modular"`` when its estimated time fits, else
        ``"hypercube"``: :func:`iaptkit.sdc.auto_method.choose_method`).
        The audit is the same for all.
    cost
        What secondary suppression minimises: ``"value"`` (default: value mass, margins
        weighted up), ``"cells"`` (number of cells) or a weight in ``[0, 1]`` on cells
        (:func:`iaptkit.sdc.solve.cell_costs`).
    progress
        Optional callback ``(stage, done, total)`` called as the work goes on (stages
        ``"hypercube"``, ``"secondary"``, ``"cleanup"``, ``"audit"``).
    timeout
        Seconds for search and audit. The search gets 60 % of them and then ends with the
        best SAFE pattern so far (the pruned pattern so far, or, before any safe pattern was
        found, every cell but structural zeros suppressed); an audit not finished by the
        timeout proves nothing, so that fallback is published instead (and audited to the
        end). ``info_loss["timed_out"]`` and ``info_loss["fallback"]`` say so. Never an
        unsafe pattern.
    categories
        ``{dim: labels}``: the full category list of a dim (e.g. from
        :mod:`iaptkit.definitions.labels`). Every label is a row, those nobody has as explicit
        zero cells, protected like any other; a label in the data but not in the list is
        refused. Tables of one breakdown published for different sub-populations (an England
        run and a provider run) then have the same rows, and no row is left out: an absent row
        tells a reader its count is 0 (docs/disclosure-control.md, "Linked outputs").

    Returns
    -------
    ProtectedTable

    Raises
    ------
    ConfigError
        Bad input (missing columns, duplicate cells, negative or non-integer counts).
    PolicyError
        Unknown or malformed policy.
    AuditFailedError
        The final pattern fails the attacker audit.

    Notes
    -----
    Policies, attacker model, protection criterion: ``docs/disclosure-control.md``.
    Suppressed cells (primary and secondary alike) are shown as ``*``; published counts are
    rounded as the policy says (nearest 5, halves up). The table is the full cross of the labels
    found in each dim: a combination absent from ``data`` is a cell with a count of 0 (declare
    impossible combinations as ``structural_zeros``).

    Examples
    --------
    >>> df = pd.DataFrame({"sex": ["F", "M"], "n": [3, 40]})
    >>> pt = protect(df, ["sex"], "n", policy="sdap")
    >>> pt.published_long()["value"].tolist()
    ['*', '*', '43']
    """
    return protect_linked(
        [
            TableRequest(
                data=data,
                dims=tuple(dims),
                value=value,
                margins=margins,
                hierarchies=hierarchies,
                structural_zeros=structural_zeros,
                name=name,
                population=population,
                description=description,
                geography=None if geography is None else tuple(geography),
                categories=categories,
            )
        ],
        policy=policy,
        rounding=rounding,
        secondary=secondary,
        cost=cost,
        progress=progress,
        timeout=timeout,
    )[0]


def protect_linked(
    requests: Sequence[TableRequest | Mapping[str, Any]],
    policy: Policy | str | Path = "nhs-sde",
    *,
    rounding: str = "policy",
    secondary: str = "auto",
    cost: str | float = "value",
    progress: Progress | None = None,
    timeout: float | None = None,
) -> tuple[ProtectedTable, ...]:
    """Protect several tables that share cells jointly (one cell space, one audit).

    Parameters
    ----------
    requests
        :class:`TableRequest` objects or mappings with the same fields.
    policy
        The policy (object, id or path).
    rounding
        ``"policy"`` or ``"midpoint6"``.
    secondary, cost, progress, timeout
        As for :func:`protect`.

    Returns
    -------
    tuple of ProtectedTable
        In the order of ``requests``; a shared cell (same population, same dims values, a dim a
        table lacks = its total) has the same published value in every table, and every table
        carries the joint certificate.

    Notes
    -----
    Linked tables and the differencing attacker: ``docs/disclosure-control.md``.

    Examples
    --------
    >>> micro = pd.DataFrame({"org": list("AABBB") * 8, "sex": list("FMFMF") * 8,
    ...                       "age": list("xyyxy") * 8})
    >>> a, b = protect_linked([{"data": micro, "dims": ["org", "sex"], "name": "a"},
    ...                        {"data": micro, "dims": ["org", "age"], "name": "b"}], "sdap")
    >>> a.cells.query("sex == 'Total'")["display"].tolist() == (
    ...     b.cells.query("age == 'Total'")["display"].tolist())
    True
    """
    pol = load_policy(policy)
    reqs = [_as_request(r) for r in requests]
    if not reqs:
        raise ConfigError("protect_linked: expected at least one table request, found none.")
    return _protect_prepared(
        [_prepare(r) for r in reqs], pol, rounding, secondary, cost, progress, timeout
    )
