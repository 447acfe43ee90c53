"""The generator's own NHS-derived fields follow docs/measures.md §1 on hand-made pathways.

Each case is one pathway written as a tiny event list (days after referral), so that the rule
being checked is readable: contact rules, same-day maximum, pairing, decimal thresholds, the
ADSM choice with GAD-7 fallback, and the outcome flags.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from iaptkit.synth.codes import (
    ACT_ES,
    ACT_NONE,
    ACT_THERAPY,
    DESCRIPTORS,
    MEASURE_INDEX,
)
from iaptkit.synth.nhs import NhsFields, build_index, nhs_fields
from iaptkit.synth.truth import Truth

R0 = 19448  # 2023-04-01
APP = {"01": 0, "02": 1, "03": 2, "05": 3, "06": 4}
DESC = {d.name: i for i, d in enumerate(DESCRIPTORS)}


def _truth(
    contacts: list[tuple[int, str, int, bool, int]],
    scores: list[tuple[int, str, float]],
    *,
    descriptor: str = "Depression",
    discharge: int = 200,
    logs: tuple[tuple[int, int], ...] = (),
) -> Truth:
    """One pathway: contacts (day, AppType, attend code, planned, activity kind) and scores
    (contact number, measure key, score)."""

    def a(values: list[Any], dtype: Any = np.int64) -> Any:
        return np.array(values, dtype=dtype)

    one = a([0])
    return Truth(
        n=1, providers=1, window_start=R0, window_end=R0 + 365, month0=639, months=12,
        provider_effect=a([0.0], float), commissioners_of=a([[0, -1, -1, -1]]),
        person=one, prov=one, comm=one, gender=one, ethnic=one, imd=a([5]), age=a([30]),
        source=one, employ=one, R=a([R0]), D=a([R0 + discharge]), end_code=a([8]),
        descriptor=a([DESC[descriptor]]), pres_code=one, secondary=a([-1]),
        c_pw=a([0] * len(contacts)), c_date=a([R0 + c[0] for c in contacts]),
        c_app=a([APP[c[1]] for c in contacts]), c_attend=a([c[2] for c in contacts]),
        c_planned=a([c[3] for c in contacts], bool), c_acts=a([c[4] for c in contacts]),
        c_therapy=a([0] * len(contacts)),
        s_contact=a([s[0] for s in scores]), s_measure=a([MEASURE_INDEX[s[1]] for s in scores]),
        s_value=a([round(s[2] * 100) for s in scores]),
        s_in_606=a([False] * len(scores), bool),
        l_pw=a([0] * len(logs)), l_start=a([R0 + g[0] for g in logs]),
        l_duration=a([g[1] for g in logs]), l_prog=a([0] * len(logs)),
    )  # fmt: skip


def _fields(t: Truth, as_at_day: int | None = None) -> NhsFields:
    discharged = as_at_day is None or t.D[0] <= R0 + as_at_day
    cutoff = t.D if discharged else np.array([R0 + as_at_day])
    return nhs_fields(t, build_index(t), np.array([0]), cutoff, np.array([discharged]))


def _course(
    phq: tuple[float, float], anx: tuple[float, float], measure: str = "GAD7", **kw: Any
) -> NhsFields:
    """Assessment on day 5 and two treatment sessions (days 20 and 40), scored at each."""
    contacts = [(5, "01", 5, True, ACT_THERAPY), (20, "02", 5, True, ACT_THERAPY),
                (40, "02", 5, True, ACT_THERAPY)]  # fmt: skip
    scores = [(0, "PHQ9", phq[0]), (0, measure, anx[0]), (2, "PHQ9", phq[1]), (2, measure, anx[1])]
    if measure != "GAD7":
        scores += [(0, "GAD7", 15), (2, "GAD7", 14)]
    return _fields(_truth(contacts, scores, **kw))


def test_contact_rules() -> None:
    contacts = [
        (3, "01", 5, True, ACT_THERAPY),  # assessment
        (10, "02", 3, True, ACT_NONE),  # did not attend: not a session
        (12, "02", 3, False, ACT_NONE),  # unplanned: counts as attended
        (19, "02", 6, True, ACT_ES),  # only employment support: not a session
        (26, "05", 5, True, ACT_NONE),  # no activity recorded: a session
        (300, "06", 5, True, ACT_THERAPY),  # follow-up after discharge
    ]
    f = _fields(_truth(contacts, [], discharge=60, logs=((33, 45), (40, 0))))
    assert f.assessment_first[0] == R0 + 3
    assert f.session_count[0] == 3  # days 12, 26 and the 45-minute log on day 33
    assert (f.session_first[0], f.session_second[0], f.session_last[0]) == (
        R0 + 12, R0 + 26, R0 + 33,
    )  # fmt: skip
    assert f.completed[0]


def test_same_day_highest_and_pairing() -> None:
    contacts = [(5, "02", 5, True, ACT_THERAPY), (5, "02", 5, True, ACT_THERAPY)]
    t = _truth(contacts, [(0, "PHQ9", 12), (1, "PHQ9", 17)])
    f = _fields(t)
    assert f.phq_first[0] == 1700  # the day's highest
    assert f.phq_last[0] == -1  # scored on one day only: not paired
    assert f.session_first[0] == f.session_second[0] == R0 + 5
    assert not f.recovery[0]


def test_recovery_and_reliable_improvement_on_phq_and_gad() -> None:
    f = _course((18, 6), (14, 5))
    assert f.recovery[0]
    assert f.reliable_improvement[0]
    assert not f.not_caseness[0]
    assert not f.no_change[0]
    assert not f.reliable_deterioration[0]


def test_improving_on_one_and_worsening_on_the_other_is_no_change() -> None:
    f = _course((20, 12), (8, 13))
    assert f.no_change[0]
    assert not f.reliable_improvement[0]
    assert not f.reliable_deterioration[0]


def test_not_at_caseness() -> None:
    f = _course((9, 4), (7, 3))
    assert f.not_caseness[0]
    assert not f.recovery[0]


def test_mobility_inventory_decimal_thresholds() -> None:
    # case when > 2.3; reliable change >= 0.73: 2.30 -> 1.57 is exactly 0.73
    f = _course((12, 12), (2.31, 1.58), "AgoraAlone", descriptor="Agoraphobia")
    assert f.adsm[0] == MEASURE_INDEX["AgoraAlone"]
    assert f.reliable_improvement[0]
    f = _course((12, 12), (2.30, 1.58), "AgoraAlone", descriptor="Agoraphobia")
    assert f.no_change[0]  # 0.72 is not reliable change


@pytest.mark.parametrize(("change", "improved"), [(5, False), (6, True)])
def test_pdss_reliable_change_is_strictly_greater_than_5(change: int, improved: bool) -> None:
    f = _course((12, 12), (20, 20 - change), "PanicDisorder", descriptor="Panic disorder")
    assert f.reliable_improvement[0] == improved


def test_unpublished_adsm_falls_back_to_gad7() -> None:
    # IBS-SSS has no published reliable change: GAD-7 (15 -> 14, no change) is used
    f = _course((12, 12), (300, 100), "IBS", descriptor="Irritable bowel syndrome")
    assert f.adsm[0] == MEASURE_INDEX["IBS"]
    assert (f.adsm_first[0], f.adsm_last[0]) == (30000, 10000)
    assert f.no_change[0]
    assert not f.reliable_improvement[0]


def test_unpaired_adsm_falls_back_to_gad7() -> None:
    contacts = [(5, "01", 5, True, ACT_THERAPY), (20, "02", 5, True, ACT_THERAPY),
                (40, "02", 5, True, ACT_THERAPY)]  # fmt: skip
    scores = [(0, "PHQ9", 15), (2, "PHQ9", 5), (0, "SocialPhobia", 40),
              (0, "GAD7", 12), (2, "GAD7", 4)]  # fmt: skip
    f = _fields(_truth(contacts, scores, descriptor="Social phobia"))
    assert f.adsm_last[0] == -1
    assert f.recovery[0]
    assert f.reliable_improvement[0]


def test_as_at_before_discharge_nothing_is_finished() -> None:
    contacts = [(5, "01", 5, True, ACT_THERAPY), (20, "02", 5, True, ACT_THERAPY),
                (40, "02", 5, True, ACT_THERAPY)]  # fmt: skip
    t = _truth(contacts, [(0, "PHQ9", 18), (2, "PHQ9", 4)], discharge=50)
    f = _fields(t, as_at_day=30)
    assert f.session_count[0] == 1
    assert not f.completed[0]
    assert not f.recovery[0]
    assert f.phq_last[0] == -1  # the day-40 score is after the as-at day
