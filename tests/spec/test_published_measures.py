"""Spec: the published measures of docs/measures.md §2, one rule at a time.

Each test writes a few pathways (already derived as at the period end) as a small table, and
states the published figures an analyst expects for the period January 2024. Blank cells are
empty (null); ``yes``/``no`` are flags. Columns not written take the defaults of ``pathway()``.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from iaptkit.measures.published import measures_from_pathways

JAN_START, JAN_END = date(2024, 1, 1), date(2024, 1, 31)

COLUMNS = {
    "id": "PathwayID",
    "provider": "provider",
    "age": "age_band",
    "referred": "ReferralRequestReceivedDate",
    "discharged": "ServDischDate",
    "first": "TherapySession_FirstDate",
    "second": "TherapySession_SecondDate",
    "sessions": "TreatmentCareContact_Count",
    "completed": "CompletedTreatment_Flag",
    "wait": "wait_to_first_treatment",
    "not_case": "NotCaseness_Flag",
    "recovered": "Recovery_Flag",
    "improved": "ReliableImprovement_Flag",
    "deteriorated": "ReliableDeterioration_Flag",
    "no_change": "NoChange_Flag",
    "rel_recovered": "ReliableRecovery_Flag",
}
DEFAULTS = {
    "provider": "R1A",
    "age": "26-64",
    "referred": "2023-10-01",
    "discharged": "",
    "first": "",
    "second": "",
    "sessions": "0",
    "completed": "no",
    "wait": "",
    "not_case": "no",
    "recovered": "no",
    "improved": "no",
    "deteriorated": "no",
    "no_change": "no",
    "rel_recovered": "no",
}


def pathways(text: str) -> pd.DataFrame:
    """Parse a ``|`` table of pathways into the pathway table (docs/module-contracts.md columns)."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    header = [h.strip() for h in lines[0].split("|")]
    rows = []
    for ln in lines[1:]:
        cells = dict(zip(header, (c.strip() for c in ln.split("|")), strict=True))
        rows.append({**DEFAULTS, **cells})
    out: dict[str, list[object]] = {v: [] for v in COLUMNS.values()}
    for row in rows:
        for short, col in COLUMNS.items():
            raw = row[short]
            value: object
            if short in ("referred", "discharged", "first", "second"):
                value = date.fromisoformat(raw) if raw else None
            elif short in ("sessions", "wait"):
                value = int(raw) if raw else None
            elif short in ("id", "provider", "age"):
                value = raw
            else:
                value = {"yes": True, "no": False}[raw]
            out[col].append(value)
    frame = pd.DataFrame(out)
    frame["wait_to_first_treatment"] = frame["wait_to_first_treatment"].astype("Int64")
    return frame


def january(text: str, by: str = "england") -> dict[str, float]:
    """Published figures for January 2024, England, as {measure: value}."""
    out = measures_from_pathways(pathways(text), JAN_START, JAN_END, by, definitions_version="spec")
    eng = out[out.breakdown == "england"]
    return dict(zip(eng.measure, eng.value, strict=True))


def test_referrals_received_counts_referrals_received_in_the_period_inclusive() -> None:
    m = january(
        """
        id | referred
        A  | 2023-12-31
        B  | 2024-01-01
        C  | 2024-01-31
        D  | 2024-02-01
        """
    )
    assert m["referrals_received"] == 2  # B and C


def test_entered_treatment_counts_first_sessions_in_the_period() -> None:
    m = january(
        """
        id | first      | sessions
        A  | 2023-12-20 | 3
        B  | 2024-01-15 | 1
        C  |            | 0
        """
    )
    assert m["entered_treatment"] == 1  # B


def test_finished_treatment_needs_discharge_in_the_period_and_completed_flag() -> None:
    m = january(
        """
        id | discharged | sessions | completed
        A  | 2024-01-10 | 5        | yes
        B  | 2024-01-10 | 1        | no
        C  | 2023-12-31 | 5        | yes
        D  |            | 5        | no
        """
    )
    assert m["ended_referrals"] == 2  # A and B end in January
    assert m["finished_treatment"] == 1  # only A finished a course in January


def test_at_caseness_keeps_finished_pathways_with_missing_scores() -> None:
    # C finished but has no scores: no flag is set, it stays in the recovery denominator.
    m = january(
        """
        id | discharged | sessions | completed | not_case | recovered
        A  | 2024-01-05 | 6        | yes       | no       | yes
        B  | 2024-01-06 | 6        | yes       | yes      | no
        C  | 2024-01-07 | 2        | yes       | no       | no
        """
    )
    assert m["finished_treatment"] == 3
    assert m["not_at_caseness"] == 1
    assert m["at_caseness"] == 2
    assert m["recovered"] == 1
    assert m["recovery_rate"] == 50.0  # 1 / (3 - 1)


