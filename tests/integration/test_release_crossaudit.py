"""Cross-output audit with real protected tables: differencing between outputs is caught."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from iaptkit.release import Release, build
from iaptkit.sdc import ProtectedTable, load_policy, protect

# The margin-differencing case of the brief: provider x outcome.
CELLS = pd.DataFrame(
    [
        ("A", "X", 25), ("A", "Y", 3), ("A", "Z", 40),
        ("B", "X", 12), ("B", "Y", 30), ("B", "Z", 18),
        ("C", "X", 50), ("C", "Y", 15), ("C", "Z", 0),
    ],
    columns=["provider", "outcome", "n"],
)  # fmt: skip
PROVIDERS, OUTCOMES = ["A", "B", "C", "Total"], ["X", "Y", "Z", "Total"]


def _attacker_interval(
    published: list[pd.DataFrame], policy_id: str, target: tuple[str, str]
) -> tuple[float, float]:
    """Min and max of ``target`` given every published value (solved here, independently).

    Unknowns: the 16 cells of the 3x3 table with margins. Knowledge: rows and columns add up,
    counts >= 0, a published number r means r (unrounded policy) or r-2..r+2 (nearest 5), a
    "*" means 0..inf; cells of the one-way table are the provider totals (outcome = Total).
    """
    policy = load_policy(policy_id)
    index = {(p, o): i for i, (p, o) in enumerate((p, o) for p in PROVIDERS for o in OUTCOMES)}
    lower, upper = np.zeros(len(index)), np.full(len(index), np.inf)
    for table in published:
        for record in table.to_dict("records"):
            key = (str(record["provider"]), str(record.get("outcome", "Total")))
            if record["value"] == "*":
                continue
            r = float(record["value"])
            half = 2.0 if policy.rounding_base == 5 else 0.0
            lower[index[key]] = max(lower[index[key]], r - half)
            upper[index[key]] = min(upper[index[key]], r + half)
    a_eq = []
    for p in PROVIDERS:
        row = np.zeros(len(index))
        for o in OUTCOMES[:-1]:
            row[index[(p, o)]] = 1
        row[index[(p, "Total")]] = -1
        a_eq.append(row)
    for o in OUTCOMES:
        row = np.zeros(len(index))
        for p in PROVIDERS[:-1]:
            row[index[(p, o)]] = 1
        row[index[("Total", o)]] = -1
        a_eq.append(row)
    bounds = [(lo, None if math.isinf(up) else up) for lo, up in zip(lower, upper, strict=True)]
    c = np.zeros(len(index))
    c[index[target]] = 1
    low = linprog(c, A_eq=np.array(a_eq), b_eq=np.zeros(len(a_eq)), bounds=bounds)
    high = linprog(-c, A_eq=np.array(a_eq), b_eq=np.zeros(len(a_eq)), bounds=bounds)
    assert low.status == 0
    return float(low.fun), (math.inf if high.status == 3 else float(-high.fun))


@pytest.mark.parametrize("policy_id", ["sdap", "nhs-sde"])
def test_margins_table_and_provider_totals_table_stay_protected(
    tmp_path: Path, policy_id: str
) -> None:
    table = protect(CELLS, ["provider", "outcome"], "n", policy=policy_id, name="by_outcome",
                    population="referrals")  # fmt: skip
    totals = pd.DataFrame(CELLS.groupby("provider", as_index=False)["n"].sum())
    one_way = protect(totals, ["provider"], "n", policy=policy_id, name="totals",
                      population="referrals")  # fmt: skip
    rel = Release.open_or_create(tmp_path / "rel", title="split")
    rel.add_table(table, description="provider x outcome with margins")
    rel.add_table(one_way, description="provider totals")
    certificate = rel.cross_audit()
    assert certificate is not None
    result = build(rel.path, tmp_path / "export")
    exported = [
        pd.read_csv(tmp_path / "export" / f"{uid}.csv", dtype=str) for uid in result.exported
    ]
    if certificate.passed:
        assert set(result.exported) == {"by_outcome", "totals"}
        # nothing recoverable: solve the attacker's LP over everything exported
        low, high = _attacker_interval(exported, policy_id, ("A", "Y"))
        assert low <= 3 <= high
        assert high - low >= load_policy(policy_id).threshold
    else:  # caught: the outputs involved fail and never leave
        assert result.exported == ()
    stored = Release.open(rel.path).cross_audit_result
    assert stored is not None
    assert stored["passed"] is certificate.passed


def _row_with_a_secondary(table: ProtectedTable) -> ProtectedTable:
    """One provider's inner cells, for a provider whose row has a secondary suppression.

    Publishing that whole row in another output reveals the secondary, and with the margins
    the first table publishes, the primary beside it (any row of CELLS: worked out by hand).
    """
    cells = table.cells
    inner = cells[~cells["is_margin"]]
    provider = inner.loc[inner["status"] == "secondary", "provider"].iloc[0]
    rows = CELLS.loc[CELLS["provider"] == provider]
    return protect(rows, ["provider", "outcome"], "n", policy="sdap", margins=False,
                   name="detail", population="referrals")  # fmt: skip


def test_publishing_another_tables_secondaries_is_caught(tmp_path: Path) -> None:
    table = protect(CELLS, ["provider", "outcome"], "n", policy="sdap", name="by_outcome",
                    population="referrals")  # fmt: skip
    leak = _row_with_a_secondary(table)
    assert leak.audit_passed  # each output is fine alone
    rel = Release.open_or_create(tmp_path / "rel")
    assert rel.add_table(table, description="with margins").status == "pass"
    assert rel.add_table(leak, description="the secondaries").status == "pass"
    certificate = rel.cross_audit()
    assert certificate is not None
    assert not certificate.passed
    reopened = Release.open(rel.path)
    for uid in ("by_outcome", "detail"):
        out = reopened.output(uid)
        assert out.status == "fail"
        assert any(r.startswith("cross-output audit failed jointly") for r in out.reasons)
    result = build(rel.path, tmp_path / "export")
    assert result.exported == ()
    report = (tmp_path / "export" / "report.html").read_text()
    assert "FAILED" in report
    assert "provider=A, outcome=Y" not in report  # no cell details in the export copy
    checker = (rel.path / "checker" / "report.html").read_text()
    assert "provider=A, outcome=Y" in checker


def test_removing_the_leaking_table_clears_the_cross_audit_failure(tmp_path: Path) -> None:
    table = protect(CELLS, ["provider", "outcome"], "n", policy="sdap", name="by_outcome",
                    population="referrals")  # fmt: skip
    leak = _row_with_a_secondary(table)
    rel = Release.open_or_create(tmp_path / "rel")
    rel.add_table(table, description="with margins")
    rel.add_table(leak, description="the secondaries")
    rel.cross_audit()
    assert rel.reload().output("by_outcome").status == "fail"
    rel.remove("detail")
    certificate = rel.cross_audit()
    assert certificate is not None
    assert certificate.passed
    assert rel.reload().output("by_outcome").status == "pass"


def test_inner_cells_and_totals_in_separate_outputs_are_caught(tmp_path: Path) -> None:
    inner = protect(CELLS, ["provider", "outcome"], "n", policy="sdap", margins=False,
                    name="inner", population="referrals")  # fmt: skip
    totals = pd.DataFrame(CELLS.groupby("provider", as_index=False)["n"].sum())
    one_way = protect(totals, ["provider"], "n", policy="sdap", name="totals",
                      population="referrals")  # fmt: skip
    rel = Release.open_or_create(tmp_path / "rel")
    rel.add_table(inner, description="inner cells only")
    rel.add_table(one_way, description="provider totals")
    # iaptkit.sdc.audit_release alone does not relate the inner cells to the other table's
    # totals; the release's implied-relations audit does
    result = build(rel.path, tmp_path / "export")
    # A/Y = 68 - 25 - 40 = 3 if both leave: neither may be exported
    assert result.exported == ()
    for uid in ("inner", "totals"):
        assert Release.open(rel.path).output(uid).status == "fail"
    stored = Release.open(rel.path).cross_audit_result
    assert stored is not None
    assert stored["passed"] is False
