"""Cross-output audit: every table of a release audited together.

Two outputs that are each safe can be unsafe together: a provider x outcome table with margins
and a separate provider totals table share the provider totals, and an attacker can difference
them (disclosure-control.md, "The attacker": "the same cell appearing in several tables of one
release"). Before export, all tables (and figures' data tables) of a release that are not
already failing are audited jointly with :func:`iaptkit.sdc.audit_release`; cells with the same
population and dims values are one cell there. If the joint audit fails, the outputs of the
population(s) whose joint audit fails are failed, with the reason, and the result is stored in
``release.json`` and shown in the report.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iaptkit.release.register import Release
    from iaptkit.sdc.audit import AuditCertificate

__all__ = ["run_cross_audit", "summarise_certificate"]

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


def run_cross_audit(release: Release) -> AuditCertificate | None:
    """Audit all non-failing tables of ``release`` jointly; fail outputs of failing groups.

    Returns the joint certificate of all tables (``None`` when the release has no tables).

    Notes
    -----
    Attacker model and protection criterion: disclosure-control.md, "The attacker"; the joint
    cell space is built by :func:`iaptkit.sdc.audit_release` (INTERFACES.md).
    """
    from iaptkit.errors import IaptkitError

    release.reset_statuses("cross-audit")
    candidates = [
        o for o in release.outputs if o.kind in ("table", "figure") and o.status != "fail"
    ]
    tables: dict[str, Any] = {}
    unreadable: dict[str, str] = {}
    for out in candidates:
        if not any(f.endswith(".table.pkl") for f in out.internal_files):
            if out.kind == "table" or out.audit is not None:
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
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if not tables:
        release.store_cross_audit(
            {"ran": now, "passed": not unreadable, "groups": [], "outputs": []}
        )
        return None
    # resolved at run time: the SDC package owns audit_release (INTERFACES.md)
    audit_release: Callable[[list[Any]], Any] = importlib.import_module("iaptkit.sdc").audit_release

    try:
        certificate = audit_release(list(tables.values()))
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


def _by_population(tables: Mapping[str, Any]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for uid, pt in tables.items():
        groups[str(getattr(pt, "population", ""))].append(uid)
    return dict(groups)