def test_outcomes_count_only_pathways_that_finished_in_the_period() -> None:
    m = january(
        """
        id | discharged | sessions | completed | recovered | improved | rel_recovered
        A  | 2024-01-05 | 6        | yes       | yes       | yes      | yes
        B  | 2023-12-05 | 6        | yes       | yes       | yes      | yes
        """
    )
    assert m["recovered"] == 1
    assert m["reliably_improved"] == 1
    assert m["reliably_recovered"] == 1
    assert m["reliable_improvement_rate"] == 100.0


def test_improvement_deterioration_and_no_change_rates_are_of_finished_treatment() -> None:
    m = january(
        """
        id | discharged | sessions | completed | improved | deteriorated | no_change
        A  | 2024-01-05 | 6        | yes       | yes      | no           | no
        B  | 2024-01-05 | 6        | yes       | yes      | no           | no
        C  | 2024-01-05 | 6        | yes       | no       | yes          | no
        D  | 2024-01-05 | 6        | yes       | no       | no           | yes
        """
    )
    assert m["reliable_improvement_rate"] == 50.0
    assert m["reliable_deterioration_rate"] == 25.0
    assert m["no_reliable_change_rate"] == 25.0


def test_waits_within_6_and_18_weeks_are_at_most_42_and_126_days() -> None:
    m = january(
        """
        id | discharged | sessions | completed | first      | wait
        A  | 2024-01-05 | 6        | yes       | 2023-10-01 | 42
        B  | 2024-01-05 | 6        | yes       | 2023-10-01 | 43
        C  | 2024-01-05 | 6        | yes       | 2023-10-01 | 126
        D  | 2024-01-05 | 6        | yes       | 2023-10-01 | 127
        """
    )
    assert m["waited_6_weeks"] == 1  # A
    assert m["waited_18_weeks"] == 3  # A, B, C
    assert m["waited_6_weeks_rate"] == 25.0
    assert m["waited_18_weeks_rate"] == 75.0


def test_first_to_second_over_90_days_is_strictly_more_than_90() -> None:
    m = january(
        """
        id | first      | second     | sessions
        A  | 2023-10-03 | 2024-01-01 | 2
        B  | 2023-10-02 | 2024-01-01 | 2
        C  | 2023-12-01 | 2024-01-10 | 2
        D  | 2023-09-01 | 2023-12-31 | 2
        """
    )
    # A: 90 days (not over), B: 91 days (over), C: 40 days; D's second session is in December.
    assert m["second_treatment"] == 3
    assert m["first_to_second_over_90_days"] == 1
    assert m["first_to_second_over_90_days_rate"] == pytest.approx(100 / 3)


def test_mean_sessions_is_over_finished_treatment_only() -> None:
    m = january(
        """
        id | discharged | sessions | completed
        A  | 2024-01-05 | 4        | yes
        B  | 2024-01-05 | 10       | yes
        C  | 2024-01-05 | 1        | no
        D  |            | 20       | no
        """
    )
    assert m["mean_sessions_finished"] == 7.0


def test_a_rate_with_a_zero_denominator_is_missing_not_zero() -> None:
    m = january(
        """
        id | referred
        A  | 2024-01-10
        """
    )
    assert m["finished_treatment"] == 0
    assert math.isnan(m["recovery_rate"])
    assert math.isnan(m["mean_sessions_finished"])
    assert math.isnan(m["first_to_second_over_90_days_rate"])


def test_combined_breakdown_groups_are_joined_with_a_bar() -> None:
    table = pathways(
        """
        id | provider | age   | referred
        A  | R1A      | 18-25 | 2024-01-10
        B  | R1A      | 18-25 | 2024-01-11
        C  | R1A      | 65-74 | 2024-01-12
        D  | R2B      | 18-25 | 2023-06-01
        """
    )
    out = measures_from_pathways(
        table, JAN_START, JAN_END, "provider x age_band", definitions_version="spec"
    )
    received = out[out.measure == "referrals_received"].set_index("group").value.to_dict()
    assert received == {"R1A | 18-25": 2.0, "R1A | 65-74": 1.0, "R2B | 18-25": 0.0}
    assert set(out.breakdown) == {"provider x age_band"}
