"""Spec: problem descriptor and ADSM (docs/measures.md §1 ProblemDescriptor, §4).

One IDS603 record per pathway: a non-null PresComp first, then primary (P) over secondary (S),
then the latest PresCompDate, then the lowest code (choice). Codes are compared upper case
without dots, by prefix (ICD-10) or exactly (SNOMED).
"""

from __future__ import annotations

from builders import build, derive


def _descriptors(complaints: str) -> dict[str, tuple[str, object]]:
    pathways = sorted({ln.split("|")[0].strip() for ln in complaints.strip().splitlines()[1:]})
    ex = build("PathwayID\n" + "\n".join([*pathways, "P0"]), complaints=complaints)
    rows = derive(ex)
    return {p: (rows.loc[p, "ProblemDescriptor"], rows.loc[p, "ADSM"]) for p in rows.index}


def test_mapping_to_categories_and_adsm() -> None:
    got = _descriptors(
        """
        PathwayID | PresComp
        P1        | F32.1
        P2        | f400
        P3        | F41.0
        P4        | F42.2
        P5        | F431
        P6        | F452
        P7        | F438
        P8        | 83482000
        P9        | K589
        PA        | G93.3
        PB        | 723916001
        PC        | F411
        PD        | Z731
        PE        | F401
        """
    )
    assert got == {
        "P0": ("Unspecified", None),  # no IDS603 record
        "P1": ("Depression", None),
        "P2": ("Agoraphobia", "AgoraAlone"),
        "P3": ("Panic disorder", "PanicDisorder"),
        "P4": ("Obsessive compulsive disorder", "OCD"),
        "P5": ("Post-traumatic stress disorder", "PTSD"),
        "P6": ("Health anxiety", "AnxietyInventory"),
        "P7": ("Other anxiety", None),
        "P8": ("Body dysmorphic disorder", "BIQ"),
        "P9": ("Irritable bowel syndrome", "IBS"),
        "PA": ("Chronic fatigue syndrome", "CFQ"),
        "PB": ("Medically unexplained symptoms", "MUS"),
        "PC": ("Generalised anxiety disorder", None),
        "PD": ("Other", None),
        "PE": ("Social phobia", "SocialPhobia"),
    }


def test_non_null_prescomp_is_preferred_and_only_null_is_unspecified() -> None:
    got = _descriptors(
        """
        PathwayID | PresComp | PresCompCodSig | PresCompDate
        P1        | -        | P              | 2024-05-01
        P1        | F410     | S              | 2024-04-01
        P2        | -        | P              | 2024-05-01
        """
    )
    assert got["P1"] == ("Panic disorder", "PanicDisorder")
    assert got["P2"] == ("Unspecified", None)


def test_primary_is_preferred_over_secondary_even_if_older() -> None:
    got = _descriptors(
        """
        PathwayID | PresComp | PresCompCodSig | PresCompDate
        P1        | F410     | S              | 2024-05-01
        P1        | F320     | P              | 2024-04-01
        """
    )
    assert got["P1"] == ("Depression", None)


def test_latest_date_wins_between_primaries_and_missing_dates_come_last() -> None:
    got = _descriptors(
        """
        PathwayID | PresComp | PresCompCodSig | PresCompDate
        P1        | F320     | P              | 2024-04-01
        P1        | F431     | P              | 2024-05-01
        P1        | F400     | P              | -
        P2        | F400     | P              | -
        P2        | F42      | P              | 2024-04-01
        """
    )
    assert got["P1"] == ("Post-traumatic stress disorder", "PTSD")
    assert got["P2"] == ("Obsessive compulsive disorder", "OCD")


def test_lowest_code_breaks_the_last_tie() -> None:
    got = _descriptors(
        """
        PathwayID | PresComp | PresCompCodSig | PresCompDate
        P1        | F431     | P              | 2024-04-01
        P1        | F410     | P              | 2024-04-01
        P1        | F42      | P              | 2024-04-01
        """
    )
    assert got["P1"] == ("Panic disorder", "PanicDisorder")
