"""Spec: family 7's per-therapy means and stepped-care stages (docs/measures.md §5.9).

One tiny extract (June 2024: S = 2024-06-01, E = 2024-06-30): six courses received on 1 March
and finished on 20 June. Treatment contacts are AppType 02 and attended; AppType 01 contacts
are assessments only. The expected England figures are worked out by hand in the comments.
"""

from __future__ import annotations

import math
from datetime import date

import pytest
from builders import build

from iaptkit.measures.families.specs import NHS_MEASURE_IDS
from iaptkit.measures.published import published_measures

S, E = date(2024, 6, 1), date(2024, 6, 30)
LI = "748051000000105"
CBT, CBT_2026, BPD, COUNSELLING = "304891004", "228557008", "314034001", "286711000000107"
IPT, COUPLES, OTHER_HI = "443730003", "1129471000000105", "1026131000000100"

REFERRALS = """
    PathwayID | ReferralRequestReceivedDate | ServDischDate
    P1        | 2024-03-01                  | 2024-06-20
    P2        | 2024-03-01                  | 2024-06-20
    P3        | 2024-03-01                  | 2024-06-20
    P4        | 2024-03-01                  | 2024-06-20
    P5        | 2024-03-01                  | 2024-06-20
    P6        | 2024-03-01                  | 2024-06-20
"""
CONTACTS = """
    PathwayID | CareContactId | CareContDate | AttendOrDNACode | AppType
    P1        | A1            | 2024-03-10   | 5               | 01
    P1        | A2            | 2024-03-20   | 5               | 02
    P1        | A3            | 2024-03-27   | 5               | 02
    P1        | A4            | 2024-04-24   | 5               | 02
    P1        | A5            | 2024-05-01   | 5               | 02
    P2        | B1            | 2024-03-10   | 5               | 02
    P2        | B2            | 2024-03-12   | 5               | 02
    P2        | B3            | 2024-06-10   | 5               | 02
    P2        | B4            | 2024-06-11   | 5               | 02
    P3        | C1            | 2024-03-05   | 5               | 02
    P3        | C2            | 2024-03-10   | 5               | 02
    P3        | C3            | 2024-03-15   | 5               | 02
    P3        | C4            | 2024-03-20   | 5               | 02
    P3        | C5            | 2024-03-25   | 5               | 02
    P3        | C6            | 2024-05-30   | 5               | 02
    P3        | C7            | 2024-06-05   | 5               | 02
    P4        | D0            | 2024-03-01   | 5               | 01
    P4        | D1            | 2024-03-05   | 5               | 02
    P4        | D2            | 2024-03-10   | 5               | 02
    P4        | D3            | 2024-03-17   | 5               | 02
    P5        | E1            | 2024-03-10   | 5               | 02
    P5        | E2            | 2024-03-12   | 5               | 02
    P5        | E3            | 2024-03-20   | 5               | 02
    P6        | F1            | 2024-03-05   | 5               | 02
    P6        | F2            | 2024-03-06   | 5               | 02
    P6        | F3            | 2024-03-10   | 5               | 01
"""
ACTIVITIES = f"""
    PathwayID | CareContactId | CodeProcAndProcStatus
    P1        | A2            | {LI}
    P1        | A3            | {LI}
    P1        | A4            | {CBT}
    P1        | A5            | {CBT}
    P2        | B1            | {LI}
    P2        | B2            | {LI}
    P2        | B3            | {IPT}
    P2        | B4            | {IPT}
    P3        | C1            | {COUNSELLING}
    P3        | C2            | {LI}
    P3        | C3            | {COUNSELLING}
    P3        | C4            | {LI}
    P3        | C5            | {LI}
    P3        | C6            | {COUNSELLING}
    P3        | C7            | {COUNSELLING}
    P4        | D1            | {LI}
    P4        | D2            | {COUPLES}
    P4        | D3            | {COUPLES}
    P5        | E1            | {LI}
    P5        | E2            | {LI}
    P5        | E2            | {CBT_2026}
    P5        | E3            | {OTHER_HI}
    P6        | F1            | {BPD}
    P6        | F2            | {BPD}
"""


