"""Cell rules at every boundary of every policy: suppression, rounding, attacker bounds."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from iaptkit.errors import PolicyError
from iaptkit.sdc import load_policy
from iaptkit.sdc.rules import (
    apply_policy,
    midpoint6,
    primary_mask,
    round_half_up,
    rounding_interval,
)

POLICIES = ("nhs-sde", "nhs-talking-therapies", "nhs-hes", "opensafely", "sdap")


def _nearest5_half_up(v: int) -> int:
    """Independent reference: Decimal rounding of v/5, halves up."""
    return int((Decimal(v) / 5).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * 5


@pytest.mark.parametrize(
    ("true", "published"),
    [(12, 10), (13, 15), (7, 5), (8, 10), (2, 0), (3, 5), (17, 15), (18, 20), (0, 0)],
)
def test_round_to_nearest_five_halves_up(true: int, published: int) -> None:
    assert round_half_up([true], 5).tolist() == [published]


def test_round_half_up_agrees_with_decimal_reference() -> None:
    values = np.arange(0, 500)
    expected = [_nearest5_half_up(int(v)) for v in values]
    assert round_half_up(values, 5).tolist() == expected


def test_even_base_rounds_halves_up() -> None:
    assert round_half_up([5, 14, 15, 25], 10).tolist() == [10, 10, 20, 30]


def test_base_one_is_identity() -> None:
    assert round_half_up([0, 3, 17], 1).tolist() == [0, 3, 17]


@pytest.mark.parametrize(
    ("true", "published"),
    [(0, 0), (1, 3), (2, 3), (6, 3), (7, 9), (12, 9), (13, 15), (18, 15), (19, 21)],
)
def test_midpoint6_boundaries(true: int, published: int) -> None:
    assert midpoint6([true]).tolist() == [published]


def test_midpoint6_is_the_midpoint_of_its_block_of_six() -> None:
    for v in range(1, 300):
        p = int(midpoint6([v])[0])
        block = math.ceil(v / 6)
        assert p == 6 * block - 3
        assert p - 2 <= v <= p + 3


def test_rounding_interval_contains_exactly_the_preimage() -> None:
    for base in (5, 10):
        for p in range(0, 100, base):
            lo, hi = rounding_interval([p], base)
            pre = [v for v in range(0, 120) if round_half_up([v], base)[0] == p]
            assert (int(lo[0]), int(hi[0])) == (min(pre), max(pre))


@pytest.mark.parametrize("pid", POLICIES)
def test_threshold_boundary(pid: str) -> None:
    p = load_policy(pid)
    t = p.threshold
    mask = primary_mask([1, t - 1, t, t + 1], p)
    assert mask.tolist() == [True, True, False, False]


@pytest.mark.parametrize("pid", POLICIES)
def test_zeros(pid: str) -> None:
    p = load_policy(pid)
    assert bool(primary_mask([0], p)[0]) is p.zeros_suppressed
    # A structural zero is never suppressed.
    assert bool(primary_mask([0], p, structural_zero=[True])[0]) is False


def test_zeros_per_domain_table() -> None:
    suppressed = {pid: bool(primary_mask([0], load_policy(pid))[0]) for pid in POLICIES}
    assert suppressed == {
        "nhs-sde": True,
        "nhs-talking-therapies": True,
        "nhs-hes": False,
        "opensafely": False,
        "sdap": True,
    }


def test_nhs_sde_publishes_10_and_up_rounded() -> None:
    r = apply_policy([9, 10, 12, 13], load_policy("nhs-sde"))
    assert r.primary.tolist() == [True, False, False, False]
    assert r.published[1:].tolist() == [10, 10, 15]
    # True 10..12 all publish 10 and the attacker knows a published count is >= 10.
    assert (r.published_lower[1], r.published_upper[1]) == (10.0, 12.0)
    assert (r.published_lower[3], r.published_upper[3]) == (13.0, 17.0)


def test_talking_therapies_national_unrounded_subnational_rounded() -> None:
    p = load_policy("nhs-talking-therapies")
    r = apply_policy([13, 13, 4, 5], p, national=[True, False, False, False])
    assert r.published[:2].tolist() == [13, 15]
    assert r.primary.tolist() == [False, False, True, False]
    # National: exact. Sub-national 13 -> 15 means 13..17.
    assert (r.published_lower[0], r.published_upper[0]) == (13.0, 13.0)
    assert (r.published_lower[1], r.published_upper[1]) == (13.0, 17.0)
    # Sub-national 5 -> 5 (threshold 5): the attacker knows 5..7.
    assert (r.published[3], r.published_lower[3], r.published_upper[3]) == (5, 5.0, 7.0)


def test_hes_national_unrounded_and_zero_shown() -> None:
    p = load_policy("nhs-hes")
    r = apply_policy([0, 7, 8, 8], p, national=[False, False, False, True])
    assert r.primary.tolist() == [False, True, False, False]
    assert r.published.tolist()[2:] == [10, 8]
    # A published 0 is exactly 0 (1 and 2 would have been suppressed).
    assert (r.published_lower[0], r.published_upper[0]) == (0.0, 0.0)
    # A suppressed cell where zeros are shown is at least 1.
    assert r.suppressed_lower[1] == 1.0


def test_opensafely_rounds_national_too() -> None:
    r = apply_policy([13], load_policy("opensafely"), national=[True])
    assert r.published.tolist() == [15]


def test_sdap_unrounded() -> None:
    r = apply_policy([10, 13, 9], load_policy("sdap"))
    assert r.published[:2].tolist() == [10, 13]
    assert r.published_lower[:2].tolist() == r.published_upper[:2].tolist() == [10.0, 13.0]
    assert r.suppressed_lower.tolist() == [0.0, 0.0, 0.0]
    assert np.isinf(r.suppressed_upper).all()


def test_midpoint6_on_request_replaces_redaction() -> None:
    r = apply_policy([0, 1, 6, 7, 12, 13], load_policy("opensafely"), rounding="midpoint6")
    assert r.published.tolist() == [0, 3, 3, 9, 9, 15]
    assert not r.primary.any()
    assert r.published_lower.tolist() == [0.0, 1.0, 1.0, 7.0, 7.0, 13.0]
    assert r.published_upper.tolist() == [0.0, 6.0, 6.0, 12.0, 12.0, 18.0]


def test_midpoint6_refused_where_policy_does_not_allow_it() -> None:
    with pytest.raises(PolicyError, match="midpoint 6"):
        apply_policy([5], load_policy("nhs-sde"), rounding="midpoint6")


def test_unknown_rounding_choice() -> None:
    with pytest.raises(PolicyError, match="Unknown rounding"):
        apply_policy([5], load_policy("nhs-sde"), rounding="banker")


def test_structural_zero_known_exactly() -> None:
    r = apply_policy([0, 0], load_policy("nhs-sde"), structural_zero=[True, False])
    assert r.primary.tolist() == [False, True]
    assert (r.published_lower[0], r.published_upper[0]) == (0.0, 0.0)


def test_derived_totals_reveal_nothing_beyond_relations() -> None:
    r = apply_policy([3, 40], load_policy("opensafely"), derived_total=[False, True])
    assert r.primary.tolist() == [True, False]
    assert (r.published_lower[1], r.published_upper[1]) == (0.0, math.inf)


@pytest.mark.parametrize("pid", POLICIES)
@pytest.mark.parametrize("national", [False, True])
def test_attacker_bounds_always_contain_the_truth(pid: str, national: bool) -> None:
    p = load_policy(pid)
    v = np.arange(0, 250)
    r = apply_policy(v, p, national=np.full(v.shape, national))
    shown = ~r.primary
    assert (r.published_lower[shown] <= v[shown]).all()
    assert (v[shown] <= r.published_upper[shown]).all()
    assert (r.suppressed_lower <= v).all()
    # Published values follow the policy's rounding of the truth.
    if p.rounds_cell(national=national):
        assert r.published[shown].tolist() == [_nearest5_half_up(int(x)) for x in v[shown]]
    else:
        assert r.published[shown].tolist() == v[shown].tolist()
    # No published count in the suppressed range 1 .. threshold-1 of the truth.
    assert not ((v[shown] >= 1) & (v[shown] < p.threshold)).any()
