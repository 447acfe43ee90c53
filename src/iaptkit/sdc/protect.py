"""Protect count tables: primary suppression, rounding, secondary suppression and the audit.

:func:`protect` turns a long count table (or microdata) into a :class:`ProtectedTable`:
margins or hierarchies are added (:mod:`iaptkit.sdc.tables`), the policy's rules are applied
cell by cell (:mod:`iaptkit.sdc.rules`), a :class:`~iaptkit.sdc.cells.CellSpace` is built and
handed to the solver (:func:`iaptkit.sdc.secondary.secondary_suppression`), and the result is
audited (:func:`iaptkit.sdc.audit.audit`); an output whose audit fails is refused
(:class:`~iaptkit.errors.AuditFailedError`). :func:`protect_linked` protects several tables
that share cells jointly; :func:`audit_release` audits already-protected tables together.
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from iaptkit.errors import AuditFailedError, ConfigError
from iaptkit.sdc.cells import CellSpace
from iaptkit.sdc.policies import Policy, load_policy
from iaptkit.sdc.rules import CellRules, apply_policy
from iaptkit.sdc.tables import (
    TOTAL,
    CellTable,
    DimStructure,
    build_cells,
    dim_structure,
    inner_counts,
    merge_cells,
)

if TYPE_CHECKING:
    from iaptkit.sdc.audit import AuditCertificate

__all__ = [
    "ProtectedTable",
    "SolvedCells",
    "TableRequest",
    "audit_release",
    "protect",
    "protect_linked",
    "solve_cells",
]

STATUSES: tuple[str, ...] = ("published", "primary", "secondary", "structural_zero")
_POP = "__population__"
_ZERO_SHOWN_COST = 1e6

BoolArray = npt.NDArray[np.bool_]


# --------------------------------------------------------------------------- solving


@dataclass(frozen=True, eq=False)
class SolvedCells:
    """The outcome of protecting a cell space (internal; one per protect call).

    Attributes
    ----------
    space
        The :class:`CellSpace` that was solved and audited.
    suppressed
        Final mask (primary + secondary, and sum-of-rounded totals above a suppressed cell).
    status
        Per-cell status (one of :data:`STATUSES`).
    published
        Published whole numbers (meaningless where suppressed).
    certificate
        The audit certificate of ``suppressed``.
    rules
        The policy's cell rules.
    """

    space: CellSpace
    suppressed: BoolArray
    status: npt.NDArray[np.object_]
    published: npt.NDArray[np.int64]
    certificate: AuditCertificate
    rules: CellRules


def _solver() -> Any:
    return importlib.import_module("iaptkit.sdc.secondary")


def _auditor() -> Any:
    return importlib.import_module("iaptkit.sdc.audit")


def solve_cells(
    table: CellTable,
    policy: Policy,
    *,
    national: BoolArray | None = None,
    structural_zero: BoolArray | None = None,
    derived_total: BoolArray | None = None,
    rounding: str = "policy",
    labels: Sequence[str] = (),
) -> SolvedCells:
    """Apply a policy to a cell table, choose secondary suppressions and audit the result.

    Parameters
    ----------
    table
        Cells, true values and relations (and inequalities).
    policy
        The policy.
    national, structural_zero, derived_total
        Per-cell flags, see :func:`iaptkit.sdc.rules.apply_policy`. ``derived_total`` cells
        need ``table.inner`` (their published value is the sum of their published inner cells;
        a derived total above a suppressed cell is suppressed too).
    rounding
        ``"policy"`` or ``"midpoint6"``.
    labels
        Readable cell names for the certificate.

    Returns
    -------
    SolvedCells

    Raises
    ------
    AuditFailedError
        The audit of the final pattern fails (names the failing cells).

    Notes
    -----
    Attacker model and criterion: ``shared/domain/disclosure-control.md`` ("The attacker").

    Examples
    --------
    >>> import pandas as pd
    >>> from iaptkit.sdc.tables import build_cells, dim_structure
    >>> t = build_cells(pd.DataFrame({"a": ["x", "y"], "value": [20, 30]}),
    ...                 [dim_structure("a", ["x", "y"], margins=True)])
    >>> s = solve_cells(t, load_policy("sdap"))
    >>> s.status.tolist(), s.certificate.passed
    (['published', 'published', 'published'], True)
    """
    n = table.n_cells
    sz = np.zeros(n, bool) if structural_zero is None else np.asarray(structural_zero, bool)
    derived = np.zeros(n, bool) if derived_total is None else np.asarray(derived_total, bool)
    if derived.any() and table.inner is None:
        raise ConfigError("Totals published as sums of rounded cells need the table structure.")
    if bool((table.values[sz] != 0).any()):
        bad = np.flatnonzero(sz & (table.values != 0))[:5]
        names = [labels[i] if labels else f"cell {i}" for i in bad]
        raise ConfigError(
            f"Cells declared structural zeros are not zero: {names} "
            f"(values {table.values[bad].tolist()}); expected 0."
        )
    rules = apply_policy(
        table.values,
        policy,
        national=national,
        structural_zero=sz,
        derived_total=derived,
        rounding=rounding,
    )
    cost = (1.0 + table.values.astype(np.float64)) * (1.0 + table.level.astype(np.float64))
    if not policy.zeros_suppressed:
        cost = np.where((table.values == 0) & ~sz, _ZERO_SHOWN_COST, cost)
    space = CellSpace(
        values=table.values.astype(np.int64),
        relations=sparse.csr_matrix(table.relations, dtype=np.float64),
        published_lower=rules.published_lower,
        published_upper=rules.published_upper,
        suppressed_lower=rules.suppressed_lower,
        suppressed_upper=rules.suppressed_upper,
        primary=rules.primary,
        structural_zero=sz,
        protection_width=np.full(n, float(policy.protection_width)),
        cost=cost,
        inequalities=(
            None
            if table.inequalities is None
            else sparse.csr_matrix(table.inequalities, dtype=np.float64)
        ),
        labels=tuple(labels),
    )
    if rules.primary.any():
        mask = np.asarray(_solver().secondary_suppression(space), dtype=bool)
    else:
        mask = np.zeros(n, dtype=bool)
    mask = (mask | rules.primary) & ~sz
    published = rules.published.copy()
    if derived.any():
        assert table.inner is not None
        inner_mask = (~table.is_margin) & mask
        under_suppressed = table.inner @ inner_mask.astype(np.int64)
        mask = mask | (derived & (under_suppressed > 0))
        inner_pub = np.where(~table.is_margin, published, 0).astype(np.int64)
        sums = np.asarray(table.inner @ inner_pub, dtype=np.int64)
        published = np.where(derived, sums, published)
    certificate = _auditor().audit(space, mask)
    if not certificate.passed:
        failures = certificate.failures()
        shown = "; ".join(
            f"{c.label}: attacker interval {c.lower:g}..{c.upper:g} ({c.reason})"
            for c in failures[:5]
        )
        raise AuditFailedError(
            f"The disclosure audit failed for {len(failures)} of {certificate.n_suppressed} "
            f"suppressed cells under policy {policy.id} v{policy.version}: {shown}. "
            "The output must not be released."
        )
    status = np.full(n, "published", dtype=object)
    status[mask] = "secondary"
    status[mask & rules.primary] = "primary"
    status[sz] = "structural_zero"
    published = np.where(sz, 0, published).astype(np.int64)
    return SolvedCells(space, mask, status, published, certificate, rules)


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True, eq=False)
class ProtectedTable:
    """A protected count table: what may be published, the truth for the checker, the audit.

    Attributes
    ----------
    name, dims, policy, population, description
        What the table is.
    cells
        INTERNAL long view, one row per cell: dims, ``is_margin``, ``value`` (true),
        ``published`` (Int64, NA where suppressed), ``display`` (number or ``"*"``), ``status``
        (published | primary | secondary | structural_zero), ``attacker_lower`` and
        ``attacker_upper`` (what the published table tells the attacker a priori).
    certificate
        The audit certificate (joint, for linked tables).
    info_loss
        Cells suppressed (primary, secondary), their share, share of the total count
        suppressed, rounding error.
    relations
        ``(m, len(cells))`` sparse: the additive relations between the rows of ``cells``.
    inequalities
        Optional ``(k, len(cells))`` sparse known inequalities.
    totals
        For each dim, the label of its grand total (``"Total"`` or a hierarchy root).
    rounding
        The rounding used (``"policy"`` or ``"midpoint6"``).
    """

    name: str
    dims: tuple[str, ...]
    policy: Policy
    population: str
    description: str
    cells: pd.DataFrame
    certificate: AuditCertificate
    info_loss: Mapping[str, float]
    relations: sparse.csr_matrix = field(repr=False)
    inequalities: sparse.csr_matrix | None = field(default=None, repr=False)
    totals: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    rounding: str = "policy"

    @property
    def audit_passed(self) -> bool:
        """Whether the audit passed (a refused table is never constructed, so normally True)."""
        return bool(self.certificate.passed)

    def published_long(self) -> pd.DataFrame:
        """EXPORT view: dims + ``value`` (number or ``"*"``) + ``policy_id``, ``policy_version``.

        Examples
        --------
        >>> pt = protect(pd.DataFrame({"a": ["x", "y"], "n": [20, 30]}), ["a"], "n",
        ...              policy="sdap")
        >>> pt.published_long()["value"].tolist()
        ['20', '30', '50']
        """
        out = self.cells[list(self.dims)].copy()
        out["value"] = self.cells["display"].to_numpy()
        out["policy_id"] = self.policy.id
        out["policy_version"] = self.policy.version
        return out.reset_index(drop=True)

    def published_wide(self, columns: str | None = None) -> pd.DataFrame:
        """EXPORT view, wide: one column per label of ``columns`` (default: the last dim)."""
        col = columns or self.dims[-1]
        if col not in self.dims:
            raise ConfigError(f"Table {self.name!r}: {col!r} is not one of its dims {self.dims}.")
        rows = [d for d in self.dims if d != col]
        long = self.published_long()
        order = list(dict.fromkeys(long[col].tolist()))
        if not rows:
            wide = pd.DataFrame(
                [long.set_index(col)["value"].reindex(order).tolist()], columns=order
            )
        else:
            wide = long.pivot(index=rows, columns=col, values="value")
            wide = wide.reindex(columns=order)
            row_order = list(dict.fromkeys(map(tuple, long[rows].to_numpy().tolist())))
            wide = wide.reindex(
                pd.MultiIndex.from_tuples(row_order, names=rows)
                if len(rows) > 1
                else pd.Index([r[0] for r in row_order], name=rows[0])
            )
            wide = wide.reset_index()
        wide.columns.name = None
        wide["policy_id"] = self.policy.id
        wide["policy_version"] = self.policy.version
        return wide

    def underlying(self) -> pd.DataFrame:
        """The truth beside what is published (for the output checker, never exported)."""
        cols = [*self.dims, "is_margin", "value", "display", "status"]
        return self.cells[cols].rename(columns={"display": "published"}).reset_index(drop=True)

    def to_csv(self, path: str | Path) -> Path:
        """Write the export view (:meth:`published_long`) to ``path`` as CSV."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        self.published_long().to_csv(p, index=False)
        return p

    def _repr_html_(self) -> str:
        col = self.dims[-1]
        rows = [d for d in self.dims if d != col]
        cells = self.cells
        order = list(dict.fromkeys(cells[col].tolist()))
        row_keys = (
            list(dict.fromkeys(map(tuple, cells[rows].to_numpy().tolist()))) if rows else [()]
        )
        lookup = {(*(r[d] for d in rows), r[col]): r for r in cells.to_dict("records")}
        e = html.escape
        loss = self.info_loss
        head = (
            f"<div class='iaptkit-protected'><b>{e(self.name)}</b> &mdash; policy "
            f"<code>{e(self.policy.id)} v{e(self.policy.version)}</code>; audit "
            f"<b style='color:{'#2e7d32' if self.audit_passed else '#c62828'}'>"
            f"{'passed' if self.audit_passed else 'FAILED'}</b>; "
            f"{int(loss.get('suppressed_primary', 0))} primary + "
            f"{int(loss.get('suppressed_secondary', 0))} secondary suppressions "
            f"({100 * loss.get('suppressed_share', 0.0):.1f}% of cells)"
        )
        if self.population:
            head += f"<br>population: {e(self.population)}"
        parts = [head, "<table style='border-collapse:collapse'><tr>"]
        parts += [f"<th>{e(d)}</th>" for d in rows]
        parts += [f"<th>{e(str(c))}</th>" for c in order]
        parts.append("</tr>")
        styles = {
            "primary": "background:#ffcdd2;color:#b71c1c;font-weight:bold",
            "secondary": "background:#ffe0b2;color:#e65100;font-weight:bold",
            "structural_zero": "color:#9e9e9e",
            "published": "",
        }
        for rk in row_keys:
            parts.append("<tr>")
            parts += [f"<th style='text-align:left'>{e(str(x))}</th>" for x in rk]
            for c in order:
                rec = lookup.get((*rk, c))
                if rec is None:
                    parts.append("<td></td>")
                    continue
                style = styles[str(rec["status"])]
                if rec["is_margin"]:
                    style += ";border-top:1px solid #999" if style else "border-top:1px solid #999"
                title = f"{rec['status']}"
                parts.append(
                    f"<td style='text-align:right;padding:2px 6px;{style}' title='{e(title)}'>"
                    f"{e(str(rec['display']))}</td>"
                )
            parts.append("</tr>")
        parts.append(
            "</table><small>red = suppressed by the policy (primary), orange = secondary "
            "suppression; both are exported as *.</small></div>"
        )
        return "".join(parts)


