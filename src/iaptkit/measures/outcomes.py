"""Outcome flags: caseness, recovery, reliable change (docs/measures.md §1 Anxiety measure, flags).

Every comparison is ``score <op> threshold`` in exact decimal arithmetic with the measure's
threshold and operator from the definitions file (``case(m, x)`` and ``rc(m, d)``).
"""

from __future__ import annotations

from decimal import Decimal

import ibis
import ibis.expr.types as ir

from iaptkit.definitions import Definitions, ScoreMeasure
from iaptkit.measures.pathway_schema import SCORE_TYPE
from iaptkit.measures.scores import decimal_literal

__all__ = ["add_outcome_flags", "compare", "usable_adsm_keys"]


def compare(x: ir.NumericValue, op: str, threshold: Decimal | None) -> ir.BooleanValue:
    """``x <op> threshold`` as an exact decimal comparison (null when no threshold).

    Examples
    --------
    >>> t = ibis.memtable({"a": ["2.30"], "b": ["1.57"]}).cast({"a": SCORE_TYPE, "b": SCORE_TYPE})
    >>> ibis.duckdb.connect().execute(compare(t.a - t.b, ">=", Decimal("0.73"))).tolist()
    [True]
    """
    if threshold is None:
        return ibis.null("boolean")
    limit = decimal_literal(threshold)
    return x >= limit if op == ">=" else x > limit


def _case(m: ScoreMeasure, x: ir.NumericValue) -> ir.BooleanValue:
    return compare(x, m.case_operator, m.case_threshold)


def _rc(m: ScoreMeasure, d: ir.NumericValue) -> ir.BooleanValue:
    return compare(d, m.rc_operator, m.rc_threshold)


def usable_adsm_keys(defs: Definitions) -> tuple[str, ...]:
    """ADSM values whose caseness and reliable-change thresholds are both published.

    Notes
    -----
    docs/measures.md §4: an ADSM without published thresholds cannot be used for outcomes.

    Examples
    --------
    >>> from iaptkit.definitions import load_definitions
    >>> keys = usable_adsm_keys(load_definitions())
    >>> "BIQ" in keys, "PTSD" in keys
    (False, True)
    """
    return tuple(k for k in defs.adsm_keys if defs.measures[k].thresholds_published)


def _by_adsm(adsm: ir.StringValue, defs: Definitions, build: object) -> ir.BooleanValue:
    branches = [
        (adsm == key, build(defs.measures[key]))  # type: ignore[operator]
        for key in usable_adsm_keys(defs)
    ]
    if not branches:
        return ibis.null("boolean")
    return ibis.cases(*branches, else_=ibis.null("boolean"))


