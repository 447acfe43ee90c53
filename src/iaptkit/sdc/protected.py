"""The protected table: export views, the truth for the checker, HTML display, release audit.

A :class:`ProtectedTable` is what :func:`iaptkit.sdc.protect` returns: the cells with their
true values, published values and statuses (internal), the export views (:meth:`published_long`,
:meth:`published_wide`, :meth:`to_csv`) that carry the policy id and version and never the
truth, and the audit certificate. :func:`audit_release` audits several protected tables of a
release together.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from iaptkit.errors import ConfigError
from iaptkit.sdc.audit import AuditCertificate, audit, audit_mode
from iaptkit.sdc.layout import CELL_FILL, CELL_TEXT, ordered_groups, public_status, with_markers
from iaptkit.sdc.linking import implied_relations, merge_cells
from iaptkit.sdc.policies import Policy
from iaptkit.sdc.solver.cells import CellGrid, CellSpace
from iaptkit.sdc.tables import TOTAL, CellTable

__all__ = ["FrozenMappingsPickle", "ProtectedTable", "audit_release", "cell_label", "info_loss"]

_POP = "__population__"


class FrozenMappingsPickle:
    """Mixin: pickle frozen dataclasses whose fields hold read-only mappings.

    ``types.MappingProxyType`` cannot be pickled; the release register pickles protected
    tables for the cross-output audit. Mappings are stored as dicts and re-wrapped on load.
    """

    def __getstate__(self) -> dict[str, Any]:
        return {k: dict(v) if isinstance(v, MappingProxyType) else v for k, v in vars(self).items()}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, MappingProxyType(v) if isinstance(v, dict) else v)


def _grids_of(table: ProtectedTable) -> tuple[CellGrid, ...]:
    """The table's grid as a tuple (tables pickled before grids were kept have none)."""
    grid = getattr(table, "grid", None)
    return () if grid is None else (grid,)


def cell_label(name: str, keys: Mapping[Any, Any], dims: Sequence[str]) -> str:
    """A readable cell name for certificates, e.g. ``"grid: r=A, c=Y"``."""
    return f"{name}: " + ", ".join(f"{d}={keys[d]}" for d in dims)


