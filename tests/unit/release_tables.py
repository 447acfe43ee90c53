"""Real protected tables for the release tests (iaptkit.sdc.protect), with distinctive counts.

The counts are chosen so that the suppressed cells and the unrounded totals are distinctive
numbers: a test can search the bytes of an export for them. ``with_failed_audit`` gives a real
ProtectedTable whose certificate failed (``protect`` itself refuses to build one).
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from iaptkit.sdc import AuditCertificate, CellInterval, ProtectedTable, protect

COUNTS = pd.DataFrame(
    [
        ("R1A", "recovered", 4), ("R1A", "not_recovered", 35271),
        ("R2B", "recovered", 41893), ("R2B", "not_recovered", 52617),
        ("R3C", "recovered", 38462), ("R3C", "not_recovered", 29354),
    ],
    columns=["provider", "outcome", "n"],
)  # fmt: skip
LEAKY_COUNTS = pd.DataFrame({"provider": ["Q1", "Q2", "Q3"], "n": [77777, 66663, 3]})


def recovery_table(
    name: str = "recovery", policy: str = "nhs-sde", population: str = "finished treatment"
) -> ProtectedTable:
    """Provider x outcome with margins, protected for real."""
    return protect(
        COUNTS,
        ["provider", "outcome"],
        "n",
        policy=policy,
        name=name,
        population=population,
        description="Recovery by provider",
    )


def hidden_values(pt: ProtectedTable) -> set[str]:
    """True counts (>= 100) the export must never show: suppressed or published differently."""
    cells = pt.cells
    hidden = cells["status"].isin(["primary", "secondary"])
    changed = cells["display"].astype(str) != cells["value"].astype(str)
    return {str(int(v)) for v in cells.loc[hidden | changed, "value"] if int(v) >= 100}


def with_failed_audit(pt: ProtectedTable) -> ProtectedTable:
    """The same table with a failing certificate (every suppressed cell determined exactly)."""
    cells = pt.cells.reset_index(drop=True)
    intervals = tuple(
        CellInterval(
            index=i,
            label=f"{pt.name}: cell {i}",
            lower=float(v),
            upper=float(v),
            published_as_suppressed=True,
            is_primary=s == "primary",
            true_value=int(v),
            passed=False,
            reason=f"determined exactly: the attacker can work out {v}",
        )
        for i, (v, s) in enumerate(zip(cells["value"], cells["status"], strict=True))
        if s in ("primary", "secondary")
    )
    failed = AuditCertificate(intervals, False, len(intervals), 0, 0.0, "test", "test")
    return replace(pt, certificate=failed)


def leaky_table() -> ProtectedTable:
    """A real one-way table whose audit is then marked failed (values 77777, 66663, 3)."""
    pt = protect(LEAKY_COUNTS, ["provider"], "n", policy="nhs-sde", name="leaky",
                 population="other")  # fmt: skip
    return with_failed_audit(pt)


def small_table(name: str = "small") -> ProtectedTable:
    """A one-way table with nothing to suppress under sdap (25, 40, total 65)."""
    data = pd.DataFrame({"provider": ["A", "B"], "n": [25, 40]})
    return protect(data, ["provider"], "n", policy="sdap", name=name, population="referrals")
