"""Hypercube moves: axis moves keep sums, proofs are inner bounds, the fast secondary passes."""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sdc_solver_tables import grid_space

from iaptkit.sdc.attack import attack
from iaptkit.sdc.audit import audit
from iaptkit.sdc.protect import protect
from iaptkit.sdc.secondary import secondary_suppression
from iaptkit.sdc.solver.cells import AxisMoves, CellGrid, CellSpace
from iaptkit.sdc.solver.hypercube import axis_moves, hypercube_bounds, margins_grid
from iaptkit.sdc.solver.intervals import required_width
from iaptkit.sdc.tables import build_cells, dim_structure


def _space(inner: np.ndarray, *, grid: bool = True, round5: bool = True) -> CellSpace:
    """A margined grid (threshold 10, nearest-5 rounding) with its hypercube grid attached."""
    space = grid_space(inner, rounding=5 if round5 else 0)
    if not grid:
        return space
    shape = tuple(int(s) + 1 for s in np.shape(inner))
    return replace(space, grids=(margins_grid(shape),))


def test_axis_moves_keep_every_sum_of_a_hierarchy() -> None:
    s = dim_structure(
        "org",
        ["A", "B", "C", "D"],
        margins=True,
        hierarchy={"A": "X", "B": "X", "C": "Y", "D": "Y", "X": "E", "Y": "E"},
    )
    t = build_cells(pd.DataFrame({"org": list("ABCD"), "value": [1, 2, 3, 4]}), [s])
    pos = {x: i for i, x in enumerate(s.nodes)}
    moves = axis_moves(len(s.nodes), {pos[p]: [pos[c] for c in k] for p, k in s.children.items()})
    dense = np.zeros((moves.nodes.shape[0], len(s.nodes)))
    for r, (nodes, signs) in enumerate(zip(moves.nodes, moves.signs, strict=True)):
        for x, sg in zip(nodes, signs, strict=True):
            if x >= 0:
                dense[r, x] = sg
    # every move satisfies the relations the table itself states
    assert np.abs(t.relations @ dense.T).max() == 0
    # chains: 4 leaves; pairs: 6 -> a leaf to another under the other parent crosses both
    assert dense.shape[0] == 10
    a_to_c = dense[(dense[:, pos["A"]] == 1) & (dense[:, pos["C"]] == -1)][0]
    assert a_to_c[pos["X"]] == 1
    assert a_to_c[pos["Y"]] == -1
    assert a_to_c[pos["E"]] == 0


def test_grid_of_build_cells_is_its_cell_order() -> None:
    inner = pd.DataFrame(
        {"a": ["x", "x", "y", "y"], "b": ["p", "q", "p", "q"], "value": [3, 4, 5, 6]}
    )
    t = build_cells(
        inner,
        [
            dim_structure("a", ["x", "y"], margins=True),
            dim_structure("b", ["p", "q"], margins=True),
        ],
    )
    (g,) = t.grids
    assert g.index.shape == (3, 3)
    keys = t.keys.to_numpy()
    assert list(keys[g.index[1, 0]]) == ["y", "p"]
    assert list(keys[g.index[2, 2]]) == ["Total", "Total"]


@pytest.mark.parametrize("seed", range(6))
def test_hypercube_bounds_lie_inside_the_exact_lp_interval(seed: int) -> None:
    rng = np.random.default_rng(seed)
    inner = rng.poisson(rng.choice([3.0, 15.0, 40.0], size=(4, 3, 3)))
    space = _space(inner)
    sup = space.primary | (rng.random(space.n_cells) < 0.3)
    targets = np.flatnonzero(sup)
    lo_h, hi_h = hypercube_bounds(space, sup, targets)
    exact = attack(space, sup)
    for i in targets:
        assert exact.lower[i] - 1e-6 <= lo_h[i] <= space.values[i]
        assert space.values[i] <= hi_h[i] <= exact.upper[i] + 1e-6
    # they prove something: some cell moves
    assert (hi_h[targets] - lo_h[targets]).max() > 0


def test_a_wrong_grid_proves_nothing() -> None:
    """Moves are checked on the relations: a grid claiming free axes is rejected."""
    space = _space(np.array([[3, 20], [30, 40]]), round5=False)
    n = space.n_cells
    free_axes = tuple(
        AxisMoves(np.arange(3, dtype=np.int64)[:, None], np.ones((3, 1), np.int8)) for _ in range(2)
    )
    wrong = CellSpace(**{**space.__dict__, "grids": (CellGrid(space.grids[0].index, free_axes),)})
    sup = np.isin(np.arange(n), [0, 1, 3, 4])
    lo, hi = hypercube_bounds(wrong, sup, np.flatnonzero(sup))
    assert np.array_equal(lo, space.values.astype(float))
    assert np.array_equal(hi, space.values.astype(float))
    lo, hi = hypercube_bounds(space, sup, np.flatnonzero(sup))
    assert (lo[0], hi[0]) == (0.0, 23.0)  # the rectangle: 3 - 3 .. 3 + min(20, 30)


