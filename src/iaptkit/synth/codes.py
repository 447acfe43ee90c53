"""The generator's vocabularies: codes, score measures and problem descriptors.

Index-coded vocabularies used in the simulated truth (:mod:`iaptkit.synth.model`) and
written as text by :mod:`iaptkit.synth.writer`: AppType, AttendOrDNACode, EndCode, Gender,
EthnicCategory (``docs/data-model.md`` code lists), the score measures with their SNOMED
tool codes, valid ranges and the docs/measures.md §4 default thresholds, and the problem-descriptor
mix with PresComp codes (docs/measures.md §4). Immutable data only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "A01",
    "A02",
    "A03",
    "A05",
    "A06",
    "ACT_BOTH",
    "ACT_ES",
    "ACT_NONE",
    "ACT_THERAPY",
    "APP_TYPES",
    "ATTEND_CODES",
    "C_NC",
    "C_NOTCASE",
    "C_RD",
    "C_RI_NOR",
    "C_RR",
    "C_R_NORI",
    "DESCRIPTORS",
    "EMPLOY_STATUS",
    "END_CODES",
    "ETHNIC",
    "GENDERS",
    "IET_PROGRAMMES",
    "LTC_CODES",
    "MEASURES",
    "MEASURE_INDEX",
    "SECONDARY_CODES",
    "SOURCES_OF_REFERRAL",
    "THERAPY_CODES",
    "Descriptor",
    "SynthMeasure",
]

#: AppType codes by index used in the event arrays.
APP_TYPES: tuple[str, ...] = ("01", "02", "03", "05", "06")
A01, A02, A03, A05, A06 = range(5)
#: AttendOrDNACode values (index = code as int).
ATTEND_CODES: tuple[str, ...] = ("0", "1", "2", "3", "4", "5", "6", "7")

#: Activity kinds of a contact: none recorded, therapy, therapy + employment support,
#: employment support only.
ACT_NONE, ACT_THERAPY, ACT_BOTH, ACT_ES = range(4)

#: Outcome classes drawn for treated pathways (scores are generated consistent with them).
C_NOTCASE, C_RR, C_R_NORI, C_RI_NOR, C_NC, C_RD = range(6)


@dataclass(frozen=True)
class SynthMeasure:
    """A scored measure as the generator knows it (docs/measures.md §4 defaults, in hundredths).

    ``case``/``rc`` are ``None`` where the guide publishes no threshold; ``case_gen`` and
    ``rc_gen`` are the values the generator aims at in that case (they never drive a flag).

    Notes
    -----
    Values from docs/measures.md §4 (NHS Digital guide 2021 §7.4 and Appendix B).

    Examples
    --------
    >>> mi = MEASURES[MEASURE_INDEX["AgoraAlone"]]
    >>> (mi.tool, mi.lo, mi.hi, mi.case, mi.case_op, mi.rc, mi.decimals, mi.usable)
    ('473355002', 100, 500, 230, '>', 73, 2, True)
    >>> MEASURES[MEASURE_INDEX["BIQ"]].usable
    False
    """

    key: str
    tool: str
    lo: int
    hi: int
    unit: int
    case: int | None
    case_op: str
    rc: int | None
    rc_op: str
    case_gen: int
    rc_gen: int

    @property
    def decimals(self) -> int:
        """Digits after the point when written (2 for the Mobility Inventory)."""
        return 2 if self.unit == 1 else 0

    @property
    def usable(self) -> bool:
        """Whether both thresholds are published (an ADSM can then be the anxiety measure)."""
        return self.case is not None and self.rc is not None


def _m(
    key: str,
    tool: str,
    hi: float,
    case: float | None,
    case_op: str,
    rc: float | None,
    rc_op: str,
    *,
    lo: float = 0,
    unit: int = 100,
    gen: tuple[float, float] | None = None,
) -> SynthMeasure:
    def h(x: float) -> int:
        return round(x * 100)

    cg = case if case is not None else (gen[0] if gen else hi / 3)
    rg = rc if rc is not None else (gen[1] if gen else hi / 8)
    return SynthMeasure(
        key, tool, h(lo), h(hi), unit,
        None if case is None else h(case), case_op,
        None if rc is None else h(rc), rc_op,
        h(cg), h(rg),
    )  # fmt: skip


#: Measures by index (0 = PHQ-9, 1 = GAD-7, then the ADSMs), docs/measures.md §4.
MEASURES: tuple[SynthMeasure, ...] = (
    _m("PHQ9", "720433000", 27, 10, ">=", 6, ">="),
    _m("GAD7", "445455005", 21, 8, ">=", 4, ">="),
    _m("AgoraAlone", "473355002", 5, 2.3, ">", 0.73, ">=", lo=1, unit=1),
    _m("SocialPhobia", "445552006", 68, 19, ">=", 10, ">="),
    _m("PanicDisorder", "450326007", 28, 8, ">=", 5, ">"),
    _m("PTSD", "491581000000104", 80, 32, ">=", 10, ">="),
    _m("OCD", "450324005", 168, 40, ">=", 32, ">="),
    _m("AnxietyInventory", "446793008", 54, 18, ">=", 4, ">="),
    _m("BIQ", "1128221000000100", 72, None, ">=", None, ">=", gen=(30, 10)),
    _m("IBS", "1083671000000108", 500, 75, ">=", None, ">=", gen=(75, 50)),
    _m("CFQ", "1077511000000101", 33, None, ">=", None, ">=", gen=(19, 4)),
    _m("MUS", "1065441000000103", 30, 10, ">=", None, ">=", gen=(10, 5)),
)
#: Index into :data:`MEASURES` by measure key.
MEASURE_INDEX: Mapping[str, int] = MappingProxyType({m.key: i for i, m in enumerate(MEASURES)})


@dataclass(frozen=True)
class Descriptor:
    """A problem descriptor: its share, the PresComp codes drawn for it, and its ADSM index."""

    name: str
    share: float
    codes: tuple[str, ...]
    adsm: int  # index into MEASURES, or -1


#: Problem-descriptor mix (docs/measures.md §4); the last one has no IDS603 record.
DESCRIPTORS: tuple[Descriptor, ...] = (
    Descriptor("Depression", 0.325, ("F320", "F321", "F322", "F329", "F330", "F331", "F339"), -1),
    Descriptor("Generalised anxiety disorder", 0.18, ("F411",), -1),
    Descriptor("Mixed anxiety and depressive disorder", 0.20, ("F412",), -1),
    Descriptor("Social phobia", 0.04, ("F401",), 3),
    Descriptor("Panic disorder", 0.04, ("F410",), 4),
    Descriptor("Obsessive compulsive disorder", 0.035, ("F420", "F421", "F422", "F429"), 6),
    Descriptor("Post-traumatic stress disorder", 0.04, ("F431",), 5),
    Descriptor("Agoraphobia", 0.015, ("F400",), 2),
    Descriptor("Health anxiety", 0.025, ("F452",), 7),
    Descriptor("Other anxiety", 0.03, ("F408", "F419", "F432", "F438"), -1),
    Descriptor("Body dysmorphic disorder", 0.005, ("83482000",), 8),
    Descriptor("Irritable bowel syndrome", 0.005, ("K580", "K589"), 9),
    Descriptor("Chronic fatigue syndrome", 0.005, ("G933",), 10),
    Descriptor("Medically unexplained symptoms", 0.005, ("723916001",), 11),
    Descriptor("Other", 0.02, ("F509", "F600", "Z630"), -1),
    Descriptor("Unspecified", 0.03, (), -1),
)

#: Secondary complaint codes (PresCompCodSig S).
SECONDARY_CODES: tuple[str, ...] = ("F411", "F412", "F329", "F432", "F509")
THERAPY_CODES: tuple[str, ...] = (
    "1026111000000108",
    "1026131000000100",
    "1026141000000109",
    "1026151000000107",
    "1026171000000103",
    "1026181000000101",
)
IET_PROGRAMMES: tuple[str, ...] = (
    "SilverCloud Depression",
    "SilverCloud Anxiety",
    "Space from Depression",
    "Space from Anxiety",
    "Beating the Blues",
)
GENDERS: tuple[str, ...] = ("1", "2", "9", "X")
ETHNIC: tuple[str, ...] = (*"ABCDEFGHJKLMNPRSZ", "99")
END_CODES: tuple[str, ...] = (
    "10", "11", "12", "13", "14", "16", "17", "95", "46", "47", "48", "49", "50", "96",
)  # fmt: skip
SOURCES_OF_REFERRAL: tuple[str, ...] = ("A1", "B1", "C1", "D1", "E1", "F1", "G1")
EMPLOY_STATUS: tuple[str, ...] = ("01", "02", "03", "04", "05", "06", "07", "08", "ZZ")
#: IDS602 codes: the eleven long-term conditions, then "No Long Term Condition" (last).
LTC_CODES: tuple[str, ...] = (
    "73211009", "13645005", "195967001", "50043002", "56265001", "363346000", "928000",
    "373673007", "84757009", "95320005", "53619000", "748031000000103",
)  # fmt: skip
