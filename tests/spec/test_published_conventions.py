"""Spec: NHS publication conventions of ``--definitions nhs-published`` (docs/measures.md §5.11).

Four referrals received in June 2024. The default definitions keep their values (age at
referral, IMD decile numbers, gender 9 folded into "Other or not known"); the nhs-published set
bands Age_RP_EndDate where the extract has it, labels IMD deciles as published (label k is decile
11 - k) and reports gender 9 as Indeterminate.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from builders import build

from iaptkit.definitions import load_definitions
from iaptkit.measures.published import published_measures

S, E = date(2024, 6, 1), date(2024, 6, 30)


def _groups(definitions: str | None, with_age_at_end: bool = True) -> pd.Series:
    age_end = "| Age_RP_EndDate" if with_age_at_end else ""
    ages = (["| 26", "| 18", "|", "| 91"]) if with_age_at_end else ["", "", "", ""]
    ex = build(
        """
        PathwayID | ReferralRequestReceivedDate | RecordNumber | Age
        P1        | 2024-06-03                  | 1            | 25
        P2        | 2024-06-04                  | 2            | 17
        P3        | 2024-06-05                  | 3            | 64
        P4        | 2024-06-06                  | 4            | 89
        """,
        people=f"""
        RecordNumber | Person_ID | Gender | EthnicCategory | IMD {age_end}
        1            | X1        | 9      | A              | 1  {ages[0]}
        2            | X2        | 1      | A              | 10 {ages[1]}
        3            | X3        | 2      | A              | 2  {ages[2]}
        4            | X4        | X      | A              |    {ages[3]}
        """,
    )
    defs = load_definitions(definitions) if definitions else None
    m = published_measures(ex, S, E, "age_band,imd_decile,gender", defs, families="0")
    m = m[m.measure == "referrals_received"]
    return m.set_index(["breakdown", "group"]).value


def test_default_definitions_keep_todays_groups() -> None:
    v = _groups(None)
    # age at referral: 25, 17, 64, 89
    assert v["age_band"].to_dict() == {"18-25": 1, "26-64": 1, "75-89": 1, "Under 18": 1}
    assert v["imd_decile"].to_dict() == {"1": 1, "10": 1, "2": 1, "Unknown": 1}
    assert v["gender"].to_dict() == {"Female": 1, "Male": 1, "Other or not known": 2}


def test_nhs_published_age_at_period_end_imd_labels_and_gender_9() -> None:
    v = _groups("nhs-published")
    # Age_RP_EndDate 26, 18, (missing: the age at referral, 64), 91
    assert v["age_band"].to_dict() == {"18 to 25": 1, "26 to 64": 2, "90 and over": 1}
    assert v["imd_decile"].to_dict() == {
        "10 Most deprived": 1,  # decile 1
        "01 Least deprived": 1,  # decile 10
        "09": 1,  # decile 2
        "Not stated/Not known/Invalid": 1,
    }
    assert v["gender"].to_dict() == {
        "Female": 1,
        "Indeterminate": 1,
        "Male": 1,
        "Not stated/Not known/Invalid": 1,
    }


def test_nhs_published_without_age_at_period_end_bands_the_age_at_referral() -> None:
    v = _groups("nhs-published", with_age_at_end=False)
    assert v["age_band"].to_dict() == {
        "18 to 25": 1,
        "26 to 64": 1,
        "75 to 89": 1,
        "Under 18": 1,
    }


def test_nhs_presenting_complaint_tie_break_and_invalid_codes() -> None:
    from builders import derive

    ex = build(
        """
        PathwayID | Sub | Month | ReferralRequestReceivedDate
        P1        | 2   | 1491  | 2024-04-01
        P2        | 2   | 1491  | 2024-04-01
        P3        | 2   | 1491  | 2024-04-01
        P4        | 1   | 1490  | 2024-04-01
        P4        | 2   | 1491  | 2024-04-01
        """,
        complaints="""
        PathwayID | Sub | Month | PresComp | PresCompCodSig | PresCompDate
        P1        | 2   | 1491  | 12a      | P              | 2024-06-01
        P1        | 2   | 1491  | F41.1    | S              | 2024-04-01
        P2        | 2   | 1491  | F40.2    | P              | 2024-04-01
        P3        | 2   | 1491  | XYZ!     | P              | 2024-04-01
        P4        | 1   | 1490  | F32      | P              | 2024-04-02
        P4        | 2   | 1491  | F411     | P              | 2024-04-02
        """,
    )
    nhs = derive(ex, definitions=load_definitions("nhs-published")).ProblemDescriptor
    default = derive(ex).ProblemDescriptor
    # P1: "12a" is not a valid code, so NHS takes the valid secondary F41.1; the default
    # prefers the non-null primary record
    assert nhs["P1"] == "Generalised anxiety disorder"
    assert default["P1"] == "Other"
    # P2: Specific (isolated) phobias published apart from other anxiety
    assert nhs["P2"] == "Specific (isolated) phobias"
    # P3: an invalid code is Not stated, not Other
    assert nhs["P3"] == "Not stated/Not known/Invalid"
    assert default["P3"] == "Other"
    # P4: same signifier and date; NHS's highest UniqueID_IDS603 -> the latest submission's
    # record (F411); the default takes the lowest code (F32)
    assert nhs["P4"] == "Generalised anxiety disorder"
    assert default["P4"] == "Depression"


def test_nhs_adsm_fields_hold_the_measure_used() -> None:
    from builders import derive

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
        P1        | 2024-04-17
        P2        | 2024-04-10
        P2        | 2024-04-17
        P3        | 2024-04-10
        P3        | 2024-04-17
        """,
        complaints="""
        PathwayID | PresComp
        P1        | F40.0
        P2        | F40.0
        P3        | F40.0
        """,
        scores="""
        PathwayID | Tool       | PersScore | AssToolCompDate
        P1        | GAD7       | 12        | 2024-04-03
        P1        | GAD7       | 5         | 2024-06-01
        P1        | AgoraAlone | 3.5       | 2024-04-03
        P2        | GAD7       | 14        | 2024-04-03
        P2        | GAD7       | 6         | 2024-06-01
        P2        | AgoraAlone | 3.5       | 2024-04-03
        P2        | AgoraAlone | 2.0       | 2024-06-01
        P3        | AgoraAlone | 3.0       | 2024-04-03
        """,
    )
    nhs = derive(ex, definitions=load_definitions("nhs-published"))
    default = derive(ex)
    # P1: agoraphobia, but its Mobility Inventory is not paired: the pathway uses GAD-7
    assert default.loc["P1", "ADSM"] == "AgoraAlone"
    assert default.loc["P1", "ADSM_FirstScore"] == 3.5
    assert nhs.loc["P1", "ADSM"] == "GAD7"
    assert (nhs.loc["P1", "ADSM_FirstScore"], nhs.loc["P1", "ADSM_LastScore"]) == (12.0, 5.0)
    # P2: a paired ADSM is used: both sets agree
    for t in (nhs, default):
        assert t.loc["P2", "ADSM"] == "AgoraAlone"
        assert (t.loc["P2", "ADSM_FirstScore"], t.loc["P2", "ADSM_LastScore"]) == (3.5, 2.0)
    # P3: no GAD-7 score at all: the mapped fields stay
    assert nhs.loc["P3", "ADSM"] == "AgoraAlone"
    assert nhs.loc["P3", "ADSM_FirstScore"] == 3.0
    # the outcome flags do not change
    cols = ["Recovery_Flag", "ReliableImprovement_Flag", "NotCaseness_Flag"]
    assert nhs[cols].equals(default[cols])


