"""protect(): margins, hierarchies, validation, published values, the differencing attacker."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from iaptkit.errors import AuditFailedError, ConfigError
from iaptkit.sdc import ProtectedTable, load_policy, protect
from iaptkit.sdc.layout import CELL_FILL

# The margin-differencing example of the brief: rows A, B, C; columns X, Y, Z.
GRID = {
    ("A", "X"): 25, ("A", "Y"): 3, ("A", "Z"): 40,
    ("B", "X"): 12, ("B", "Y"): 30, ("B", "Z"): 18,
    ("C", "X"): 50, ("C", "Y"): 15, ("C", "Z"): 0,
}  # fmt: skip
ROWS = ("A", "B", "C")
COLS = ("X", "Y", "Z")


def grid_frame() -> pd.DataFrame:
    return pd.DataFrame([{"r": r, "c": c, "n": v} for (r, c), v in GRID.items()])


def attacker_interval(
    published: dict[tuple[str, str], str], policy_id: str, target: tuple[str, str]
) -> tuple[float, float]:
    """Solve the attacker's two LPs from the PUBLISHED 2-D table with margins only.

    Independent of iaptkit's cell space: variables are the 16 cells, the relations are written
    out here (rows and columns add up to their totals), and the bounds come from reading each
    displayed value under the policy (a number: its rounding preimage, at least the threshold;
    a '*': 0 upwards).
    """
    pol = load_policy(policy_id)
    rows = (*ROWS, "Total")
    cols = (*COLS, "Total")
    cells = [(r, c) for r in rows for c in cols]
    index = {k: i for i, k in enumerate(cells)}
    bounds = []
    for k in cells:
        shown = published[k]
        if shown == "*":
            bounds.append((0.0, None))
            continue
        p = int(shown)
        if pol.rounds:
            lo, hi = p - pol.rounding_base // 2, p + (pol.rounding_base + 1) // 2 - 1
        else:
            lo, hi = p, p
        if p > 0:
            lo = max(lo, pol.threshold)
        bounds.append((float(max(lo, 0)), float(hi) if p > 0 else 0.0))
    a_eq = []
    for r in rows:
        row = np.zeros(len(cells))
        for c in COLS:
            row[index[(r, c)]] = 1
        row[index[(r, "Total")]] = -1
        a_eq.append(row)
    for c in cols:
        row = np.zeros(len(cells))
        for r in ROWS:
            row[index[(r, c)]] = 1
        row[index[("Total", c)]] = -1
        a_eq.append(row)
    obj = np.zeros(len(cells))
    obj[index[target]] = 1
    lo = linprog(obj, A_eq=np.array(a_eq), b_eq=np.zeros(len(a_eq)), bounds=bounds)
    hi = linprog(-obj, A_eq=np.array(a_eq), b_eq=np.zeros(len(a_eq)), bounds=bounds)
    assert lo.status == 0
    upper = math.inf if hi.status == 3 else -hi.fun
    return float(lo.fun), float(upper)


def displayed(pt: ProtectedTable) -> dict[tuple[str, str], str]:
    long = pt.published_long()
    return {(r, c): v for r, c, v in long[["r", "c", "value"]].itertuples(index=False)}


@pytest.mark.parametrize("policy_id", ["sdap", "nhs-sde", "nhs-talking-therapies"])
def test_margin_differencing_cannot_recover_a_y(policy_id: str) -> None:
    pt = protect(grid_frame(), ["r", "c"], "n", policy=policy_id, margins=True)
    shown = displayed(pt)
    assert shown[("A", "Y")] == "*"
    # From the certificate: the interval for A/Y is at least the threshold wide.
    cert_iv = {c.label: c for c in pt.certificate.intervals}["table: r=A, c=Y"]
    threshold = load_policy(policy_id).threshold
    assert cert_iv.upper - cert_iv.lower >= threshold
    # And solved here, from the published values alone.
    if policy_id != "nhs-talking-therapies":  # the national grand total is unrounded there
        lo, hi = attacker_interval(shown, policy_id, ("A", "Y"))
        assert hi - lo >= threshold
        assert lo <= 3 <= hi
        assert (math.floor(hi + 1e-9), math.ceil(lo - 1e-9)) == (cert_iv.upper, cert_iv.lower)


def test_suppressing_only_the_small_cell_would_be_unsafe() -> None:
    """The naive pattern (only A/Y hidden) lets the attacker read A/Y off the row total."""
    naive = {(r, c): str(v) for (r, c), v in GRID.items()}  # every inner cell shown except A/Y
    naive[("A", "Y")] = "*"
    for r in ROWS:
        naive[(r, "Total")] = str(sum(GRID[(r, c)] for c in COLS))
    for c in COLS:
        naive[("Total", c)] = str(sum(GRID[(r, c)] for r in ROWS))
    naive[("Total", "Total")] = str(sum(GRID.values()))
    naive[("C", "Z")] = "*"
    lo, hi = attacker_interval(naive, "sdap", ("A", "Y"))
    assert (lo, hi) == (3.0, 3.0)


def test_margins_are_the_sums_of_the_true_counts() -> None:
    pt = protect(grid_frame(), ["r", "c"], "n", policy="sdap")
    truth = pt.underlying().set_index(["r", "c"])["value"]
    for r in ROWS:
        assert truth[(r, "Total")] == sum(GRID[(r, c)] for c in COLS)
    for c in COLS:
        assert truth[("Total", c)] == sum(GRID[(r, c)] for r in ROWS)
    assert truth[("Total", "Total")] == 193
    assert len(truth) == 16


def test_published_values_follow_the_policy() -> None:
    pt = protect(grid_frame(), ["r", "c"], "n", policy="nhs-sde")
    cells = pt.cells
    for rec in cells.to_dict("records"):
        if rec["status"] in ("primary", "secondary"):
            assert rec["display"] == "*"
            assert pd.isna(rec["published"])
        else:
            v = rec["value"]
            assert int(rec["display"]) == 5 * math.floor(v / 5 + 0.5)
            assert v >= 10
    # Primary suppressions are exactly the true values 0..9 (zeros suppressed under nhs-sde).
    primary = set(cells.loc[cells["status"] == "primary", ["r", "c"]].itertuples(index=False))
    assert primary == {("A", "Y"), ("C", "Z")}


def test_export_view_has_no_truth() -> None:
    pt = protect(grid_frame(), ["r", "c"], "n", policy="nhs-sde", name="grid")
    long = pt.published_long()
    assert list(long.columns) == ["r", "c", "value", "policy_id", "policy_version"]
    assert set(long["policy_id"]) == {"nhs-sde"}
    assert "3" not in set(long["value"])
    wide = pt.published_wide()
    assert list(wide.columns) == ["r", "X", "Y", "Z", "Total", "policy_id", "policy_version"]
    assert wide["r"].tolist() == ["A", "B", "C", "Total"]
    assert wide.loc[0, "Y"] == "*"


def test_to_csv_writes_the_export_view(tmp_path: Path) -> None:
    pt = protect(grid_frame(), ["r", "c"], "n", policy="sdap")
    path = pt.to_csv(tmp_path / "out" / "grid.csv")
    back = pd.read_csv(path, dtype=str)
    assert back.equals(pt.published_long().astype(str))


def test_html_highlights_suppressed_cells() -> None:
    pt = protect(grid_frame(), ["r", "c"], "n", policy="sdap", name="grid <1>")
    html = pt._repr_html_()
    assert "grid &lt;1&gt;" in html
    n_star = int((pt.cells["display"] == "*").sum())
    # suppressed cells shaded alike (primary and secondary are not told apart), in the palette
    assert html.count("data-status='suppressed'") == n_star
    assert html.count(f"background:{CELL_FILL['suppressed']}") == n_star + 1  # + the legend
    assert "primary" not in html
    assert "secondary" not in html
    assert "sdap v1.1" in html
    # no true value of a suppressed cell
    hidden = pt.cells.loc[pt.cells["display"] == "*", "value"]
    shown_cells = re.findall(r"data-status='suppressed'[^>]*>([^<]*)<", html)
    assert shown_cells == ["*"] * len(hidden)


def test_info_loss_figures() -> None:
    pt = protect(grid_frame(), ["r", "c"], "n", policy="sdap")
    loss = pt.info_loss
    status = pt.cells["status"]
    assert loss["cells"] == 16
    assert loss["suppressed_primary"] == 2
    assert loss["suppressed_secondary"] == int((status == "secondary").sum())
    supp = pt.cells[status.isin(["primary", "secondary"])]
    assert loss["suppressed_share"] == pytest.approx(len(supp) / 16)
    inner = supp[~supp["is_margin"]]
    assert loss["suppressed_count_share"] == pytest.approx(inner["value"].sum() / 193)
    assert loss["rounding_abs_error_total"] == 0


def test_microdata_rows_are_counted() -> None:
    micro = pd.DataFrame({"sex": ["F"] * 12 + ["M"] * 30, "age": ["a", "b"] * 21})
    pt = protect(micro, ["sex", "age"], policy="sdap")
    truth = pt.underlying().set_index(["sex", "age"])["value"]
    assert truth[("F", "a")] == 6
    assert truth[("M", "b")] == 15
    assert truth[("Total", "Total")] == 42


def test_hierarchy_provider_commissioner_england() -> None:
    data = pd.DataFrame({"org": ["P1", "P2", "P3", "P4"], "n": [40, 25, 30, 60]})
    hier = {
        "org": {
            "P1": "ICB1",
            "P2": "ICB1",
            "P3": "ICB2",
            "P4": "ICB2",
            "ICB1": "England",
            "ICB2": "England",
        }
    }
    pt = protect(data, ["org"], "n", policy="sdap", hierarchies=hier, margins=False)
    got = dict(pt.published_long()[["org", "value"]].itertuples(index=False))
    assert got == {
        "P1": "40",
        "P2": "25",
        "P3": "30",
        "P4": "60",
        "ICB1": "65",
        "ICB2": "90",
        "England": "155",
    }
    assert pt.totals["org"] == "England"


def test_hierarchy_leaf_absent_from_data_is_a_zero_cell() -> None:
    data = pd.DataFrame({"org": ["P1", "P2"], "n": [40, 25]})
    hier = {"org": {"P1": "ICB1", "P2": "ICB1", "P3": "ICB1"}}
    pt = protect(data, ["org"], "n", policy="nhs-hes", hierarchies=hier)
    got = dict(pt.published_long()[["org", "value"]].itertuples(index=False))
    assert got["P3"] == "0"
    assert got["ICB1"] == "65"  # nhs-hes rounds sub-national; ICB1 is the national root here


def test_hierarchy_label_missing_is_an_error() -> None:
    data = pd.DataFrame({"org": ["P1", "P9"], "n": [40, 25]})
    with pytest.raises(ConfigError, match="not in the hierarchy"):
        protect(data, ["org"], "n", hierarchies={"org": {"P1": "ICB1"}})


def test_structural_zeros_are_shown_and_never_suppressed() -> None:
    data = pd.DataFrame(
        {
            "age": ["Under 18", "Under 18", "18-25", "18-25"],
            "svc": ["adult", "child", "adult", "child"],
            "n": [0, 30, 40, 20],
        }
    )
    sz = pd.DataFrame({"age": ["Under 18"], "svc": ["adult"]})
    pt = protect(data, ["age", "svc"], "n", policy="nhs-sde", structural_zeros=sz)
    rec = pt.cells.set_index(["age", "svc"]).loc[("Under 18", "adult")]
    assert rec["status"] == "structural_zero"
    assert rec["display"] == "0"
    assert (pt.cells["status"] == "primary").sum() == 0


def test_structural_zero_that_is_not_zero_is_an_error() -> None:
    data = pd.DataFrame({"a": ["x", "y"], "n": [5, 30]})
    with pytest.raises(ConfigError, match="structural zeros are not zero"):
        protect(data, ["a"], "n", structural_zeros=pd.DataFrame({"a": ["x"]}))


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"a": ["x", "x"], "n": [1, 2]}), "repeat a cell"),
        (pd.DataFrame({"a": ["x", "y"], "n": [1, -2]}), "negative"),
        (pd.DataFrame({"a": ["x", "y"], "n": [1, 2.5]}), "not whole numbers"),
        (pd.DataFrame({"a": ["x", "y"], "n": ["1", "two"]}), "not numbers"),
        (pd.DataFrame({"a": ["x", None], "n": [1, 2]}), "no value in dimension"),
        (pd.DataFrame({"b": ["x", "y"], "n": [1, 2]}), r"missing \['a'\]"),
        (pd.DataFrame({"a": ["x", "Total"], "n": [1, 2]}), "'Total' is in the data"),
        (pd.DataFrame({"a": [], "n": []}), "found none"),
    ],
)
def test_input_validation(frame: pd.DataFrame, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        protect(frame, ["a"], "n", name="mytable")


def test_refuses_when_the_audit_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """A solver that only returns the primaries leaves A/Y recoverable: protect must refuse."""
    import iaptkit.sdc.secondary as secondary

    monkeypatch.setattr(secondary, "secondary_suppression", lambda space, **_: space.primary.copy())
    with pytest.raises(AuditFailedError, match=r"r=A, c=Y.*must not be released"):
        protect(grid_frame(), ["r", "c"], "n", policy="sdap")


def test_absent_combinations_are_zero_cells() -> None:
    data = pd.DataFrame({"a": ["x", "y", "y"], "b": ["p", "p", "q"], "n": [40, 30, 20]})
    pt = protect(data, ["a", "b"], "n", policy="nhs-hes")
    rec = pt.cells.set_index(["a", "b"]).loc[("x", "q")]
    assert (rec["value"], rec["display"]) == (0, "0")  # nhs-hes shows zeros


def test_same_input_same_output() -> None:
    a = protect(grid_frame(), ["r", "c"], "n", policy="nhs-sde")
    b = protect(grid_frame().sample(frac=1.0, random_state=3), ["r", "c"], "n", policy="nhs-sde")
    assert a.published_long().equals(b.published_long())


def test_opensafely_totals_are_sums_of_rounded_cells() -> None:
    data = pd.DataFrame({"a": ["x", "y", "z"], "n": [12, 13, 22]})
    pt = protect(data, ["a"], "n", policy="opensafely")
    got = dict(pt.published_long()[["a", "value"]].itertuples(index=False))
    assert got == {"x": "10", "y": "15", "z": "20", "Total": "45"}  # true total 47 -> 45 = sum


def test_opensafely_midpoint6() -> None:
    data = pd.DataFrame({"a": ["x", "y", "z"], "n": [0, 4, 12]})
    pt = protect(data, ["a"], "n", policy="opensafely", rounding="midpoint6")
    got = dict(pt.published_long()[["a", "value"]].itertuples(index=False))
    assert got == {"x": "0", "y": "3", "z": "9", "Total": "12"}
    assert pt.rounding == "midpoint6"


def test_talking_therapies_geography_national_unrounded() -> None:
    data = pd.DataFrame({"org": ["P1", "P2"], "n": [23, 41]})
    pt = protect(data, ["org"], "n", policy="nhs-talking-therapies")
    got = dict(pt.published_long()[["org", "value"]].itertuples(index=False))
    assert got == {"P1": "25", "P2": "40", "Total": "64"}
    # A national table (every cell national): nothing rounded.
    nat = protect(data, ["org"], "n", policy="nhs-talking-therapies", geography=())
    assert dict(nat.published_long()[["org", "value"]].itertuples(index=False))["P1"] == "23"


def test_pickle_round_trip_for_the_release_register() -> None:
    import pickle

    from iaptkit.sdc import audit_release

    pt = protect(grid_frame(), ["r", "c"], "n", policy="nhs-sde", population="people")
    back = pickle.loads(pickle.dumps(pt))
    assert back.published_long().equals(pt.published_long())
    assert dict(back.info_loss) == dict(pt.info_loss)
    assert back.totals == {"r": "Total", "c": "Total"}
    with pytest.raises(TypeError):
        back.info_loss["cells"] = 0  # type: ignore[index]
    assert audit_release([back, pt]).passed