def add_outcome_flags(t: ir.Table, defs: Definitions) -> ir.Table:
    """Add the anxiety-measure choice and the outcome flags to a wide pathway table.

    ``t`` needs CompletedTreatment_Flag, PHQ9_FirstScore, PHQ9_LastScore, GAD_FirstScore,
    GAD_LastScore, ADSM, ADSM_FirstScore, ADSM_LastScore. Adds ``anxiety_measure`` (the ADSM
    value used, or the default anxiety measure's key) and the outcome flags
    (:data:`iaptkit.measures.pathway_schema.FLAG_COLUMNS`; never null,
    false unless CompletedTreatment_Flag).

    Notes
    -----
    docs/measures.md §1 (NHS Digital, "A guide to IAPT data and publications", 2021, §6.6-6.7,
    §7.7): the anxiety measure is the ADSM when ProblemDescriptor maps to one, its thresholds are
    published and it is paired, else GAD-7. Caseness at start = case(PHQ-9, first) or
    case(anx, first); NotCaseness = both firsts present and neither a case; Paired = PHQ-9 and
    anx paired; Recovery = caseness, paired, neither last a case; improvement/deterioration
    exclude each other; NoChange = paired and neither; ReliableRecovery = Recovery and
    ReliableImprovement.

    Examples
    --------
    >>> from iaptkit.definitions import load_definitions
    >>> t = ibis.memtable({"CompletedTreatment_Flag": [True], "PHQ9_FirstScore": ["15"],
    ...     "PHQ9_LastScore": ["6"], "GAD_FirstScore": ["12"], "GAD_LastScore": ["5"],
    ...     "ADSM": [None], "ADSM_FirstScore": [None], "ADSM_LastScore": [None]})
    >>> t = t.cast({c: SCORE_TYPE for c in t.columns if c.endswith("Score")} | {"ADSM": "string"})
    >>> out = ibis.duckdb.connect().execute(add_outcome_flags(t, load_definitions()))
    >>> out[["anxiety_measure", "Recovery_Flag", "ReliableRecovery_Flag"]].values.tolist()
    [['GAD7', True, True]]
    """
    phq = defs.depression
    gad = defs.default_anxiety
    false = ibis.literal(False)
    use_adsm = (t.ADSM.isin(usable_adsm_keys(defs) or ("",)) & t.ADSM_LastScore.notnull()).coalesce(
        false
    )
    t = t.mutate(
        anxiety_measure=ibis.ifelse(use_adsm, t.ADSM, ibis.literal(gad.key)),
        _anx_first=ibis.ifelse(use_adsm, t.ADSM_FirstScore, t.GAD_FirstScore).cast(SCORE_TYPE),
        _anx_last=ibis.ifelse(use_adsm, t.ADSM_LastScore, t.GAD_LastScore).cast(SCORE_TYPE),
    )
    a, af, al = t.ADSM, t._anx_first, t._anx_last
    pf, pl = t.PHQ9_FirstScore, t.PHQ9_LastScore

    def anx(build_adsm: object, build_gad: ir.BooleanValue) -> ir.BooleanValue:
        return ibis.ifelse(use_adsm, _by_adsm(a, defs, build_adsm), build_gad)

    anx_case_first = anx(lambda m: _case(m, af), _case(gad, af))
    anx_case_last = anx(lambda m: _case(m, al), _case(gad, al))
    anx_improves = anx(lambda m: _rc(m, af - al), _rc(gad, af - al))
    anx_worsens = anx(lambda m: _rc(m, al - af), _rc(gad, al - af))
    phq_case_first = _case(phq, pf)
    phq_case_last = _case(phq, pl)
    phq_improves = _rc(phq, pf - pl)
    phq_worsens = _rc(phq, pl - pf)

    completed = t.CompletedTreatment_Flag.coalesce(false)
    paired = (pl.notnull() & al.notnull()).coalesce(false)
    caseness = phq_case_first.coalesce(false) | anx_case_first.coalesce(false)
    not_caseness = (pf.notnull() & af.notnull() & ~phq_case_first & ~anx_case_first).coalesce(false)
    recovery = (caseness & paired & ~phq_case_last & ~anx_case_last).coalesce(false)
    improves = phq_improves.coalesce(false) | anx_improves.coalesce(false)
    worsens = phq_worsens.coalesce(false) | anx_worsens.coalesce(false)
    improvement = paired & improves & ~worsens
    deterioration = paired & worsens & ~improves
    no_change = paired & ~improvement & ~deterioration
    t = t.mutate(
        NotCaseness_Flag=completed & not_caseness,
        Recovery_Flag=completed & recovery,
        ReliableImprovement_Flag=completed & improvement,
        NoChange_Flag=completed & no_change,
        ReliableDeterioration_Flag=completed & deterioration,
        ReliableRecovery_Flag=completed & recovery & improvement,
    )
    if defs.scores.adsm_fields == "used":
        # NHS files: the ADSM fields describe the anxiety measure actually used, so a pathway
        # that falls back to GAD-7 (and has a GAD-7 score) carries GAD7 and its scores; one
        # without any GAD-7 score keeps the mapped fields (NHS's rule is not published)
        fallback = (~use_adsm & t.GAD_FirstScore.notnull()).coalesce(false)
        t = t.mutate(
            ADSM=ibis.ifelse(fallback, ibis.literal(gad.key), t.ADSM),
            ADSM_FirstScore=ibis.ifelse(fallback, t.GAD_FirstScore, t.ADSM_FirstScore),
            ADSM_LastScore=ibis.ifelse(fallback, t.GAD_LastScore, t.ADSM_LastScore),
        )
    return t.drop("_anx_first", "_anx_last")
