"""Measure definitions: the frozen dataclasses of every number, code list and choice.

docs/measures.md asks that thresholds, code lists and every **(choice)** live in one versioned
configuration, never in code. This module holds that configuration's shape: frozen dataclasses
that every measure is computed from. Reading a YAML file into them (the packaged default
``iaptkit/definitions/iapt-v2.yaml`` or a site's own file) is :mod:`iaptkit.definitions.loading`,
and checking its keys is :mod:`iaptkit.definitions.parse`. Thresholds and valid ranges are
:class:`~decimal.Decimal` so that scores are compared exactly (a Mobility Inventory change
2.30 -> 1.57 is 0.73).

The ``strict_comparison`` switch (docs/measures.md §4) is applied at load time: when true, every
``>=`` operator becomes ``>``, so :attr:`ScoreMeasure.case_operator` and
:attr:`ScoreMeasure.rc_operator` are always the operators actually used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from iaptkit.definitions.catalogue_rules import CatalogueRules

__all__ = [
    "IDS603_TIEBREAK_KEYS",
    "AgeBand",
    "BreakdownRules",
    "ContactRules",
    "Definitions",
    "ProblemRule",
    "ProblemRules",
    "ScoreMeasure",
    "ScoreRules",
    "normalise_code",
]

#: The IDS603 tie-break keys a definitions file may list (docs/measures.md §1 ProblemDescriptor).
IDS603_TIEBREAK_KEYS: tuple[str, ...] = (
    "non_null_prescomp",
    "primary_first",
    "latest_date",
    "lowest_code",
    # NHS's order (docs/measures.md §5.11): a valid code first; the latest submission's record
    # stands in for the highest UniqueID_IDS603, which the input contract lacks
    "valid_prescomp",
    "latest_submission",
)


@dataclass(frozen=True)
class ScoreMeasure:
    """One scored measure (docs/measures.md §4 thresholds table).

    ``case_threshold``/``rc_threshold`` are ``None`` where the value is not published; such a
    measure cannot be the anxiety measure for outcomes (the pathway falls back to GAD-7).
    ``whole_numbers``: its scores are integers (a PHQ-9 of ``7.5`` is not a score); false for
    a decimal scale (Mobility Inventory, ``1.00``-``5.00``).
    """

    key: str
    name: str
    tool_codes: tuple[str, ...]
    valid_min: Decimal
    valid_max: Decimal
    case_threshold: Decimal | None
    case_operator: str
    rc_threshold: Decimal | None
    rc_operator: str
    source: str
    whole_numbers: bool = True

    @property
    def thresholds_published(self) -> bool:
        """Whether both the caseness and reliable-change thresholds are known."""
        return self.case_threshold is not None and self.rc_threshold is not None

    def is_case(self, score: Decimal) -> bool | None:
        """``case(m, x)``: whether a score is at caseness (``None`` if unpublished).

        Examples
        --------
        >>> from iaptkit.definitions import load_definitions
        >>> phq9 = load_definitions().measures["PHQ9"]
        >>> phq9.is_case(Decimal("10")), phq9.is_case(Decimal("9"))
        (True, False)
        """
        return _compare(score, self.case_operator, self.case_threshold)

    def is_reliable_change(self, change: Decimal) -> bool | None:
        """``rc(m, d)``: whether a change meets reliable change (``None`` if unpublished).

        Examples
        --------
        >>> from iaptkit.definitions import load_definitions
        >>> mi = load_definitions().measures["AgoraAlone"]
        >>> mi.is_reliable_change(Decimal("2.30") - Decimal("1.57"))
        True
        """
        return _compare(change, self.rc_operator, self.rc_threshold)


def _compare(x: Decimal, op: str, threshold: Decimal | None) -> bool | None:
    if threshold is None:
        return None
    return x >= threshold if op == ">=" else x > threshold


@dataclass(frozen=True)
class ContactRules:
    """Which contacts are attended, treatment sessions or assessments (docs/measures.md §1)."""

    attended_codes: tuple[str, ...]
    unplanned_indicator: str
    treatment_app_types: tuple[str, ...]
    assessment_app_types: tuple[str, ...]
    employment_support_codes: tuple[str, ...]
    exclude_employment_support_only: bool
    iet_min_duration_exclusive: int
    #: treatment sessions a discharged pathway needs to have finished treatment
    min_treatment_sessions: int


@dataclass(frozen=True)
class ScoreRules:
    """How scores are reduced and compared (docs/measures.md §1 Scores, §4)."""

    same_day_rule: str
    strict_comparison: bool
    min_paired_days: int
    depression_measure: str
    default_anxiety_measure: str
    #: ``mapped``: ADSM and its scores are the problem descriptor's measure, even when unused;
    #: ``used``: the anxiety measure actually used (GAD-7 when the pathway falls back), as in NHS
    #: files (docs/measures.md §5.12)
    adsm_fields: str = "mapped"


@dataclass(frozen=True)
class ProblemRule:
    """One PresComp -> problem descriptor rule (docs/measures.md §4); first match wins."""

    category: str
    prefixes: tuple[str, ...]
    codes: tuple[str, ...]
    adsm: str | None
    source: str

    def matches(self, normalised_code: str) -> bool:
        """Whether a normalised PresComp (upper case, no dots) matches this rule."""
        return normalised_code in self.codes or normalised_code.startswith(self.prefixes or ("\0",))


@dataclass(frozen=True)
class ProblemRules:
    """The IDS603 record choice and the problem-descriptor mapping (docs/measures.md §1, §4)."""

    ids603_tiebreak: tuple[str, ...]
    unspecified: str
    other: str
    rules: tuple[ProblemRule, ...]
    #: regular expressions of a valid normalised PresComp; empty: any non-null code is valid.
    #: With patterns, an invalid code ranks like a null one and is grouped as ``unspecified``.
    valid_codes: tuple[str, ...] = ()

    def categorise(self, pres_comp: str | None) -> str:
        """Map one PresComp code to its problem descriptor.

        Examples
        --------
        >>> from iaptkit.definitions import load_definitions
        >>> rules = load_definitions().problems
        >>> rules.categorise("F41.1"), rules.categorise("f400"), rules.categorise(None)
        ('Generalised anxiety disorder', 'Agoraphobia', 'Unspecified')
        """
        if pres_comp is None:
            return self.unspecified
        code = normalise_code(pres_comp)
        for rule in self.rules:
            if rule.matches(code):
                return rule.category
        return self.other

    def adsm_for(self, category: str) -> str | None:
        """The ADSM value (measure key) of a problem descriptor, or ``None`` (GAD-7)."""
        for rule in self.rules:
            if rule.category == category:
                return rule.adsm
        return None


def normalise_code(code: str) -> str:
    """Upper-case a PresComp code and drop dots and spaces (docs/measures.md §1).

    Examples
    --------
    >>> normalise_code(" f41.1 ")
    'F411'
    """
    return code.upper().replace(".", "").replace(" ", "")


@dataclass(frozen=True)
class AgeBand:
    """An inclusive age band; ``maximum`` ``None`` means no upper bound."""

    label: str
    minimum: int
    maximum: int | None


@dataclass(frozen=True)
class BreakdownRules:
    """Labels of the breakdown attributes (docs/measures.md §3)."""

    unknown: str
    age_bands: tuple[AgeBand, ...]
    age_unknown: str
    gender: Mapping[str, str]
    gender_other: str
    ethnic_groups: Mapping[str, tuple[str, ...]]
    ethnic_other: str
    imd_min: int
    imd_max: int
    imd_unknown: str
    #: ``referral`` (Age_ReferralRequest_ReceivedDate) or ``period-end`` (IDS001 Age_RP_EndDate
    #: where the extract has it, else the age at referral)
    age_at: str = "referral"
    #: decile (text) -> published label; ``None``: the decile number itself
    imd_labels: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Definitions:
    """All measure definitions, from one versioned YAML file.

    Examples
    --------
    >>> from iaptkit.definitions import load_definitions
    >>> d = load_definitions()
    >>> d.measure_for_tool("720433000").name
    'PHQ-9'
    >>> d.measures["AgoraAlone"].rc_threshold
    Decimal('0.73')
    """

    version: str
    title: str
    path: str
    measures: Mapping[str, ScoreMeasure]
    contacts: ContactRules
    scores: ScoreRules
    problems: ProblemRules
    breakdowns: BreakdownRules
    wait_thresholds_days: tuple[int, ...]
    first_to_second_max_days: int
    #: code lists and choices of the NHS measure families (docs/measures.md §5)
    catalogue: CatalogueRules

    @property
    def tool_measures(self) -> Mapping[str, ScoreMeasure]:
        """Each CodedAssToolType of a measure -> that measure, in the measures' order.

        The one list of the tool codes that are scores: the derivation's score filter, the
        row ledger's score reasons and :meth:`measure_for_tool` all read it. A code belongs
        to one measure (the definitions file is refused otherwise).

        Examples
        --------
        >>> from iaptkit.definitions import load_definitions
        >>> tools = load_definitions().tool_measures
        >>> tools["720433000"].key, len(tools) >= 2
        ('PHQ9', True)
        """
        return MappingProxyType({c: m for m in self.measures.values() for c in m.tool_codes})

    def measure_for_tool(self, code: str) -> ScoreMeasure | None:
        """The measure whose CodedAssToolType list holds ``code`` (trimmed), or ``None``."""
        return self.tool_measures.get(code.strip())

    @property
    def depression(self) -> ScoreMeasure:
        """The depression measure (PHQ-9)."""
        return self.measures[self.scores.depression_measure]

    @property
    def default_anxiety(self) -> ScoreMeasure:
        """The anxiety measure used when no usable ADSM is paired (GAD-7)."""
        return self.measures[self.scores.default_anxiety_measure]

    @property
    def adsm_keys(self) -> tuple[str, ...]:
        """Every ADSM value the problem-descriptor rules can give, in rule order."""
        keys = [r.adsm for r in self.problems.rules if r.adsm is not None]
        return tuple(dict.fromkeys(keys))