def _info_loss(cells: pd.DataFrame) -> Mapping[str, float]:
    status = cells["status"]
    suppressed = status.isin(["primary", "secondary"])
    inner = ~cells["is_margin"].to_numpy(dtype=bool)
    total_inner = float(cells.loc[inner, "value"].sum())
    supp_inner = float(cells.loc[inner & suppressed.to_numpy(), "value"].sum())
    shown = ~suppressed
    err = (cells.loc[shown, "published"].astype("float64") - cells.loc[shown, "value"]).abs()
    return MappingProxyType(
        {
            "cells": float(len(cells)),
            "suppressed_primary": float((status == "primary").sum()),
            "suppressed_secondary": float((status == "secondary").sum()),
            "suppressed_share": float(suppressed.mean()) if len(cells) else 0.0,
            "suppressed_count_share": supp_inner / total_inner if total_inner else 0.0,
            "rounding_abs_error_total": float(err.sum()),
            "rounding_abs_error_max": float(err.max()) if len(err) else 0.0,
        }
    )


def _cells_frame(
    keys: pd.DataFrame,
    dims: Sequence[str],
    is_margin: BoolArray,
    solved: SolvedCells,
    positions: npt.NDArray[np.int64],
) -> pd.DataFrame:
    mask = solved.suppressed[positions]
    lower, upper = solved.space.attacker_bounds(solved.suppressed)
    published = pd.array(
        np.where(mask, 0, solved.published[positions]).astype(np.int64), dtype="Int64"
    )
    published[mask] = pd.NA
    out = keys[list(dims)].astype(str).reset_index(drop=True).copy()
    out["is_margin"] = np.asarray(is_margin, dtype=bool)
    out["value"] = solved.space.values[positions]
    out["published"] = published
    out["display"] = np.where(mask, "*", solved.published[positions].astype(str))
    out["status"] = solved.status[positions].astype(str)
    out["attacker_lower"] = lower[positions]
    out["attacker_upper"] = upper[positions]
    return out


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
        dim_structure(d, inner[d].unique().tolist(), margins=req.margins, hierarchy=hier.get(d))
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


