"""protect_linked() and audit_release(): cells shared across tables are one cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iaptkit.errors import ConfigError
from iaptkit.sdc import TableRequest, audit_release, protect, protect_linked


def microdata() -> pd.DataFrame:
    """Synthetic people: provider, age band and sex (small groups on purpose)."""
    rng = np.random.default_rng(7)
    n = 400
    org = rng.choice(["P1", "P2", "P3"], size=n, p=[0.6, 0.37, 0.03])
    age = rng.choice(["18-25", "26-64", "65+"], size=n, p=[0.2, 0.75, 0.05])
    sex = rng.choice(["F", "M"], size=n, p=[0.65, 0.35])
    return pd.DataFrame({"org": org, "age": age, "sex": sex})


def test_shared_cells_have_one_published_value() -> None:
    micro = microdata()
    by_age, by_sex = protect_linked(
        [
            TableRequest(micro, ("org", "age"), name="org x age", population="people"),
            {"data": micro, "dims": ["org", "sex"], "name": "org x sex", "population": "people"},
        ],
        policy="nhs-sde",
    )
    a = by_age.cells[by_age.cells["age"] == "Total"].set_index("org")["display"]
    s = by_sex.cells[by_sex.cells["sex"] == "Total"].set_index("org")["display"]
    assert a.to_dict() == s.to_dict()
    # The truth of the shared cells matches the microdata independently counted.
    truth = by_age.cells[by_age.cells["age"] == "Total"].set_index("org")["value"]
    assert truth.to_dict() == {**micro["org"].value_counts().to_dict(), "Total": len(micro)}
    # One joint certificate.
    assert by_age.certificate is by_sex.certificate
    assert by_age.certificate.passed
    # Jointly protected tables also pass the release audit.
    assert audit_release([by_age, by_sex]).passed


def test_linked_tables_must_agree_on_shared_cells() -> None:
    micro = microdata()
    other = micro.iloc[:-5]
    with pytest.raises(ConfigError, match="disagree on cell"):
        protect_linked(
            [
                {"data": micro, "dims": ["org", "age"]},
                {"data": other, "dims": ["org", "sex"]},
            ],
            policy="sdap",
        )


def test_different_populations_are_not_shared() -> None:
    micro = microdata()
    a, b = protect_linked(
        [
            {"data": micro, "dims": ["org"], "population": "all"},
            {"data": micro.iloc[:-5], "dims": ["org"], "population": "subset"},
        ],
        policy="sdap",
    )
    assert a.cells["value"].iloc[-1] == len(micro)
    assert b.cells["value"].iloc[-1] == len(micro) - 5


def test_release_audit_catches_a_primary_cell_published_elsewhere() -> None:
    """9 people: suppressed under sdap (threshold 10), published as 10 under nhs-hes.

    Together the two outputs tell the attacker 8..11, narrower than sdap's threshold 10.
    """
    data = pd.DataFrame({"org": ["P1", "P2", "P3"], "n": [9, 40, 50]})
    strict = protect(data, ["org"], "n", policy="sdap", name="strict", population="people")
    loose = protect(data, ["org"], "n", policy="nhs-hes", name="loose", population="people")
    assert strict.cells.set_index("org").loc["P1", "display"] == "*"
    assert loose.cells.set_index("org").loc["P1", "display"] == "10"
    # Each alone passes.
    assert audit_release([strict]).passed
    assert audit_release([loose]).passed
    cert = audit_release([strict, loose])
    assert not cert.passed
    failing = {c.label: (c.lower, c.upper) for c in cert.failures()}
    label = next(lab for lab in failing if "org=P1" in lab)
    lo, hi = failing[label]
    # 'loose' shows P1 as 10 (8..11: 8 is the threshold), P2 as 40 (38..42) and the national
    # total 99 unrounded; 'strict' shows P3 = 50 exactly: P1 = 99 - 50 - P2 is 7..11, so 8..11.
    assert (lo, hi) == (8.0, 11.0)
    assert hi - lo < 10


def test_release_audit_separates_populations() -> None:
    data = pd.DataFrame({"org": ["P1", "P2", "P3"], "n": [9, 40, 50]})
    strict = protect(data, ["org"], "n", policy="sdap", name="strict", population="people")
    loose = protect(data, ["org"], "n", policy="nhs-hes", name="loose", population="other")
    assert audit_release([strict, loose]).passed


def test_release_audit_differencing_across_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two safe tables of the same people with different complementary suppressions.

    t1 hides P3 (4) and P1; t2 hides P3 and P2. Each alone is safe, together the attacker reads
    P1 from t2 and P2 from t1, so P3 = 74 - 30 - 40 = 4 exactly: the joint audit must fail.
    """
    import iaptkit.sdc.secondary as secondary

    data = pd.DataFrame({"org": ["P1", "P2", "P3"], "n": [30, 40, 4]})
    t1 = protect(data, ["org"], "n", policy="sdap", name="t1", population="people")
    assert set(t1.cells.loc[t1.cells["display"] == "*", "org"]) == {"P1", "P3"}

    def hide_p2(space, **_):  # a valid alternative pattern: P2 as the complement
        mask = space.primary.copy()
        mask[[i for i, lab in enumerate(space.labels) if lab.endswith("org=P2")]] = True
        return mask

    monkeypatch.setattr(secondary, "secondary_suppression", hide_p2)
    t2 = protect(data, ["org"], "n", policy="sdap", name="t2", population="people")
    assert set(t2.cells.loc[t2.cells["display"] == "*", "org"]) == {"P2", "P3"}
    assert t1.audit_passed
    assert t2.audit_passed
    cert = audit_release([t1, t2])
    assert not cert.passed
    iv = {c.label: c for c in cert.intervals}["t1: org=P3 | t2: org=P3"]
    assert (iv.lower, iv.upper) == (4.0, 4.0)


