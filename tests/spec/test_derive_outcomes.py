"""Spec: anxiety measure choice and outcome flags (docs/measures.md §1, §4).

Every pathway here finished treatment (discharged 2024-06-20 after two sessions) unless a test
says otherwise; its scores are given per measure as first -> last (first on 2024-04-03, last on
2024-06-01). PHQ-9 case >= 10, rc >= 6; GAD-7 case >= 8, rc >= 4; Mobility Inventory case > 2.3,
rc >= 0.73; PDSS rc > 5.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from builders import build, derive, site_definitions

from iaptkit.definitions.model import Definitions

FLAGS = [
    "NotCaseness_Flag",
    "Recovery_Flag",
    "ReliableImprovement_Flag",
    "NoChange_Flag",
    "ReliableDeterioration_Flag",
    "ReliableRecovery_Flag",
]


def finished(
    scores: dict[str, str],
    *,
    problem: str | None = None,
    sessions: int = 2,
    definitions: Definitions | None = None,
) -> pd.Series:
    """Derive one finished pathway P1 with scores {"PHQ9": "15 -> 5", "GAD7": "12", ...}."""
    lines = ["PathwayID | Tool | PersScore | AssToolCompDate"]
    for tool, spec in scores.items():
        parts = [p.strip() for p in spec.split("->")]
        lines.append(f"P1 | {tool} | {parts[0]} | 2024-04-03")
        if len(parts) == 2:
            lines.append(f"P1 | {tool} | {parts[1]} | 2024-06-01")
    contacts = ["PathwayID | CareContDate"] + [f"P1 | 2024-04-{10 + i}" for i in range(sessions)]
    ex = build(
        "PathwayID | ServDischDate\nP1 | 2024-06-20",
        contacts="\n".join(contacts),
        scores="\n".join(lines),
        complaints=None if problem is None else f"PathwayID | PresComp\nP1 | {problem}",
    )
    return derive(ex, definitions=definitions).loc["P1"]


def flags(row: pd.Series) -> set[str]:
    return {f for f in FLAGS if row[f]}


def test_recovered_and_reliably_recovered() -> None:
    row = finished({"PHQ9": "15 -> 5", "GAD7": "12 -> 4"})
    assert flags(row) == {"Recovery_Flag", "ReliableImprovement_Flag", "ReliableRecovery_Flag"}


def test_recovered_without_reliable_improvement() -> None:
    # PHQ-9 10 -> 9 (not a case at the end, change 1); GAD-7 8 -> 7 (change 1)
    row = finished({"PHQ9": "10 -> 9", "GAD7": "8 -> 7"})
    assert flags(row) == {"Recovery_Flag", "NoChange_Flag"}


def test_not_at_caseness_at_start() -> None:
    row = finished({"PHQ9": "9 -> 3", "GAD7": "7 -> 2"})
    # not a case at start: never "recovered", but change is still judged (9 -> 3 is 6)
    assert flags(row) == {"NotCaseness_Flag", "ReliableImprovement_Flag"}


def test_not_caseness_needs_both_first_scores() -> None:
    row = finished({"PHQ9": "5 -> 3"})
    assert flags(row) == set()


def test_flags_are_false_unless_treatment_was_completed() -> None:
    row = finished({"PHQ9": "15 -> 5", "GAD7": "12 -> 4"}, sessions=1)
    assert not row.CompletedTreatment_Flag
    assert flags(row) == set()


def test_improve_on_one_and_deteriorate_on_the_other_is_no_change() -> None:
    row = finished({"PHQ9": "20 -> 10", "GAD7": "6 -> 12"})
    assert flags(row) == {"NoChange_Flag"}


def test_reliable_deterioration() -> None:
    row = finished({"PHQ9": "10 -> 18", "GAD7": "8 -> 8"})
    assert flags(row) == {"ReliableDeterioration_Flag"}


def test_unpaired_anxiety_measure_means_no_change_flags() -> None:
    row = finished({"PHQ9": "20 -> 5", "GAD7": "15"})
    assert pd.isna(row.GAD_LastScore)
    assert flags(row) == set()


def test_scores_exactly_at_thresholds_with_at_least() -> None:
    # PHQ-9 first 10 is a case (>= 10) and a change of exactly 6 is reliable (>= 6)
    row = finished({"PHQ9": "10 -> 4", "GAD7": "4 -> 4"})
    assert flags(row) == {"Recovery_Flag", "ReliableImprovement_Flag", "ReliableRecovery_Flag"}
    # last PHQ-9 of exactly 10 is still a case: not recovered
    row = finished({"PHQ9": "16 -> 10", "GAD7": "4 -> 4"})
    assert flags(row) == {"ReliableImprovement_Flag"}


def test_scores_exactly_at_thresholds_with_the_strict_switch(tmp_path: Path) -> None:
    strict = site_definitions(tmp_path, strict=True)
    # 10 is no longer a case, a change of 6 is no longer reliable
    row = finished({"PHQ9": "10 -> 4", "GAD7": "4 -> 4"}, definitions=strict)
    assert flags(row) == {"NotCaseness_Flag", "NoChange_Flag"}
    assert row.definitions_version == "site-test"


def test_greater_than_operator_of_pdss_reliable_change() -> None:
    # Panic disorder: PDSS used (paired, published); rc is "> 5": 14 -> 9 is not reliable
    row = finished({"PHQ9": "8 -> 8", "GAD7": "6 -> 6", "PanicDisorder": "14 -> 9"}, problem="F410")
    assert flags(row) == {"NoChange_Flag"}  # 9 is still a case (>= 8): not recovered
    row = finished({"PHQ9": "8 -> 8", "GAD7": "6 -> 6", "PanicDisorder": "14 -> 8"}, problem="F410")
    assert flags(row) == {"ReliableImprovement_Flag"}


def test_paired_adsm_replaces_gad7() -> None:
    # GAD-7 stays a case (10 -> 10) but the Mobility Inventory recovers (3.0 -> 1.5)
    row = finished(
        {"PHQ9": "8 -> 6", "GAD7": "10 -> 10", "AgoraAlone": "3.0 -> 1.5"}, problem="F400"
    )
    assert row.ADSM == "AgoraAlone"
    assert flags(row) == {"Recovery_Flag", "ReliableImprovement_Flag", "ReliableRecovery_Flag"}


def test_unpaired_adsm_falls_back_to_gad7() -> None:
    row = finished({"PHQ9": "8 -> 6", "GAD7": "10 -> 10", "AgoraAlone": "3.0"}, problem="F400")
    assert row.ADSM == "AgoraAlone"
    assert row.ADSM_FirstScore is not None
    assert pd.isna(row.ADSM_LastScore)
    assert flags(row) == {"NoChange_Flag"}


def test_adsm_with_unpublished_thresholds_falls_back_and_is_counted(tmp_path: Path) -> None:
    scores = {"PHQ9": "8 -> 6", "GAD7": "10 -> 10", "BIQ": "50 -> 10"}
    row = finished(scores, problem="83482000")
    assert row.ADSM == "BIQ"
    assert (row.ADSM_FirstScore, row.ADSM_LastScore) is not None
    assert flags(row) == {"NoChange_Flag"}  # GAD-7 used: still a case
    # CFQ (chronic fatigue) has no published thresholds either
    row = finished({"PHQ9": "8 -> 6", "GAD7": "10 -> 10", "CFQ": "30 -> 5"}, problem="G933")
    assert row.ADSM == "CFQ"
    assert flags(row) == {"NoChange_Flag"}
    # a site that holds BIQ thresholds sets them: the BIQ is then used
    site = site_definitions(tmp_path, thresholds={"BIQ": ("30", "12")})
    row = finished(scores, problem="83482000", definitions=site)
    assert flags(row) == {"Recovery_Flag", "ReliableImprovement_Flag", "ReliableRecovery_Flag"}


def test_mobility_inventory_change_of_0_73_is_exactly_reliable() -> None:
    # 2.30 -> 1.57: change 0.73 meets ">= 0.73" (binary floats would give 0.7299999...)
    row = finished(
        {"PHQ9": "5 -> 5", "GAD7": "5 -> 5", "AgoraAlone": "2.30 -> 1.57"}, problem="F400"
    )
    # 2.30 is not a case (> 2.3 needed), so not at caseness at start; improvement is reliable
    assert flags(row) == {"NotCaseness_Flag", "ReliableImprovement_Flag"}
    row = finished(
        {"PHQ9": "5 -> 5", "GAD7": "5 -> 5", "AgoraAlone": "2.30 -> 1.58"}, problem="F400"
    )
    assert flags(row) == {"NotCaseness_Flag", "NoChange_Flag"}


def test_strict_switch_keeps_the_operators_nhs_prints_for_pcl5(tmp_path: Path) -> None:
    # issue 18: NHS prints PCL-5 ">= 32" and ">= 10" explicitly; strict_comparison must not
    # flip them. PTSD pathway: PCL-5 32 -> 22 is a case at the start and a reliable change of 10
    strict = site_definitions(tmp_path, strict=True)
    scores = {"PHQ9": "8 -> 8", "GAD7": "6 -> 6", "PTSD": "32 -> 22"}
    row = finished(scores, problem="F431", definitions=strict)
    assert row.ADSM == "PTSD"
    assert flags(row) == {"Recovery_Flag", "ReliableImprovement_Flag", "ReliableRecovery_Flag"}
    # the same pathway without the switch: identical
    assert flags(finished(scores, problem="F431")) == flags(row)
