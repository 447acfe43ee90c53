"""Rates that reveal nothing: the issue-15 example (England 65, providers RAA..RAD) is now safe.

Under ``nhs-sde`` a file whose rates were made from unrounded counts gave the rounded counts back
(RAA 9.2 % of a published 240 -> 22 where 20 is published) and then provider RAB's suppressed
``reliably_deteriorated`` by subtraction. The shipped policies now make rates from the published
counts; an attacker who reads the counts together with every printed rate (a mixed-integer
program over whole numbers, written here independently of protect_measures) learns no
suppressed count to within the protection width.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from iaptkit.errors import AuditFailedError
from iaptkit.sdc import load_policy, protect_measures
from iaptkit.sdc.integer_attack import PairConstraint, consistent_pairs, integer_intervals
from iaptkit.sdc.rates import rate_texts, reveals_nothing

PERIOD = ("2024-04-01", "2024-06-30")
PROVIDERS = ("RAA", "RAB", "RAC", "RAD")
DETERIORATED = {"RAA": 22, "RAB": 4, "RAC": 23, "RAD": 16}
FINISHED = {"RAA": 240, "RAB": 151, "RAC": 250, "RAD": 179}


def _row(b: str, g: str, measure: str, value: float, kind: str, **kw: object) -> dict[str, object]:
    return {"period_start": PERIOD[0], "period_end": PERIOD[1], "breakdown": b, "group": g,
            "measure": measure, "value": value, "kind": kind,
            "numerator": kw.get("numerator"), "denominator": kw.get("denominator")}  # fmt: skip


def issue_table() -> pd.DataFrame:
    rows = []
    groups = [("england", "England")] + [("provider", p) for p in PROVIDERS]
    for b, g in groups:
        det = sum(DETERIORATED.values()) if g == "England" else DETERIORATED[g]
        fin = sum(FINISHED.values()) if g == "England" else FINISHED[g]
        rows.append(_row(b, g, "reliably_deteriorated", det, "count"))
        rows.append(_row(b, g, "finished_treatment", fin, "count"))
        rows.append(
            _row(b, g, "reliably_deteriorated_rate", 100 * det / fin, "rate",
                 numerator="reliably_deteriorated", denominator="finished_treatment")
        )  # fmt: skip
    return pd.DataFrame(rows)


def _site_policy(tmp_path: Path, from_counts: str) -> Path:
    text = (Path(__file__).parents[2] / "src/iaptkit/sdc/policies/nhs-sde.yaml").read_text()
    text = text.replace("from_counts: published", f"from_counts: {from_counts}")
    text = text.replace("id: nhs-sde ", "id: site-sde ")
    p = tmp_path / "site.yaml"
    p.write_text(text)
    return p


def exported(res: object) -> pd.DataFrame:
    """The file an attacker reads (text, ``*`` where suppressed), with one ``group`` column."""
    out = res.export()  # type: ignore[attr-defined]
    out["group"] = out["provider"].astype("object").where(out["provider"].notna(), "England")
    return out


def independent_attack(
    published: pd.DataFrame, threshold: int, rates_from_true: bool
) -> dict[str, tuple[float, float]]:
    """The attacker, from the published file alone: intervals of every suppressed count."""
    counts = published[published["kind"] == "count"].reset_index(drop=True)
    key = {(r.group, r.measure): i for i, r in enumerate(counts.itertuples())}
    n = len(counts)
    lo, hi = np.zeros(n), np.full(n, np.inf)
    for i, shown in enumerate(counts["value"]):
        if shown != "*":
            v = int(shown)  # nearest 5, halves up; a published count is >= the threshold
            lo[i], hi[i] = max(v - 2, threshold), v + 2
    rows = []
    for measure in ("reliably_deteriorated", "finished_treatment"):
        row = {key[(p, measure)]: 1.0 for p in PROVIDERS}
        row[key[("England", measure)]] = -1.0
        rows.append(row)
    a = sparse.lil_matrix((len(rows), n))
    for k, row in enumerate(rows):
        for j, x in row.items():
            a[k, j] = x
    g = sparse.lil_matrix((len(key) // 2, n))
    for k, grp in enumerate(["England", *PROVIDERS]):
        g[k, key[(grp, "reliably_deteriorated")]] = 1.0
        g[k, key[(grp, "finished_treatment")]] = -1.0
    pairs = []
    if rates_from_true:
        rates = published[published["kind"] == "rate"]
        for r in rates.itertuples():
            if r.value == "*":
                continue
            num, den = key[(r.group, "reliably_deteriorated")], key[(r.group, "finished_treatment")]
            texts = (str(r.value), str(r.ci_lower), str(r.ci_upper))
            ok = consistent_pairs((lo[num], hi[num]), (lo[den], hi[den]),
                                  lambda x, y: rate_texts(x, y, 1), texts)  # fmt: skip
            pairs.append(PairConstraint(num, den, ok))
    sup = (counts["value"] == "*").to_numpy()
    low, up = integer_intervals(a.tocsr(), g.tocsr(), lo, hi, sup, pairs)
    return {
        f"{counts.loc[i, 'group']} {counts.loc[i, 'measure']}": (low[i], up[i])
        for i in np.flatnonzero(sup)
    }


def test_issue_example_rates_from_published_counts_reveal_nothing() -> None:
    table = issue_table()
    table["ci_lower"] = ""
    table["ci_upper"] = ""
    res = protect_measures(table, "nhs-sde")
    pub = exported(res)
    rate = pub[(pub["group"] == "RAA") & (pub["measure"] == "reliably_deteriorated_rate")]
    # 20 of 240 as published, not 22 of 240 (9.2 %).
    assert rate["value"].iloc[0] == rate_texts(20, 240, 1)[0] == "8.3"
    shown = pub.set_index(["group", "measure"])["value"]
    assert shown[("RAB", "reliably_deteriorated")] == "*"
    # The attacker knows the policy: rates are made from the published counts, so they are
    # implied by them. From the counts and relations alone RAB keeps the full width.
    found = independent_attack(pub, 10, rates_from_true=False)
    lo, hi = found["RAB reliably_deteriorated"]
    assert lo <= 4 <= hi
    assert hi - lo >= 10
    for lo_, hi_ in found.values():
        assert hi_ - lo_ >= 1
    assert res.relations_added["informative_rates"] == 0
    assert res.relations_added["rates"] == 4  # RAB's rate is suppressed with its count


def test_unrounded_rates_give_counts_back_and_are_refused(tmp_path: Path) -> None:
    """The old rule (rates from unrounded counts): the integer attacker narrows RAB; refused."""
    table = issue_table()
    policy = load_policy(_site_policy(tmp_path, "unrounded"))
    assert policy.rates_from == "unrounded"
    with pytest.raises(AuditFailedError, match="with published rates"):
        protect_measures(table, policy)


def test_unrounded_rate_pins_the_rounded_count() -> None:
    # RAA: 22 of 240 published as 20 and 240 (boxes 18..22 and 238..242); 9.2 % leaves 22 only.
    texts = rate_texts(22, 240, 1)
    assert texts[0] == "9.2"
    pairs = consistent_pairs((18, 22), (238, 242), lambda x, y: rate_texts(x, y, 1), texts)
    assert {n for n, _ in pairs} == {22}
    assert not reveals_nothing((18, 22), (238, 242), 1, texts)
    # From the published counts the same rate says nothing new about them.
    assert reveals_nothing((20, 20), (240, 240), 1, rate_texts(20, 240, 1))


def test_integer_attacker_is_exact_where_lp_is_not() -> None:
    # x0 + x1 = 3 with x0 = 2 x2 (x2 whole): the LP lets x0 be 3, whole numbers allow 0 or 2.
    a = sparse.csr_matrix([[1.0, 1.0, 0.0, -1.0], [1.0, 0.0, -2.0, 0.0]])
    lo = np.array([0.0, 0.0, 0.0, 3.0])
    hi = np.array([np.inf, np.inf, np.inf, 3.0])
    t = np.array([True, True, False, False])
    low, up = integer_intervals(a, None, lo, hi, t)
    assert (low[0], up[0]) == (0.0, 2.0)
    assert (low[1], up[1]) == (1.0, 3.0)


@pytest.mark.parametrize("policy", ["nhs-sde", "nhs-talking-therapies", "nhs-hes", "sdap"])
def test_shipped_policies_make_rates_from_published_counts(policy: str) -> None:
    assert load_policy(policy).rates_from == "published"


def test_every_policy_measures_output_passes_the_rate_audit() -> None:
    table = issue_table()
    for pid, scale in itertools.product(
        ["nhs-sde", "nhs-talking-therapies", "nhs-hes", "opensafely", "sdap"], [1]
    ):
        res = protect_measures(table, pid)
        assert res.relations_added["informative_rates"] == 0
        cells = res.underlying()
        assert (cells.loc[cells["kind"] == "count", "display"] != "").all(), (pid, scale)


def test_old_file_with_unrounded_rates_is_attacked_by_the_independent_attacker() -> None:
    """Same counts, rates re-made from the true counts as before: RAB falls below the width."""
    res = protect_measures(issue_table(), "nhs-sde")
    pub = exported(res).copy()
    for i, r in pub.iterrows():
        if r["kind"] == "rate" and r["value"] != "*":
            det = (
                sum(DETERIORATED.values()) if r["group"] == "England" else DETERIORATED[r["group"]]
            )
            fin = sum(FINISHED.values()) if r["group"] == "England" else FINISHED[r["group"]]
            pub.loc[i, ["value", "ci_lower", "ci_upper"]] = list(rate_texts(det, fin, 1))
    found = independent_attack(pub, 10, rates_from_true=True)
    lo, hi = found["RAB reliably_deteriorated"]
    assert lo <= 4 <= hi
    assert hi - lo < 10


def test_a_mip_out_of_time_gives_an_inward_interval_never_a_wider_one() -> None:
    """A time-limited attack is sound for the check: its interval is inside the attacker's."""
    from scipy import sparse

    from iaptkit.sdc.integer_attack import integer_intervals

    # 40 cells adding up to a published total of 400, each at most 20: an exact interval
    # of [0, 20] for every cell; a tiny time limit must never show more than that
    n = 40
    a = sparse.csr_matrix(np.hstack([np.ones((1, n)), -np.ones((1, 1))]))
    lo = np.zeros(n + 1)
    hi = np.full(n + 1, 20.0)
    lo[n] = hi[n] = 400.0
    targets = np.array([True] * n + [False])
    exact_lo, exact_hi = integer_intervals(a, None, lo, hi, targets)
    fast_lo, fast_hi = integer_intervals(a, None, lo, hi, targets, time_limit=1e-6)
    assert exact_lo[:n].tolist() == [0.0] * n
    assert exact_hi[:n].tolist() == [20.0] * n
    assert (fast_lo[:n] >= exact_lo[:n]).all()
    assert (fast_hi[:n] <= exact_hi[:n]).all()