@pytest.mark.parametrize("seed", range(8))
def test_hypercube_secondary_passes_the_exact_audit(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    shape = tuple(int(x) for x in rng.integers(2, 5, size=int(rng.integers(2, 4))))
    inner = rng.poisson(rng.choice([2.0, 12.0, 60.0], size=shape))
    space = _space(inner)
    mask = secondary_suppression(space, method="hypercube")
    assert (mask & space.primary).sum() == space.primary.sum()
    cert = audit(space, mask, mode="exact")
    assert cert.passed, [c.reason for c in cert.failures()][:3]
    # an independent check of the criterion on the exact intervals
    need = required_width(space)
    for c in cert.intervals:
        assert c.upper - c.lower >= need[c.index] - 1e-9


@pytest.mark.parametrize("seed", range(6))
def test_big_table_finish_by_local_lps_passes_the_exact_audit(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # above LOCAL_FINISH_ABOVE cells the hypercube method protects what its pass left with
    # the modular search's local LPs, not LPs over the whole table: forced on small tables
    from iaptkit.sdc import secondary

    monkeypatch.setattr(secondary, "LOCAL_FINISH_ABOVE", 0)
    checked: list[int] = []
    real_pass = secondary.attacker_pass

    def counting_pass(sp, mask, need, eligible, progress, check=None, **kw):  # type: ignore[no-untyped-def]
        checked.append(int(mask.sum() if check is None else (mask & check).sum()))
        return real_pass(sp, mask, need, eligible, progress, check, **kw)

    monkeypatch.setattr(secondary, "attacker_pass", counting_pass)
    # a hypercube pass that adds nothing (as capped candidates on a big grid often cannot):
    # every primary not hidden by the primaries alone is left to the finish
    real_hypercubes = secondary.hypercube_secondary

    def no_rounds(*args, **kwargs):  # type: ignore[no-untyped-def]
        return real_hypercubes(*args, **{**kwargs, "rounds": 0})

    monkeypatch.setattr(secondary, "hypercube_secondary", no_rounds)
    rng = np.random.default_rng(300 + seed)
    shape = tuple(int(x) for x in rng.integers(3, 6, size=int(rng.integers(2, 4))))
    inner = rng.poisson(rng.choice([2.0, 4.0, 12.0], size=shape))
    space = _space(inner)
    mask = secondary.secondary_suppression(space, method="hypercube")
    assert (mask & space.primary).sum() == space.primary.sum()
    cert = audit(space, mask, mode="exact")
    assert cert.passed, [c.reason for c in cert.failures()][:3]
    need = required_width(space)
    for c in cert.intervals:
        assert c.upper - c.lower >= need[c.index] - 1e-9
    # the local LPs' points prove every suppressed cell: no whole-table LP was needed
    assert checked == [0]


def test_sufficient_audit_with_grids_agrees_with_exact() -> None:
    rng = np.random.default_rng(7)
    space = _space(rng.poisson(rng.choice([3.0, 30.0], size=(5, 4, 3))))
    mask = secondary_suppression(space, method="lp")
    suff = audit(space, mask, mode="sufficient")
    exact = audit(space, mask, mode="exact")
    assert suff.passed == exact.passed
    by_index = {c.index: c for c in exact.intervals}
    for c in suff.intervals:
        e = by_index[c.index]
        assert e.lower <= c.lower
        assert c.upper <= e.upper


def test_protect_large_table_uses_hypercubes_and_publishes_policy_values() -> None:
    rng = np.random.default_rng(11)
    dims = {
        "provider": [f"P{i:02d}" for i in range(24)],
        "age": list("abcdef"),
        "sex": ["F", "M", "O"],
        "eth": list("wxyz"),
    }
    rows = list(itertools.product(*dims.values()))
    df = pd.DataFrame(rows, columns=list(dims))
    df["n"] = rng.poisson(rng.choice([2.0, 9.0, 40.0], size=len(df)))
    pt = protect(df, list(dims), "n", policy="nhs-sde", secondary="hypercube")
    cells = pt.cells
    assert len(cells) == 25 * 7 * 4 * 5
    assert pt.audit_passed
    shown = cells[cells["status"] == "published"]
    # nhs-sde: published counts are the truth rounded to the nearest 5 (halves up), >= 10
    expect = ((shown["value"] + 2) // 5) * 5
    assert (shown["published"].astype(int) == expect).all()
    assert (shown["value"] >= 10).all()
    hidden = cells[cells["status"].isin(["primary", "secondary"])]
    assert (hidden["display"] == "*").all()
    assert (cells.loc[cells["value"] < 10, "status"] != "published").all()
    assert "hypercube" in pt.certificate.method
    assert pt.certificate.n_lp < 50  # proven by hypercube points, not an LP per cell
    # joint audits of a release (after a pickle round trip, as the register stores tables)
    import pickle

    from iaptkit.release.crossaudit import implied_relations_audit
    from iaptkit.sdc.protected import audit_release

    again = pickle.loads(pickle.dumps(pt))
    assert again.grid is not None
    assert np.array_equal(again.grid.index, pt.grid.index)
    joint = audit_release([again, again])
    assert joint.passed
    assert joint.n_suppressed == int(cells["display"].eq("*").sum())
    assert joint.n_lp < 50  # proven by hypercube points, not thousands of LPs
    assert implied_relations_audit([again]).passed


def test_cleanup_only_publishes_again_and_keeps_the_proofs() -> None:
    from iaptkit.sdc.solver.hypercube import proven_by_points
    from iaptkit.sdc.solver.hypercube_select import hypercube_cleanup, hypercube_secondary

    rng = np.random.default_rng(21)
    space = _space(rng.poisson(rng.choice([2.0, 12.0, 60.0], size=(6, 4, 3))))
    need = required_width(space)
    mask = space.primary.copy()
    points: list[tuple[np.ndarray, np.ndarray]] = []
    left = hypercube_secondary(space, mask, need, np.ones(space.n_cells, bool), points=points)
    before = mask.copy()
    removed = hypercube_cleanup(space, mask, need, points, limit=10_000)
    assert removed == int(before.sum() - mask.sum())
    assert not (mask & ~before).any()  # nothing newly suppressed
    assert (mask & space.primary).sum() == space.primary.sum()
    proven = proven_by_points(space, mask, need, points)
    # every primary the hypercube pass protected is still shown protected by verified points
    assert (proven | ~(space.primary & ~left)).all()
    assert not left.any()  # this table: every primary protected by hypercubes alone
    assert proven[space.primary].all()
    assert audit(space, mask, mode="exact").passed


def test_hypercube_method_is_deterministic() -> None:
    rng = np.random.default_rng(5)
    space = _space(rng.poisson(rng.choice([2.0, 12.0, 60.0], size=(8, 4, 3, 2))))
    a = secondary_suppression(space, method="hypercube")
    b = secondary_suppression(space, method="hypercube")
    assert np.array_equal(a, b)
    assert audit(space, a, mode="sufficient").passed


def test_protect_hierarchy_and_linked_tables_with_hypercubes() -> None:
    from iaptkit.sdc.protect import protect_linked

    rng = np.random.default_rng(3)
    providers = [f"P{i}" for i in range(8)]
    hierarchy = {p: f"ICB{i % 3}" for i, p in enumerate(providers)}
    hierarchy |= {f"ICB{k}": "England" for k in range(3)}
    micro = pd.DataFrame(
        {
            "provider": rng.choice(providers, size=900, p=np.linspace(1, 3, 8) / 16),
            "sex": rng.choice(["F", "M", "O"], size=900, p=[0.6, 0.37, 0.03]),
            "age": rng.choice(list("abcd"), size=900, p=[0.4, 0.3, 0.2, 0.1]),
        }
    )
    pt = protect(
        micro, ["provider", "sex"], policy="nhs-sde", hierarchies={"provider": hierarchy},
        margins=True, secondary="hypercube",
    )  # fmt: skip
    assert pt.audit_passed
    # small table: the audit above is the exact LP audit, independent of the hypercube proofs
    cells = pt.cells
    truth = micro.groupby(["provider", "sex"]).size()
    inner = cells[cells["provider"].isin(providers) & cells["sex"].isin(["F", "M", "O"])]
    for row in inner.itertuples():
        assert row.value == truth.get((row.provider, row.sex), 0)
    assert (cells.loc[cells["value"] < 10, "status"] != "published").all()
    a, b = protect_linked(
        [
            {"data": micro, "dims": ["provider", "sex"], "name": "by_sex"},
            {"data": micro, "dims": ["provider", "age"], "name": "by_age"},
        ],
        "nhs-sde",
        secondary="hypercube",
    )
    assert a.audit_passed
    assert b.audit_passed
    # shared provider totals publish the same value in both tables
    ta = a.cells.query("sex == 'Total'").set_index("provider")["display"]
    tb = b.cells.query("age == 'Total'").set_index("provider")["display"]
    assert ta.sort_index().tolist() == tb.sort_index().tolist()
    for t in (a, b):
        assert (t.cells.loc[t.cells["value"] < 10, "status"] != "published").all()


def test_unknown_secondary_method_is_a_user_error() -> None:
    from iaptkit.errors import ConfigError

    df = pd.DataFrame({"sex": ["F", "M"], "n": [3, 40]})
    with pytest.raises(ConfigError, match="auto, lp, hypercube, modular; found 'magic'"):
        protect(df, ["sex"], "n", secondary="magic")
