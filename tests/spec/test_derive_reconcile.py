"""Spec: reconciling the derivation with NHS-derived IDS101 fields (docs/data-model.md)."""

from __future__ import annotations

from builders import AS_AT, build

from iaptkit.measures.reconcile import reconcile


def test_reconcile_counts_differences_per_present_field_with_examples() -> None:
    ex = build(
        """
        PathwayID | ServDischDate | TreatmentCareContact_Count | PHQ9_FirstScore | CompletedTreatment_Flag
        P1        | 2024-06-20    | 2                          | 15.0            | true
        P2        | 2024-06-20    | 3                          | -               | true
        P3        | -             | 0                          | 12              | false
        """,  # noqa: E501
        contacts="""
        PathwayID | CareContDate
        P1        | 2024-04-10
        P1        | 2024-04-17
        P2        | 2024-04-10
        """,
        scores="""
        PathwayID | Tool | PersScore | AssToolCompDate
        P1        | PHQ9 | 15        | 2024-04-10
        P2        | PHQ9 | 20        | 2024-04-10
        """,
    )
    got = reconcile(ex, AS_AT).set_index("field")
    assert list(got.index) == [
        "TreatmentCareContact_Count",
        "CompletedTreatment_Flag",
        "PHQ9_FirstScore",
    ]
    # P2: NHS says 3 sessions (we find 1) and completed (we do not); P1 agrees throughout.
    assert got.loc["TreatmentCareContact_Count", "differing"] == 1
    assert got.loc["TreatmentCareContact_Count", "examples"] == "P2"
    assert got.loc["CompletedTreatment_Flag", "examples"] == "P2"
    # PHQ-9: "15.0" equals 15; P2 missing on the NHS side; P3 has an NHS score we do not.
    assert got.loc["PHQ9_FirstScore", "differing"] == 2
    assert got.loc["PHQ9_FirstScore", "examples"] == "P2, P3"
    assert got.loc["PHQ9_FirstScore", "nhs_missing"] == 1
    assert got.loc["PHQ9_FirstScore", "iaptkit_missing"] == 1
    assert set(got.pathways) == {3}


def test_reconcile_without_nhs_fields_is_empty() -> None:
    ex = build("PathwayID\nP1")
    assert len(reconcile(ex, AS_AT)) == 0