def _label(name: str, keys: Mapping[Any, Any], dims: Sequence[str]) -> str:
    return f"{name}: " + ", ".join(f"{d}={keys[d]}" for d in dims)


def _protect_prepared(
    preps: Sequence[_Prepared], policy: Policy, rounding: str
) -> tuple[ProtectedTable, ...]:
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
            )
        )
    if len(tables) == 1:
        merged, positions = tables[0], [np.arange(tables[0].n_cells, dtype=np.int64)]
    else:
        merged, positions = merge_cells(tables, [_POP, *key_dims], fill)
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
        )
    names = [""] * n
    for p, pos in zip(preps, positions, strict=True):
        recs = p.table.keys.to_dict("records")
        for i, j in enumerate(pos):
            if not names[j]:
                names[j] = _label(p.request.name, recs[i], [s.name for s in p.structures])
    solved = solve_cells(
        merged,
        policy,
        national=national,
        structural_zero=structural,
        derived_total=derived,
        rounding=rounding,
        labels=names,
    )
    out = []
    for p, pos in zip(preps, positions, strict=True):
        dims = tuple(s.name for s in p.structures)
        cells = _cells_frame(p.table.keys, dims, p.table.is_margin, solved, pos)
        out.append(
            ProtectedTable(
                name=p.request.name,
                dims=dims,
                policy=policy,
                population=p.request.population,
                description=p.request.description,
                cells=cells,
                certificate=solved.certificate,
                info_loss=_info_loss(cells),
                relations=p.table.relations,
                totals=MappingProxyType({s.name: s.top for s in p.structures if s.top}),
                rounding=rounding,
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
    Policies, attacker model, protection criterion: ``shared/domain/disclosure-control.md``.
    Suppressed cells (primary and secondary alike) are shown as ``*``; published counts are
    rounded as the policy says (nearest 5, halves up).

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
            )
        ],
        policy=policy,
        rounding=rounding,
    )[0]