def _outcomes() -> pd.DataFrame:
    return pd.DataFrame(
        {"org": ["P1", "P1", "P2", "P2"], "outcome": ["y", "n", "y", "n"], "n": [3, 40, 20, 30]}
    )


def test_release_audit_knows_inner_cells_add_up_to_another_tables_totals() -> None:
    """Inner cells without margins in one table, org totals in another: y = 43 - 40."""
    inner = protect(
        _outcomes(),
        ["org", "outcome"],
        "n",
        policy="sdap",
        margins=False,
        name="inner",
        population="people",
    )
    totals = _outcomes().groupby("org", as_index=False)["n"].sum()
    tot = protect(totals, ["org"], "n", policy="sdap", name="totals", population="people")
    shown_inner = inner.cells.set_index(["org", "outcome"])["display"]
    assert shown_inner[("P1", "y")] == "*"
    assert shown_inner[("P1", "n")] == "40"
    assert tot.cells.set_index("org")["display"]["P1"] == "43"
    cert = audit_release([inner, tot])
    assert not cert.passed
    iv = next(c for c in cert.failures() if "org=P1, outcome=y" in c.label)
    assert (iv.lower, iv.upper) == (3.0, 3.0)


def test_linked_protection_uses_the_same_implied_relations() -> None:
    totals = _outcomes().groupby("org", as_index=False)["n"].sum()
    inner, tot = protect_linked(
        [
            {
                "data": _outcomes(),
                "dims": ["org", "outcome"],
                "value": "n",
                "margins": False,
                "name": "inner",
            },
            {"data": totals, "dims": ["org"], "value": "n", "name": "totals"},
        ],
        policy="sdap",
    )
    assert inner.certificate.passed
    iv = next(
        c for c in inner.certificate.intervals if c.label.startswith("inner: org=P1, outcome=y")
    )
    assert iv.upper - iv.lower >= 10
    assert audit_release([inner, tot]).passed


def test_linked_opensafely_unshared_totals_are_sums_of_rounded_cells() -> None:
    micro = microdata()
    by_age, by_sex = protect_linked(
        [{"data": micro, "dims": ["org", "age"]}, {"data": micro, "dims": ["org", "sex"]}],
        policy="opensafely",
    )
    a = by_age.cells[by_age.cells["age"] == "Total"].set_index("org")["display"]
    s = by_sex.cells[by_sex.cells["sex"] == "Total"].set_index("org")["display"]
    assert a.to_dict() == s.to_dict()  # shared: rounded from the truth, the same in both
    # The age totals over org (not shared with the sex table) add up the published cells.
    cells = by_age.cells
    for age in cells["age"].unique():
        if age == "Total":
            continue
        col = cells[(cells["age"] == age)].set_index("org")["display"]
        if "*" in set(col):
            assert col["Total"] == "*"
        else:
            assert int(col["Total"]) == sum(int(v) for k, v in col.items() if k != "Total")
