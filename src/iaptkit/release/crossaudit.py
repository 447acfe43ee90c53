"""Cross-output audit: every table of a release audited together.

Two outputs that are each safe can be unsafe together: a provider x outcome table with margins
and a separate provider totals table share the provider totals, and an attacker can difference
them (docs/disclosure-control.md, "The attacker": "the same cell appearing in several tables of one
release"). Before export, all tables (and figures' data tables) of a release that are not
already failing are audited jointly with :func:`iaptkit.sdc.audit_release`; cells with the same
population and dims values are one cell there. If the joint audit fails, the outputs of the
population(s) whose joint audit fails are failed, with the reason, and the result is stored in
``release.json`` and shown in the report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from iaptkit.errors import IaptkitError
from iaptkit.release.store import ReleaseStore, now_iso

if TYPE_CHECKING:
    from iaptkit.sdc import AuditCertificate

__all__ = ["implied_relations_audit", "run_cross_audit", "summarise_certificate"]

_MAX_LISTED = 20


def summarise_certificate(certificate: Any, uids: Sequence[str]) -> dict[str, Any]:
    """An export-safe summary of a joint certificate (failures listed, no true values).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> bad = NS(label="A | Y", lower=3.0, upper=3.0, reason="determined exactly")
    >>> cert = NS(passed=False, n_suppressed=4, n_lp=8, method="lp", failures=lambda: (bad,))
    >>> summarise_certificate(cert, ["a", "b"])["failures"][0]["label"]
    'A | Y'
    """
    failures = tuple(certificate.failures())
    return {
        "outputs": list(uids),
        "passed": bool(certificate.passed),
        "n_suppressed": int(getattr(certificate, "n_suppressed", 0)),
        "n_lp": int(getattr(certificate, "n_lp", 0)),
        "method": str(getattr(certificate, "method", "")),
        "failures": [
            {
                "label": str(c.label),
                "lower": float(c.lower),
                "upper": float(c.upper),
                "reason": str(c.reason),
            }
            for c in failures[:_MAX_LISTED]
        ],
        "n_failures": len(failures),
    }


def implied_relations_audit(tables: Sequence[Any]) -> AuditCertificate:
    """Joint audit adding the sums that hold *between* tables (defence in depth).

    :func:`iaptkit.sdc.audit_release` applies each table's own relations. When one output has
    inner cells without margins and another the totals (provider x outcome in one, provider
    totals in another), the attacker also knows that the inner cells add up to the totals.
    Here the cells of all tables are merged as in ``audit_release`` (same population and dims
    values, a missing dim = its total), each table's relations are kept, and for every merged
    cell with a dim at its total whose children over that dim are all present, the relation
    ``sum(children) = cell`` is added when it holds on the true values (true relations are
    facts the attacker may know). The attacker's bounds are the intersection of what each
    table publishes (``cells.attacker_lower/upper``).

    Notes
    -----
    Attacker model: docs/disclosure-control.md, "The attacker" ("all the additive relations between
    cells ... and the same cell appearing in several tables of one release").
    """
    from scipy import sparse

    from iaptkit.sdc.audit import audit, audit_mode
    from iaptkit.sdc.solver.cells import CellSpace

    key_dims: list[str] = []
    for t in tables:
        key_dims.extend(d for d in t.dims if d not in key_dims)
    totals: dict[str, str] = {}
    for t in tables:
        for d in t.dims:
            totals.setdefault(d, str(dict(getattr(t, "totals", {}) or {}).get(d, "Total")))
    index: dict[tuple[str, ...], int] = {}
    values: list[int] = []
    lower: list[float] = []
    upper: list[float] = []
    flags: list[list[bool]] = []  # suppressed, primary, structural zero
    width: list[float] = []
    labels: list[str] = []
    rows: list[dict[int, float]] = []
    grids: list[Any] = []
    for t in tables:
        cells = t.cells
        keys = [
            (str(t.population), *(str(r.get(d, totals[d])) for d in key_dims))
            for r in cells[list(t.dims)].astype(str).to_dict("records")
        ]
        positions = []
        for key, c in zip(keys, cells.to_dict("records"), strict=True):
            if key not in index:
                index[key] = len(values)
                values.append(int(c["value"]))
                lower.append(0.0)
                upper.append(float("inf"))
                flags.append([False, False, False])
                width.append(1.0)
                labels.append(
                    f"{t.name}: "
                    + ", ".join(f"{d}={v}" for d, v in zip(key_dims, key[1:], strict=True))
                )
            j = index[key]
            positions.append(j)
            lower[j] = max(lower[j], float(c.get("attacker_lower", c["value"])))
            upper[j] = min(upper[j], float(c.get("attacker_upper", c["value"])))
            status = str(c["status"])
            flags[j][0] |= status in ("primary", "secondary")
            flags[j][1] |= status == "primary"
            flags[j][2] |= status == "structural_zero"
            width[j] = max(
                width[j], float(getattr(t.policy, "protection_width", t.policy.threshold))
            )
        grid = getattr(t, "grid", None)
        if grid is not None:
            grids.append(replace(grid, index=np.asarray(positions, dtype=np.int64)[grid.index]))
        relations = getattr(t, "relations", None)
        if relations is not None:
            coo = sparse.coo_matrix(relations)
            own: dict[int, dict[int, float]] = defaultdict(dict)
            for r, col, v in zip(coo.row, coo.col, coo.data, strict=True):
                own[int(r)][positions[int(col)]] = float(v)
            rows.extend(own.values())
    categories: dict[tuple[str, int], set[str]] = defaultdict(set)
    for key in index:
        for k, d in enumerate(key_dims, start=1):
            if key[k] != totals[d]:
                categories[(key[0], k)].add(key[k])
    for key, j in index.items():
        for k, d in enumerate(key_dims, start=1):
            if key[k] != totals[d]:
                continue
            cats = categories.get((key[0], k), set())
            children = [index.get((*key[:k], cat, *key[k + 1 :])) for cat in sorted(cats)]
            if not cats or any(c is None for c in children):
                continue
            kids = [c for c in children if c is not None]
            if sum(values[c] for c in kids) == values[j]:
                row = {c: 1.0 for c in kids}
                row[j] = -1.0
                rows.append(row)
    n = len(values)
    matrix = sparse.lil_matrix((len(rows), n))
    for r, row in enumerate(rows):
        for col, v in row.items():
            matrix[r, col] = v
    flag = np.array(flags, dtype=bool).reshape(n, 3)
    bounds_low, bounds_up = np.array(lower), np.array(upper)
    space = CellSpace(
        values=np.array(values, dtype=np.int64),
        relations=sparse.csr_matrix(matrix, dtype=np.float64),
        published_lower=bounds_low,
        published_upper=bounds_up,
        suppressed_lower=bounds_low,
        suppressed_upper=bounds_up,
        primary=flag[:, 1],
        structural_zero=flag[:, 2] & ~flag[:, 0],
        protection_width=np.array(width),
        cost=np.ones(n),
        labels=tuple(labels),
        grids=tuple(grids),
    )
    # large joint spaces: proven inner bounds (hypercube moves first), as protect() does
    mode = audit_mode(n)
    result: AuditCertificate = audit(space, flag[:, 0], mode=mode)
    return result


def run_cross_audit(release: ReleaseStore) -> AuditCertificate | None:
    """Audit all non-failing tables of ``release`` jointly; fail outputs of failing groups.

    Returns the joint certificate of all tables (``None`` when the release has no tables).

    Notes
    -----
    Attacker model and protection criterion: docs/disclosure-control.md, "The attacker"; the joint
    cell space is built by :func:`iaptkit.sdc.audit_release` (docs/module-contracts.md).
    """
    # the SDC package (scipy, the solvers) loads only when a release has tables to audit
    from iaptkit.sdc import audit_release

    release.reset_statuses("cross-audit")
    candidates = [
        o for o in release.outputs if o.kind in ("table", "figure") and o.status != "fail"
    ]
    tables: dict[str, Any] = {}
    unreadable: dict[str, str] = {}
    for out in candidates:
        if not any(f.endswith(".table.pkl") for f in out.internal_files):
            # tables of means or sums (Release.pivot_table) are judged cell by cell instead
            magnitude = bool(out.parameters.get("magnitude"))
            # measures outputs are audited by the joint audit of cell keys (jointaudit)
            keyed = bool(out.parameters.get("measures"))
            if (out.kind == "table" or out.audit is not None) and not magnitude and not keyed:
                unreadable[out.uid] = "no stored protected table to include"
            continue
        try:
            tables[out.uid] = release.load_table(out.uid)
        except Exception as exc:
            unreadable[out.uid] = f"{type(exc).__name__}: {exc}"
    for uid, why in unreadable.items():
        release.set_status(
            uid,
            "fail",
            f"cross-output audit: stored protected table cannot be re-read ({why})",
            source="cross-audit",
        )
    now = now_iso()
    if not tables:
        release.store_cross_audit(
            {"ran": now, "passed": not unreadable, "groups": [], "outputs": []}
        )
        return None
    try:
        certificate = _joint(audit_release, list(tables.values()))
    except IaptkitError as exc:
        for uid in tables:
            release.set_status(
                uid,
                "fail",
                f"cross-output audit could not run: {exc.message}",
                source="cross-audit",
            )
        release.store_cross_audit(
            {"ran": now, "passed": False, "error": exc.message, "groups": [], "outputs": []}
        )
        return None
    groups: list[dict[str, Any]] = []
    if not certificate.passed:
        by_population: Mapping[str, list[str]] = _by_population(tables)
        for population, uids in by_population.items():
            cert = (
                certificate if len(by_population) == 1 else audit_release([tables[u] for u in uids])
            )
            summary = summarise_certificate(cert, uids)
            summary["population"] = population
            groups.append(summary)
            if not cert.passed:
                for uid in uids:
                    release.set_status(
                        uid,
                        "fail",
                        f"cross-output audit failed jointly with {', '.join(uids)}: "
                        f"{summary['n_failures']} cell(s) recoverable or too narrow "
                        "(cells in the checker's report)",
                        source="cross-audit",
                    )
    result = summarise_certificate(certificate, list(tables))
    result.update({"ran": now, "groups": groups, "unreadable": unreadable})
    result["passed"] = bool(certificate.passed) and not unreadable
    release.store_cross_audit(result)
    joint: AuditCertificate = certificate
    return joint


def _joint(audit_release: Callable[[list[Any]], Any], tables: list[Any]) -> Any:
    """``audit_release``, then the implied-relations audit; the first failing certificate."""
    certificate = audit_release(tables)
    if not certificate.passed:
        return certificate
    needed = {"attacker_lower", "attacker_upper", "status", "value"}
    if not all(needed <= set(t.cells.columns) for t in tables):
        return certificate  # tables without attacker bounds (not from iaptkit.sdc.protect)
    extra = implied_relations_audit(tables)
    return certificate if extra.passed else extra


def _by_population(tables: Mapping[str, Any]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for uid, pt in tables.items():
        groups[str(getattr(pt, "population", ""))].append(uid)
    return dict(groups)