@dataclass(frozen=True, eq=False)
class ProtectedTable(FrozenMappingsPickle):
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
        suppressed, value mass suppressed (all suppressed cells, and the secondary ones: the
        loss secondary suppression adds), rounding error.
    relations
        ``(m, len(cells))`` sparse: the additive relations between the rows of ``cells``.
    inequalities
        Optional ``(k, len(cells))`` sparse known inequalities.
    totals
        For each dim, the label of its grand total (``"Total"`` or a hierarchy root).
    rounding
        The rounding used (``"policy"`` or ``"midpoint6"``).
    grid
        Where the table's cells (rows of ``cells``) sit on its dimensions, for fast hypercube
        proofs in joint audits; ``None`` when unknown (e.g. a table pickled by an older version).
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
    grid: CellGrid | None = field(default=None, repr=False)

    @property
    def audit_passed(self) -> bool:
        """Whether the audit passed (a refused table is never constructed, so normally True)."""
        return bool(self.certificate.passed)

    @property
    def rounded(self) -> bool:
        """Whether the published counts of this table were rounded (by the policy or midpoint6)."""
        return self.rounding == "midpoint6" or self.policy.rounds

    def __repr__(self) -> str:
        loss = self.info_loss
        return (
            f"<ProtectedTable {self.name!r}: dims {list(self.dims)}, {len(self.cells)} cells, "
            f"{int(loss.get('suppressed_primary', 0) + loss.get('suppressed_secondary', 0))} "
            f"suppressed; policy {self.policy.id} v{self.policy.version}; audit "
            f"{'passed' if self.audit_passed else 'FAILED'}>"
        )

    def published(self) -> pd.DataFrame:
        """ANALYST view: dims (ordered categoricals where the labels have an order), ``value``
        (``Int64``, ``<NA>`` where suppressed), ``status`` (published | rounded | suppressed),
        ``policy_id``, ``policy_version``. No true value of a suppressed cell.

        Examples
        --------
        >>> from iaptkit.sdc import protect
        >>> pt = protect(pd.DataFrame({"a": ["x", "y"], "n": [20, 3]}), ["a"], "n",
        ...              policy="sdap", margins=False)
        >>> pub = pt.published()
        >>> pub["value"].tolist(), pub["status"].tolist()
        ([20, <NA>], ['published', 'suppressed'])
        """
        out = pd.DataFrame(
            {d: ordered_groups(self.cells[d].reset_index(drop=True)) for d in self.dims}
        )
        status = public_status(self.cells["status"].reset_index(drop=True), rounded=self.rounded)
        value = pd.array(self.cells["published"].to_numpy(), dtype="Int64")
        value[(status == "suppressed").to_numpy()] = pd.NA
        out["value"] = value
        out["status"] = status.to_numpy()
        out["policy_id"] = self.policy.id
        out["policy_version"] = self.policy.version
        return out

    def published_long(self) -> pd.DataFrame:
        """EXPORT view (the CSV file): dims + ``value`` (number or ``"*"``) + ``policy_id``,
        ``policy_version``; :meth:`published` is the numeric view for analysis.

        Examples
        --------
        >>> from iaptkit.sdc import protect
        >>> pt = protect(pd.DataFrame({"a": ["x", "y"], "n": [20, 30]}), ["a"], "n",
        ...              policy="sdap")
        >>> pt.published_long()["value"].tolist()
        ['20', '30', '50']
        """
        pub = self.published()
        out = with_markers(pub, ["value"])[[*self.dims, "value", "policy_id", "policy_version"]]
        for d in self.dims:
            out[d] = self.cells[d].to_numpy()
        return out

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
        """The notebook display: published values, suppressed cells shaded, never their truth."""
        col = self.dims[-1]
        rows = [d for d in self.dims if d != col]
        pub = self.published()
        pub["is_margin"] = self.cells["is_margin"].to_numpy(dtype=bool)
        order = list(dict.fromkeys(pub[col].sort_values(kind="stable").astype(str).tolist()))
        by_rows = pub.sort_values(rows, kind="stable") if rows else pub
        row_keys = (
            list(dict.fromkeys(map(tuple, by_rows[rows].astype(str).to_numpy().tolist())))
            if rows
            else [()]
        )
        recs = pub.astype({d: str for d in self.dims}).to_dict("records")
        lookup = {(*(r[d] for d in rows), r[col]): r for r in recs}
        e = html.escape
        loss = self.info_loss
        n_supp = int(loss.get("suppressed_primary", 0) + loss.get("suppressed_secondary", 0))
        head = (
            f"<div class='iaptkit-protected'><b>{e(self.name)}</b> &mdash; policy "
            f"<code>{e(self.policy.id)} v{e(self.policy.version)}</code>; audit "
            f"<b>{'passed' if self.audit_passed else 'FAILED'}</b>; "
            f"{n_supp} of {len(pub)} cells suppressed"
        )
        if self.population:
            head += f"<br>population: {e(self.population)}"
        parts = [head, "<table style='border-collapse:collapse'><tr>"]
        parts += [f"<th>{e(d)}</th>" for d in rows]
        parts += [f"<th>{e(str(c))}</th>" for c in order]
        parts.append("</tr>")
        for rk in row_keys:
            parts.append("<tr>")
            parts += [f"<th style='text-align:left'>{e(str(x))}</th>" for x in rk]
            for c in order:
                rec = lookup.get((*rk, c))
                if rec is None:
                    parts.append("<td></td>")
                    continue
                state = str(rec["status"])
                style = f"background:{CELL_FILL[state]};color:{CELL_TEXT[state]}"
                if rec["is_margin"]:
                    style += ";border-top:1px solid #999"
                shown = "*" if state == "suppressed" else str(rec["value"])
                parts.append(
                    f"<td style='text-align:right;padding:2px 6px;{style}' "
                    f"data-status='{e(state)}' title='{e(state)}'>{e(shown)}</td>"
                )
            parts.append("</tr>")
        parts.append(
            f"</table><small><span style='background:{CELL_FILL['suppressed']}'>&nbsp;*&nbsp;"
            f"</span> suppressed (exported as *); <span style='background:"
            f"{CELL_FILL['rounded']}'>&nbsp;n&nbsp;</span> rounded by the policy. "
            "The underlying counts: <code>.underlying()</code> (never exported).</small></div>"
        )
        return "".join(parts)


def info_loss(cells: pd.DataFrame) -> Mapping[str, float]:
    status = cells["status"]
    suppressed = status.isin(["primary", "secondary"])
    inner = ~cells["is_margin"].to_numpy(dtype=bool)
    total_inner = float(cells.loc[inner, "value"].sum())
    supp_inner = float(cells.loc[inner & suppressed.to_numpy(), "value"].sum())
    secondary = (status == "secondary").to_numpy()
    shown = ~suppressed
    err = (cells.loc[shown, "published"].astype("float64") - cells.loc[shown, "value"]).abs()
    return MappingProxyType(
        {
            "cells": float(len(cells)),
            "suppressed_primary": float((status == "primary").sum()),
            "suppressed_secondary": float((status == "secondary").sum()),
            "suppressed_share": float(suppressed.mean()) if len(cells) else 0.0,
            "suppressed_count_share": supp_inner / total_inner if total_inner else 0.0,
            "suppressed_value": float(cells.loc[suppressed.to_numpy(), "value"].sum()),
            "secondary_value": float(cells.loc[secondary, "value"].sum()),
            "rounding_abs_error_total": float(err.sum()),
            "rounding_abs_error_max": float(err.max()) if len(err) else 0.0,
        }
    )


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
    across them": ``docs/disclosure-control.md``, "Output checking before export".

    Examples
    --------
    >>> from iaptkit.sdc import protect
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
                grids=_grids_of(t),
            )
        )
    merged, positions = merge_cells(cts, [_POP, *key_dims], fill)
    implied = implied_relations(merged.keys, merged.values, key_dims, fill, group_by=[_POP])
    relations = sparse.vstack([merged.relations, implied])
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
            lab = cell_label(t.name, recs[i], t.dims)
            labels[j] = lab if not labels[j] else f"{labels[j]} | {lab}"
    space = CellSpace(
        values=merged.values,
        relations=sparse.csr_matrix(relations, dtype=np.float64),
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
        grids=merged.grids,
    )
    mode = audit_mode(n)
    return audit(space, mask, mode=mode)