@pytest.fixture(scope="module")
def v() -> dict[str, float]:
    ex = build(REFERRALS, contacts=CONTACTS, activities=ACTIVITIES)
    m = published_measures(ex, S, E, "england", families="sessions")
    assert set(m.family) == {7}
    return dict(zip(m.measure, m.value, strict=True))


def test_mean_sessions_per_therapy_over_finished_courses_with_one(v: dict[str, float]) -> None:
    # CBT: P1 2 (A4, A5), P5 1 (E2 carries the 2026 CBT code) -> 1.5. IPT: P2 2. Counselling
    # for depression: P3 4. Couples: P4 2. Other high intensity: P5 1 (E3). BPD: P6 2.
    assert v["mean_cbt_sessions"] == pytest.approx(1.5)
    assert v["mean_ipt_sessions"] == pytest.approx(2.0)
    assert v["mean_counselling_sessions"] == pytest.approx(4.0)
    assert v["mean_couples_sessions"] == pytest.approx(2.0)
    assert v["mean_other_hi_sessions"] == pytest.approx(1.0)
    assert v["mean_bpd_sessions"] == pytest.approx(2.0)


def test_step_up_from_a_low_to_a_high_intensity_stage(v: dict[str, float]) -> None:
    # P1: stage LI 20-27 March, stage HI from 24 April: wait 28 days (a step-up within 28).
    # P2: stage LI 10-12 March, stage HI from 10 June: wait 90 days (within 90, not 28).
    # P3: H L H before its first stage (L L 20-25 March): two high-intensity sessions before
    #     the first stage exclude it, although an HI stage follows.
    # P4: one LI session before its first stage (H H) is ignored; no second stage.
    # P5: E2 has both intensities (LI first): L L | H H, step-up with a wait of 0 days.
    # P6: a single high-intensity stage.
    assert v["step_up"] == 3
    assert v["step_up_wait_le_28_days"] == 2
    assert v["step_up_wait_le_90_days"] == 3
    assert v["mean_wait_step_up"] == pytest.approx((28 + 90 + 0) / 3)


def test_wait_from_assessment_to_the_first_stage(v: dict[str, float]) -> None:
    # First stage LI with A <= F: P1 only (A 10 March, stage from 20 March: 10 days); P2 and P5
    # have no assessment, P3 is excluded. First stage HI: P4 (A 1 March <= F 5 March; stage from
    # 10 March: 9 days); P6's assessment (10 March) comes after its first session (5 March).
    assert v["first_stage_li"] == 1
    assert v["mean_wait_assessment_to_first_li"] == pytest.approx(10.0)
    assert v["first_stage_hi"] == 1
    assert v["mean_wait_assessment_to_first_hi"] == pytest.approx(9.0)


def test_an_absent_therapy_has_a_missing_mean() -> None:
    ex = build(REFERRALS, contacts=CONTACTS)
    m = published_measures(ex, S, E, "england", families="sessions")
    values = dict(zip(m.measure, m.value, strict=True))
    assert math.isnan(values["mean_cbt_sessions"])
    assert values["step_up"] == 0


def test_family_7_nhs_measure_ids() -> None:
    ids = {
        "mean_cbt_sessions": "M113",
        "mean_bpd_sessions": "M114",
        "mean_counselling_sessions": "M115",
        "mean_ipt_sessions": "M116",
        "mean_couples_sessions": "M117",
        "mean_other_hi_sessions": "M119",
        "step_up": "M355",
        "mean_wait_step_up": "M350",
        "mean_wait_assessment_to_first_hi": "M347",
        "mean_wait_assessment_to_first_li": "M348",
        "first_stage_hi": "M352",
        "first_stage_li": "M353",
    }
    assert {k: NHS_MEASURE_IDS.get(k) for k in ids} == ids