def protect_linked(
    requests: Sequence[TableRequest | Mapping[str, Any]],
    policy: Policy | str | Path = "nhs-sde",
    *,
    rounding: str = "policy",
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

    Returns
    -------
    tuple of ProtectedTable
        In the order of ``requests``; a shared cell (same population, same dims values, a dim a
        table lacks = its total) has the same published value in every table, and every table
        carries the joint certificate.

    Notes
    -----
    Linked tables and the differencing attacker: ``shared/domain/disclosure-control.md``.

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
    return _protect_prepared([_prepare(r) for r in reqs], pol, rounding)


def audit_release(tables: Sequence[ProtectedTable]) -> AuditCertificate:
    """Audit already-protected tables together (the cross-output audit of a release).

    Parameters
    ----------
    tables
        Protected tables. Cells of the same ``population`` with equal dims values (a dim a
        table lacks = its total) are one cell; the attacker's bounds on it are the
        intersection of what each table reveals; the relations of every table apply.

    Returns
    -------
    AuditCertificate
        Every cell suppressed in any table is audited; a primary cell published by another
        table gets the narrow interval that table reveals, so the audit fails.

    Notes
    -----
    "relations between outputs of the same release (the differencing risk), with the audit
    across them": ``shared/domain/disclosure-control.md``, "Output checking before export".

    Examples
    --------
    >>> df = pd.DataFrame({"sex": ["F", "M"], "n": [30, 40]})
    >>> t = protect(df, ["sex"], "n", policy="sdap")
    >>> audit_release([t, t]).passed
    True
    """
    if not tables:
        raise ConfigError("audit_release: expected at least one protected table, found none.")
    key_dims: list[str] = []
    fill: dict[str, str] = {_POP: ""}
    for t in tables:
        for d in t.dims:
            if d not in key_dims:
                key_dims.append(d)
            top = t.totals.get(d)
            if top is not None and top != TOTAL:
                fill.setdefault(d, top)
    for d in key_dims:
        fill.setdefault(d, TOTAL)
    cts = []
    for t in tables:
        keys = t.cells[list(t.dims)].astype(str).copy()
        keys.insert(0, _POP, t.population)
        cts.append(
            CellTable(
                keys=keys,
                values=t.cells["value"].to_numpy(dtype=np.int64),
                is_margin=t.cells["is_margin"].to_numpy(dtype=bool),
                level=t.cells["is_margin"].to_numpy(dtype=np.int64),
                relations=t.relations,
                inequalities=t.inequalities,
            )
        )
    merged, positions = merge_cells(cts, [_POP, *key_dims], fill)
    n = merged.n_cells
    lower = np.zeros(n)
    upper = np.full(n, np.inf)
    mask = np.zeros(n, dtype=bool)
    primary = np.zeros(n, dtype=bool)
    structural = np.zeros(n, dtype=bool)
    width = np.ones(n)
    labels = [""] * n
    for t, pos in zip(tables, positions, strict=True):
        c = t.cells
        np.maximum.at(lower, pos, c["attacker_lower"].to_numpy(dtype=np.float64))
        np.minimum.at(upper, pos, c["attacker_upper"].to_numpy(dtype=np.float64))
        st = c["status"].to_numpy(dtype=object)
        mask[pos[np.isin(st, ["primary", "secondary"])]] = True
        primary[pos[st == "primary"]] = True
        structural[pos[st == "structural_zero"]] = True
        np.maximum.at(width, pos, float(t.policy.protection_width))
        recs = c[list(t.dims)].to_dict("records")
        for i, j in enumerate(pos):
            lab = _label(t.name, recs[i], t.dims)
            labels[j] = lab if not labels[j] else f"{labels[j]} | {lab}"
    space = CellSpace(
        values=merged.values,
        relations=sparse.csr_matrix(merged.relations, dtype=np.float64),
        published_lower=lower,
        published_upper=upper,
        suppressed_lower=lower,
        suppressed_upper=upper,
        primary=primary,
        structural_zero=structural & ~mask,
        protection_width=width,
        cost=np.ones(n),
        inequalities=(
            None
            if merged.inequalities is None
            else sparse.csr_matrix(merged.inequalities, dtype=np.float64)
        ),
        labels=tuple(labels),
    )
    cert: AuditCertificate = _auditor().audit(space, mask)
    return cert
