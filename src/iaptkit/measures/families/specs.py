"""Every measure of the NHS catalogue families, by name, kind and NHS measure ID.

The names are exactly those of docs/measures.md §5 (the catalogue's section 11). One NHS
measure ID per measure (the first where two are published); ``None`` where NHS publishes none.
Family 0 is the outcome family of docs/measures.md §2 (computed by
:mod:`iaptkit.measures.counting`); families 1-8 are computed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from iaptkit.errors import ConfigError

__all__ = [
    "EMPLOYMENT_CATEGORIES",
    "EMPLOY_STATUSES",
    "END_CODE_ORDER",
    "FAMILIES",
    "FAMILY_MEASURES",
    "NHS_MEASURE_IDS",
    "WSAS_DIMENSIONS",
    "FamilyMeasure",
    "parse_families",
]

Kind = Literal["count", "rate", "mean", "median", "internal"]

#: Family number -> name (``--families`` takes either).
FAMILIES: Mapping[int, str] = MappingProxyType(
    {
        0: "outcomes",
        1: "waits",
        2: "ended",
        3: "waiting_list",
        4: "first_to_second",
        5: "appointments",
        6: "referral_sources",
        7: "sessions",
        8: "employment_ltc_wsas",
    }
)

#: End codes in the catalogue's order (docs/measures.md §5.4), with their NHS measure IDs.
END_CODE_ORDER: tuple[tuple[str, str], ...] = (
    ("10", "M057"),
    ("11", "M058"),
    ("12", "M059"),
    ("13", "M060"),
    ("14", "M061"),
    ("16", "M340"),
    ("17", "M062"),
    ("95", "M063"),
    ("46", "M066"),
    ("47", "M344"),
    ("48", "M341"),
    ("49", "M069"),
    ("96", "M070"),
    ("50", "M342"),
)

_SOURCE_IDS = {
    "gp": "M003",
    "health_visitor": "M004",
    "other_primary_care": "M005",
    "maternity": "M345",
    "carer_relative": "M006",
    "local_authority": "M007",
    "employer": "M008",
    "justice": "M009",
    "child_health": "M010",
    "independent_voluntary": "M011",
    "acute_secondary": "M012",
    "other_mh_trust": "M013",
    "internal": "M014",
    "other": "M017",
    "nhs_tt_service": "M018",
    "mh_drop_in": "M287",
}

_MECHANISMS = (
    ("01", "M1001"),
    ("02", "M1002"),
    ("04", "M1004"),
    ("05", "M1005"),
    ("09", "M1006"),
    ("10", "M1007"),
    ("11", "M1018"),
    ("12", "M1019"),
    ("13", "M1020"),
    ("98", "M1008"),
)


@dataclass(frozen=True)
class FamilyMeasure:
    """One catalogue measure.

    ``numerator``/``denominator`` name the measures a rate is computed from; for a mean,
    median or internal statistic, ``denominator`` is its cohort (the contributing pathways)
    and ``value`` the per-pathway value it summarises (:mod:`~iaptkit.measures.families.cohorts`).
    """

    name: str
    family: int
    kind: Kind
    nhs_id: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    value: str | None = None


def _c(name: str, family: int, nhs_id: str | None = None) -> FamilyMeasure:
    return FamilyMeasure(name, family, "count", nhs_id)


def _r(name: str, family: int, num: str, den: str, nhs_id: str | None = None) -> FamilyMeasure:
    return FamilyMeasure(name, family, "rate", nhs_id, num, den)


def _s(
    name: str, family: int, kind: Kind, cohort: str, value: str, nhs_id: str | None = None
) -> FamilyMeasure:
    return FamilyMeasure(name, family, kind, nhs_id, None, cohort, value)


_W1 = (
    ("le_28_days", "M032", "M024"),
    ("29_to_56_days", "M033", "M025"),
    ("57_to_90_days", "M034", "M026"),
    ("over_90_days", "M035", "M027"),
)

_F1: tuple[FamilyMeasure, ...] = (
    _c("entered_treatment", 1, "M031"),
    *(_c(f"entered_wait_{b}", 1, i) for b, i, _ in _W1),
    _c("entered_waited_6_weeks", 1, "M036"),
    _c("entered_waited_18_weeks", 1, "M037"),
    _c("finished_treatment", 1, "M076"),
    _c("first_assessment", 1, "M023"),
    *(_c(f"first_assessment_wait_{b}", 1, i) for b, _, i in _W1),
    _s("mean_wait_entered", 1, "mean", "entered_treatment", "wait_entered", "M048"),
    _s("median_wait_entered", 1, "median", "entered_treatment", "wait_entered", "M049"),
    _s("mean_wait_finished", 1, "mean", "finished_treatment", "wait_finished", "M050"),
    _s("median_wait_finished", 1, "median", "finished_treatment", "wait_finished", "M051"),
    _s("mean_wait_first_assessment", 1, "mean", "first_assessment", "wait_assessment"),
    _s("median_wait_first_assessment", 1, "median", "first_assessment", "wait_assessment"),
    _r("entered_waited_6_weeks_rate", 1, "entered_waited_6_weeks", "entered_treatment"),
    _r("entered_waited_18_weeks_rate", 1, "entered_waited_18_weeks", "entered_treatment"),
)

_F2: tuple[FamilyMeasure, ...] = (
    _c("ended_referrals", 2, "M056"),
    _c("ended_not_seen", 2, "M073"),
    _c("ended_seen_not_treated", 2, "M074"),
    _c("ended_before_treatment", 2, "M153"),
    _c("ended_treated_once", 2, "M075"),
    _c("ended_before_assessment", 2, "M028"),
    _c("ended_treated_once_or_more", 2),
    _c("ended_after_treatment", 2),
    *(_c(f"ended_endcode_{code}", 2, i) for code, i in END_CODE_ORDER),
    _c("ended_endcode_invalid", 2, "M071"),
    _c("ended_endcode_missing", 2, "M072"),
    _c("ended_group_not_assessed", 2),
    _c("ended_group_assessed_not_treated", 2),
    _c("ended_group_treated", 2),
    _r("ended_before_treatment_rate", 2, "ended_before_treatment", "ended_referrals", "M077"),
    _r("ended_treated_once_rate", 2, "ended_treated_once", "ended_referrals", "M078"),
    _r("ended_finished_rate", 2, "finished_treatment", "ended_referrals", "M079"),
    _r(
        "ended_one_or_more_treatment_rate",
        2,
        "ended_treated_once_or_more",
        "ended_referrals",
        "M080",
    ),
    _r("finished_of_treated_rate", 2, "finished_treatment", "ended_after_treatment", "M081"),
    _r("access_attrition_rate", 2, "ended_treated_once", "ended_after_treatment", "M288"),
)

_F3: tuple[FamilyMeasure, ...] = (
    _c("open_referrals", 3),
    _c("waiting_for_assessment", 3, "M029"),
    _c("waiting_for_assessment_over_90_days", 3, "M030"),
    _c("waiting_for_treatment", 3, "M038"),
    _c("waiting_for_treatment_0_to_2_weeks", 3, "M039"),
    _c("waiting_for_treatment_0_to_4_weeks", 3, "M040"),
    _c("waiting_for_treatment_0_to_6_weeks", 3, "M041"),
    _c("waiting_for_treatment_0_to_12_weeks", 3, "M042"),
    _c("waiting_for_treatment_0_to_18_weeks", 3, "M043"),
    _c("waiting_for_treatment_over_18_weeks", 3, "M044"),
    _c("waiting_for_treatment_over_90_days", 3, "M045"),
    _c("open_in_treatment", 3),
    _c("open_no_activity_le_60_days", 3, "M019"),
    _c("open_no_activity_61_to_90_days", 3, "M020"),
    _c("open_no_activity_91_to_120_days", 3, "M021"),
    _c("open_no_activity_over_120_days", 3, "M022"),
    _c("open_no_activity_over_90_days", 3),
    _s(
        "mean_wait_so_far_waiting_for_treatment",
        3,
        "mean",
        "waiting_for_treatment",
        "wait_so_far",
    ),
    _s(
        "median_wait_so_far_waiting_for_treatment",
        3,
        "median",
        "waiting_for_treatment",
        "wait_so_far",
    ),
    _r(
        "open_no_activity_over_90_days_rate",
        3,
        "open_no_activity_over_90_days",
        "open_in_treatment",
    ),
)

_GAP = ("le_28_days", "29_to_90_days", "over_28_days", "over_90_days")
_GAP_IDS = {"le_28_days": "M121", "29_to_90_days": "M122", "over_28_days": "M046"}
_GAP_RATE_IDS = {
    "le_28_days": "M123",
    "over_28_days": "M124",
    "29_to_90_days": "M125",
    "over_90_days": "M126",
}
_FIN_GAP = ("le_28_days", "29_to_56_days", "57_to_90_days", "over_90_days")

_F4: tuple[FamilyMeasure, ...] = (
    _c("second_treatment", 4, "M184"),
    *(_c(f"first_to_second_{b}", 4, _GAP_IDS.get(b, "M047")) for b in _GAP),
    *(_c(f"finished_first_to_second_{b}", 4) for b in _FIN_GAP),
    _s("mean_first_to_second_days", 4, "mean", "second_treatment", "gap"),
    _s(
        "mean_days_between_treatments",
        4,
        "mean",
        "finished_treatment",
        "between_treatments",
        "M351",
    ),
    *(
        _r(f"first_to_second_{b}_rate", 4, f"first_to_second_{b}", "second_treatment", i)
        for b, i in _GAP_RATE_IDS.items()
    ),
    *(
        _r(
            f"finished_first_to_second_{b}_rate",
            4,
            f"finished_first_to_second_{b}",
            "finished_treatment",
        )
        for b in _FIN_GAP
    ),
)

_F5: tuple[FamilyMeasure, ...] = (
    _c("appointments", 5, "M082"),
    _c("appts_cancelled_patient", 5, "M083"),
    _c("appts_dna", 5, "M084"),
    _c("appts_cancelled_provider", 5, "M085"),
    _c("appts_attended", 5, "M086"),
    _c("appts_attended_late", 5, "M087"),
    _c("appts_late_not_seen", 5, "M088"),
    *(_c(f"appts_by_mechanism_{code}", 5, i) for code, i in _MECHANISMS),
    _c("appts_by_mechanism_unknown", 5, "M1009"),
    _c("iet_sessions", 5, "M343"),
    _r("dna_rate", 5, "appts_dna", "appointments"),
)

_F6: tuple[FamilyMeasure, ...] = (
    _c("referrals_received", 6, "M001"),
    _c("self_referrals", 6, "M002"),
    *(_c(f"referrals_source_{s}", 6, i) for s, i in _SOURCE_IDS.items()),
    _c("referrals_source_invalid", 6),
    _c("referrals_source_missing", 6),
    _r("self_referral_share", 6, "self_referrals", "referrals_received"),
)

#: Per-therapy means of family 7 (``catalogue.therapy_types``) and their NHS measure IDs.
_THERAPY_IDS = (
    ("cbt", "M113"),
    ("bpd", "M114"),
    ("counselling", "M115"),
    ("ipt", "M116"),
    ("couples", "M117"),
    ("other_hi", "M119"),
)

_F7: tuple[FamilyMeasure, ...] = (
    _c("sum_sessions_finished", 7, "M089"),
    _s("mean_sessions_finished", 7, "mean", "finished_treatment", "sessions", "M141"),
    _s("median_sessions_finished", 7, "median", "finished_treatment", "sessions", "M142"),
    _s("max_sessions_finished", 7, "internal", "finished_treatment", "sessions", "M143"),
    _s("min_sessions_finished", 7, "internal", "finished_treatment", "sessions", "M144"),
    _c("stepped_care_li_only", 7),
    _c("stepped_care_li_and_hi", 7),
    _c("stepped_care_hi_only", 7),
    _c("stepped_care_neither", 7),
    _s("mean_hi_sessions", 7, "mean", "finished_treatment", "hi_sessions", "M112"),
    _s("mean_li_sessions", 7, "mean", "finished_treatment", "li_sessions", "M120"),
    *(
        _s(f"mean_{t}_sessions", 7, "mean", "finished_treatment", f"{t}_sessions", i)
        for t, i in _THERAPY_IDS
    ),
    _c("step_up", 7, "M355"),
    _c("step_up_wait_le_28_days", 7),
    _c("step_up_wait_le_90_days", 7),
    _s("mean_wait_step_up", 7, "mean", "step_up", "wait_step_up", "M350"),
    _c("first_stage_hi", 7, "M352"),
    _c("first_stage_li", 7, "M353"),
    _s(
        "mean_wait_assessment_to_first_hi",
        7,
        "mean",
        "first_stage_hi",
        "wait_assessment_hi",
        "M347",
    ),
    _s(
        "mean_wait_assessment_to_first_li",
        7,
        "mean",
        "first_stage_li",
        "wait_assessment_li",
        "M348",
    ),
)

#: Employment categories of family 8 (docs/measures.md §5.10), in publication order.
EMPLOYMENT_CATEGORIES: tuple[str, ...] = ("in_work", "off_sick", "not_employed", "unknown")
#: EmployStatus codes 01-08 (the annual count of finished courses by last status).
EMPLOY_STATUSES: tuple[str, ...] = ("01", "02", "03", "04", "05", "06", "07", "08")
#: WSAS dimensions, as named in ``catalogue.wsas_items``.
WSAS_DIMENSIONS: tuple[str, ...] = (
    "work",
    "home_management",
    "social_leisure",
    "private_leisure",
    "relationships",
)


_WSAS_STATS: tuple[tuple[str, Kind], ...] = (
    ("first", "mean"),
    ("first", "median"),
    ("last", "mean"),
    ("last", "median"),
)


def _wsas(k: int, d: str) -> tuple[FamilyMeasure, ...]:
    # NHS IDs (monthly metadata 2021): work M212-M216, home management M217-M221, social
    # leisure M222-M226, private leisure M227-M231, relationships M232-M236, each as paired
    # count, mean first, median first, mean last, median last
    paired = f"finished_wsas_{d}_paired"
    base = 212 + 5 * k
    return (
        _c(paired, 8, f"M{base}"),
        *(
            _s(f"{kind}_wsas_{d}_{end}", 8, kind, paired, f"wsas_{d}_{end}", f"M{base + j}")
            for j, (end, kind) in enumerate(_WSAS_STATS, start=1)
        ),
    )


def _employment(prefix: str, first_id: int | None) -> tuple[FamilyMeasure, ...]:
    # NHS IDs: therapy-only cohort M316-M323, employment-support cohort M324-M331 (first
    # in work, off sick, not employed, unknown, then last in the same order)
    return tuple(
        _c(
            f"{prefix}_{when}_employment_{cat}",
            8,
            None if first_id is None else f"M{first_id + 4 * i + j}",
        )
        for i, when in enumerate(("first", "last"))
        for j, cat in enumerate(EMPLOYMENT_CATEGORIES)
    )


_F8: tuple[FamilyMeasure, ...] = (
    *_employment("finished", None),
    _c("finished_employment_support", 8),
    *_employment("finished_es", 324),
    *_employment("finished_tt_only", 316),
    *(_c(f"finished_last_employstatus_{code}", 8) for code in EMPLOY_STATUSES),
    _c("finished_ltc", 8),
    _c("finished_no_ltc", 8),
    _c("finished_ltc_not_stated", 8),
    *(m for k, d in enumerate(WSAS_DIMENSIONS) for m in _wsas(k, d)),
    _c("finished_wsas_total_paired", 8),
)

#: Family 0's measure computed here: NHS's published Count_AtCaseness (annual; no monthly ID),
#: output only with ``catalogue.published_at_caseness`` (docs/measures.md §2.6, §5.12).
_F0: tuple[FamilyMeasure, ...] = (_c("at_caseness_published", 0),)

#: Every measure of families 1-8 that is computed, in publication order (a name appears once:
#: a measure listed by two families is computed once, in the first).
FAMILY_MEASURES: tuple[FamilyMeasure, ...] = tuple(
    {m.name: m for m in reversed((*_F0, *_F1, *_F2, *_F3, *_F4, *_F5, *_F6, *_F7, *_F8))}.values()
)[::-1]

#: NHS measure ID of every measure that has one, outcome-family measures included.
NHS_MEASURE_IDS: Mapping[str, str] = MappingProxyType(
    {
        **{m.name: m.nhs_id for m in FAMILY_MEASURES if m.nhs_id is not None},
        "waited_6_weeks": "M052",
        "waited_18_weeks": "M053",
        "waited_6_weeks_rate": "M054",
        "waited_18_weeks_rate": "M055",
        "first_to_second_over_90_days_rate": "M126",
        "mean_sessions_finished": "M141",
    }
)


def parse_families(families: str | Sequence[str | int] | None) -> tuple[int, ...]:
    """Family numbers from numbers or names (``None``, ``"all"``: every family).

    Examples
    --------
    >>> parse_families("1, ended,waiting_list")
    (1, 2, 3)
    >>> parse_families(None) == tuple(FAMILIES)
    True
    """
    if families is None:
        return tuple(FAMILIES)
    items = families.split(",") if isinstance(families, str) else list(families)
    names = {v: k for k, v in FAMILIES.items()}
    out: set[int] = set()
    for item in items:
        text = str(item).strip().lower().replace("-", "_")
        if not text:
            continue
        if text == "all":
            return tuple(FAMILIES)
        if text.isdigit() and int(text) in FAMILIES:
            out.add(int(text))
        elif text in names:
            out.add(names[text])
        else:
            known = ", ".join(f"{k} {v}" for k, v in FAMILIES.items())
            raise ConfigError(f"families: unknown family {item!r}; expected one of {known}.")
    if not out:
        raise ConfigError(f"families: expected at least one family, found {families!r}.")
    return tuple(sorted(out))
