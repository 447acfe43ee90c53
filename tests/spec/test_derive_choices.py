"""Spec: every (choice) of docs/measures.md is a setting of the definitions file, and changing it
changes the derivation (a site's own file, loaded with ``load_definitions(path)``).
"""

from __future__ import annotations

from pathlib import Path

from builders import EMPLOYMENT_SUPPORT, build, dec, derive, site_definitions


def test_same_day_rule_highest_by_default_lowest_when_configured(tmp_path: Path) -> None:
    ex = build(
        "PathwayID\nP1",
        scores="""
        PathwayID | Tool | PersScore | AssToolCompDate
        P1        | PHQ9 | 12        | 2024-04-03
        P1        | PHQ9 | 16        | 2024-04-03
        P1        | PHQ9 | 5         | 2024-06-01
        P1        | PHQ9 | 9         | 2024-06-01
        """,
    )
    lowest = site_definitions(tmp_path, settings={"scores.same_day_rule": "lowest"})
    default_row = derive(ex).loc["P1"]
    lowest_row = derive(ex, definitions=lowest).loc["P1"]
    assert (default_row.PHQ9_FirstScore, default_row.PHQ9_LastScore) == (dec("16"), dec("9"))
    assert (lowest_row.PHQ9_FirstScore, lowest_row.PHQ9_LastScore) == (dec("12"), dec("5"))


def test_employment_support_only_contacts_can_be_counted(tmp_path: Path) -> None:
    ex = build(
        "PathwayID\nP1",
        contacts="""
        PathwayID | CareContactId | CareContDate
        P1        | C1            | 2024-04-10
        P1        | C2            | 2024-04-17
        """,
        activities=f"""
        PathwayID | CareContactId | CodeProcAndProcStatus
        P1        | C1            | {EMPLOYMENT_SUPPORT}
        """,
    )
    keep = site_definitions(tmp_path, settings={"contacts.exclude_employment_support_only": False})
    assert derive(ex).loc["P1", "TreatmentCareContact_Count"] == 1
    assert derive(ex, definitions=keep).loc["P1", "TreatmentCareContact_Count"] == 2


def test_ids603_tiebreak_order_is_configurable(tmp_path: Path) -> None:
    ex = build(
        "PathwayID\nP1",
        complaints="""
        PathwayID | PresComp | PresCompCodSig | PresCompDate
        P1        | F410     | S              | 2024-05-01
        P1        | F320     | P              | 2024-04-01
        """,
    )
    latest_first = site_definitions(
        tmp_path,
        settings={
            "problem_descriptors.ids603_tiebreak": [
                "non_null_prescomp",
                "latest_date",
                "primary_first",
                "lowest_code",
            ]
        },
    )
    assert derive(ex).loc["P1", "ProblemDescriptor"] == "Depression"  # primary first
    assert derive(ex, definitions=latest_first).loc["P1", "ProblemDescriptor"] == "Panic disorder"


def test_missing_commissioner_label_is_configurable(tmp_path: Path) -> None:
    ex = build(
        """
        PathwayID | OrgIDComm
        P1        | -
        """
    )
    site = site_definitions(tmp_path, settings={"breakdowns.unknown": "Not recorded"})
    assert derive(ex).loc["P1", "commissioner"] == "Unknown"
    assert derive(ex, definitions=site).loc["P1", "commissioner"] == "Not recorded"


def test_sessions_needed_to_finish_treatment_is_a_setting(tmp_path: Path) -> None:
    ex = build(
        """
        PathwayID | ServDischDate
        P1        | 2024-06-20
        P2        | 2024-06-20
        P3        | 2024-06-20
        """,
        contacts="""
        PathwayID | CareContDate
        P1        | 2024-04-10
        P2        | 2024-04-10
        P2        | 2024-04-17
        P3        | 2024-04-10
        P3        | 2024-04-17
        P3        | 2024-04-24
        """,
    )

    def finished(**settings: int) -> list[bool]:
        defs = site_definitions(tmp_path, settings=settings) if settings else None
        rows = derive(ex, definitions=defs)
        return [bool(rows.loc[p, "CompletedTreatment_Flag"]) for p in ("P1", "P2", "P3")]

    # docs/measures.md §1: at least two sessions by default
    assert finished() == [False, True, True]
    assert finished(**{"contacts.min_treatment_sessions": 1}) == [True, True, True]
    assert finished(**{"contacts.min_treatment_sessions": 3}) == [False, False, True]
