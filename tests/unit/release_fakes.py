"""Stand-ins for ProtectedTable (release tests): real Policy and AuditCertificate, given cells.

The release register only needs the ProtectedTable *interface* (INTERFACES.md); these fakes let
the register, bundle and report be tested with exactly chosen cells (distinctive true values,
failing audits) that the real ``protect`` would refuse to build.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from iaptkit.sdc.audit import AuditCertificate, CellInterval
from iaptkit.sdc.policies import Policy, load_policy


@dataclass(frozen=True, eq=False)
class FakeProtectedTable:
    name: str
    dims: tuple[str, ...]
    policy: Policy
    population: str
    description: str
    cells: pd.DataFrame
    certificate: AuditCertificate

    @property
    def audit_passed(self) -> bool:
        return bool(self.certificate.passed)

    def published_long(self) -> pd.DataFrame:
        out = self.cells[list(self.dims)].copy()
        out["value"] = self.cells["display"].to_numpy()
        out["policy_id"] = self.policy.id
        out["policy_version"] = self.policy.version
        return out.reset_index(drop=True)

    def underlying(self) -> pd.DataFrame:
        cols = [*self.dims, "is_margin", "value", "display", "status"]
        return self.cells[cols].rename(columns={"display": "published"})


def fake_table(
    name: str,
    dims: Sequence[str],
    rows: Sequence[tuple[object, ...]],
    *,
    policy: str = "nhs-sde",
    passed: bool = True,
    population: str = "referrals",
) -> FakeProtectedTable:
    """``rows``: (dim values..., true value, display, status) per cell."""
    k = len(dims)
    cells = pd.DataFrame(
        {
            **{d: [str(r[i]) for r in rows] for i, d in enumerate(dims)},
            "is_margin": [any(str(v) == "Total" for v in r[:k]) for r in rows],
            "value": [int(r[k]) for r in rows],  # type: ignore[call-overload]
            "display": [str(r[k + 1]) for r in rows],
            "status": [str(r[k + 2]) for r in rows],
        }
    )
    cells["published"] = pd.array(
        [None if d == "*" else int(d) for d in cells["display"]], dtype="Int64"
    )
    intervals = tuple(
        CellInterval(
            index=i,
            label=" | ".join(str(v) for v in r[:k]),
            lower=0.0 if passed else float(r[k]),  # type: ignore[arg-type]
            upper=50.0 if passed else float(r[k]),  # type: ignore[arg-type]
            published_as_suppressed=True,
            is_primary=r[k + 2] == "primary",
            true_value=int(r[k]),  # type: ignore[call-overload]
            passed=passed,
            reason="" if passed else "determined exactly",
        )
        for i, r in enumerate(rows)
        if r[k + 1] == "*"
    )
    cert = AuditCertificate(
        intervals=intervals,
        passed=passed,
        n_suppressed=len(intervals),
        n_lp=2 * len(intervals),
        seconds=0.0,
        method="fake",
        protection="test",
    )
    return FakeProtectedTable(
        name, tuple(dims), load_policy(policy), population, f"{name} table", cells, cert
    )


# A 2x2 provider x outcome table with margins; suppressed cells have distinctive true values.
# Under nhs-sde: A/Y is a primary (7), B/Y (54321) and the Y total are secondaries; the unrounded
# margins (61242, 136781, 198023) are underlying counts too.
DISTINCTIVE_ROWS: tuple[tuple[object, ...], ...] = (
    ("A", "X", 61235, "61235", "published"),
    ("A", "Y", 7, "*", "primary"),
    ("A", "Total", 61242, "61240", "published"),
    ("B", "X", 82460, "82460", "published"),
    ("B", "Y", 54321, "*", "secondary"),
    ("B", "Total", 136781, "136780", "published"),
    ("Total", "X", 143695, "143695", "published"),
    ("Total", "Y", 54328, "*", "secondary"),
    ("Total", "Total", 198023, "198025", "published"),
)
SECRET_VALUES = ("54321", "54328", "198023", "136781", "61242")
