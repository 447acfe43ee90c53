"""Spec: breakdown attributes of the pathway table (docs/measures.md §3)."""

from __future__ import annotations

from builders import build, derive


def test_breakdown_labels() -> None:
    ex = build(
        """
        PathwayID | RecordNumber | OrgIDComm | Age_ReferralRequest_ReceivedDate
        P1        | 1            | C01       | 17
        P2        | 2            | C02       | 18
        P3        | 3            | -         | 25
        P4        | 4            | C01       | 26
        P5        | 5            | C01       | 64
        P6        | 6            | C01       | 65
        P7        | 7            | C01       | 89
        P8        | 8            | C01       | 90
        P9        | 9            | C01       | -
        """,
        people="""
        RecordNumber | Person_ID | Gender | EthnicCategory | IndicesOfDeprivationDecile
        1            | X1        | 1      | A              | 1
        2            | X2        | 2      | G              | 10
        3            | X3        | 9      | L              | -
        4            | X4        | X      | P              | 0
        5            | X5        | -      | S              | 11
        6            | X6        | 1      | Z              | 5
        7            | X7        | 1      | 99             | 5
        8            | X8        | 1      | -              | 5
        9            | X9        | 1      | b              | 5
        """,
    )
    rows = derive(ex)
    got = rows[["provider", "commissioner", "age_band", "gender", "ethnic_group", "imd_decile"]]
    assert got.to_dict("index") == {
        "P1": dict(
            provider="R1A",
            commissioner="C01",
            age_band="Under 18",
            gender="Male",
            ethnic_group="White",
            imd_decile="1",
        ),
        "P2": dict(
            provider="R1A",
            commissioner="C02",
            age_band="18-25",
            gender="Female",
            ethnic_group="Mixed",
            imd_decile="10",
        ),
        "P3": dict(
            provider="R1A",
            commissioner="Unknown",
            age_band="18-25",
            gender="Other or not known",
            ethnic_group="Asian",
            imd_decile="Unknown",
        ),
        "P4": dict(
            provider="R1A",
            commissioner="C01",
            age_band="26-64",
            gender="Other or not known",
            ethnic_group="Black",
            imd_decile="Unknown",
        ),
        "P5": dict(
            provider="R1A",
            commissioner="C01",
            age_band="26-64",
            gender="Other or not known",
            ethnic_group="Other",
            imd_decile="Unknown",
        ),
        "P6": dict(
            provider="R1A",
            commissioner="C01",
            age_band="65-74",
            gender="Male",
            ethnic_group="Not stated",
            imd_decile="5",
        ),
        "P7": dict(
            provider="R1A",
            commissioner="C01",
            age_band="75-89",
            gender="Male",
            ethnic_group="Not stated",
            imd_decile="5",
        ),
        "P8": dict(
            provider="R1A",
            commissioner="C01",
            age_band="90+",
            gender="Male",
            ethnic_group="Not stated",
            imd_decile="5",
        ),
        "P9": dict(
            provider="R1A",
            commissioner="C01",
            age_band="Unknown",
            gender="Male",
            ethnic_group="White",
            imd_decile="5",
        ),
    }
    assert set(rows.definitions_version) == {"iapt-v2-2026.1"}