def _caseness_measures(definitions: str | None) -> dict[str, float]:
    ex = build(
        """
        PathwayID | ServDischDate
        P1        | 2024-06-20
        P2        | 2024-06-20
        P3        | 2024-06-20
        P4        | 2024-06-20
        P5        | 2024-06-20
        """,
        contacts="""
        PathwayID | CareContDate
        P1        | 2024-04-10
        P1        | 2024-04-17
        P2        | 2024-04-10
        P2        | 2024-04-17
        P3        | 2024-04-10
        P3        | 2024-04-17
        P4        | 2024-04-10
        P4        | 2024-04-17
        P5        | 2024-04-10
        P5        | 2024-04-17
        """,
        scores="""
        PathwayID | Tool | PersScore | AssToolCompDate
        P1        | PHQ9 | 15        | 2024-04-03
        P1        | GAD7 | 5         | 2024-04-03
        P2        | PHQ9 | 15        | 2024-04-03
        P3        | PHQ9 | 5         | 2024-04-03
        P3        | GAD7 | 3         | 2024-04-03
        P5        | PHQ9 | 10        | 2024-04-03
        P5        | GAD7 | 3         | 2024-04-03
        """,
    )
    defs = load_definitions(definitions) if definitions else None
    m = published_measures(ex, S, E, "england", defs, families="0")
    assert set(m.family) == {0}
    return dict(zip(m.measure, m.value, strict=True))


def test_nhs_published_at_caseness_count_beside_the_recovery_denominator() -> None:
    default, nhs = _caseness_measures(None), _caseness_measures("nhs-published")
    # finished 5; not at caseness: P3 (both first scores present, neither a case) -> the
    # recovery denominator at_caseness = 5 - 1 = 4 under both sets
    assert default["at_caseness"] == nhs["at_caseness"] == 4
    # published count: both first scores present and one a case: P1 (PHQ-9 15) and P5 (PHQ-9
    # exactly 10); P2 lacks an anxiety score, P4 has no scores
    assert nhs["at_caseness_published"] == 2
    # the default definitions keep today's measures: no such row
    assert "at_caseness_published" not in default
