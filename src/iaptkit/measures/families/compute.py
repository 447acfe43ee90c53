"""Computing the catalogue families of one set of pathways: join, cohorts, counts.

:func:`pathway_family_counts` takes a pathway table already derived as at the period end and
adds what it lacks from the extract: the referral's EndCode and source of referral (as-at row;
``SourceOfReferralIAPT`` of v2.1 extracts is read when present, else ``SourceOfReferralMH``) and
the per-pathway activity counts (:mod:`~iaptkit.measures.families.activity`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from iaptkit.data.schema import month_id
from iaptkit.definitions import Definitions
from iaptkit.measures.catalogue import MISSING_GROUP
from iaptkit.measures.families.activity import ACTIVITY_COLUMNS, pathway_activity
from iaptkit.measures.families.cohorts import cohort_table
from iaptkit.measures.families.cohorts8 import EXTRA_INPUT_COLUMNS
from iaptkit.measures.families.conditions import pathway_ltc, pathway_wsas
from iaptkit.measures.families.counts import FamilyCounts, family_counts
from iaptkit.measures.families.employment import pathway_employment
from iaptkit.measures.families.intensity import pathway_intensity
from iaptkit.measures.families.reads import FAMILY_PARTS, parts_read
from iaptkit.measures.pathway_schema import BREAKDOWN_COLUMNS
from iaptkit.measures.sources import PathwaySource, split_source

__all__ = ["pathway_family_counts", "stock_providers"]

#: The columns the cohorts read (docs/measures.md §5), besides the group columns.
_INPUT_COLUMNS = frozenset(
    {
        "PathwayID",
        "provider",
        "ReferralRequestReceivedDate",
        "ServDischDate",
        "Assessment_FirstDate",
        "TherapySession_FirstDate",
        "TherapySession_SecondDate",
        "TherapySession_LastDate",
        "TreatmentCareContact_Count",
        "CompletedTreatment_Flag",
        # NHS's published at-caseness count (family 0)
        "NotCaseness_Flag",
        "PHQ9_FirstScore",
        "GAD_FirstScore",
        "ADSM",
        "ADSM_FirstScore",
        "ADSM_LastScore",
        "EndCode",
        "SourceOfReferral",
        *ACTIVITY_COLUMNS,
        *EXTRA_INPUT_COLUMNS,
    }
)


def stock_providers(source: PathwaySource, end: date, defs: Definitions) -> tuple[str, ...] | None:
    """Providers with a counted submission in ``end``'s month (``reporting-month`` rule only).

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> from iaptkit.definitions import load_definitions
    >>> stock_providers(example_extract(), date(2024, 6, 30), load_definitions()) is None
    True
    """
    if defs.catalogue.stock_rule != "reporting-month":
        return None
    extract, _ = split_source(source)
    s = extract.submissions()
    month = s.filter(s.counted & (s.Unique_MonthID == month_id(end)))
    # the submission index holds ODS codes as typed: trimmed, upper case
    frame = month.select(p=month.OrgID_Provider.cast("string")).distinct().execute()
    return tuple(sorted(str(p) for p in frame["p"].dropna()))


def _referral_fields(source: PathwaySource, end: date) -> ir.Table:
    extract, where = split_source(source)
    refs = extract.referrals_as_at(end, nhs_fields=False, where=where)
    sources = [c for c in ("SourceOfReferralIAPT", "SourceOfReferralMH") if c in refs.columns]
    src: Any = ibis.null("string")
    if len(sources) == 1:
        src = refs[sources[0]].cast("string")
    elif sources:
        src = ibis.coalesce(*(refs[c].cast("string").nullif("") for c in sources))
    return refs.select(
        _rP=refs.PathwayID,
        EndCode=refs.EndCode.cast("string") if "EndCode" in refs.columns else ibis.null("string"),
        SourceOfReferral=src,
        _R=refs.ReferralRequestReceivedDate,
        _D=refs.ServDischDate,
    )


def _with_people_fields(
    source: PathwaySource,
    t: ir.Table,
    refs: ir.Table,
    end: date,
    defs: Definitions,
    wanted: frozenset[str],
) -> ir.Table:
    """``t`` with the per-pathway inputs of family 7's intensities and family 8 (left joins).

    Only the ``wanted`` parts (:data:`~iaptkit.measures.families.reads.PART_TABLES`) are
    joined; the cohorts read the columns of the others as nulls (families not computed).
    """
    window = refs.select(
        PathwayID=refs._rP, ReferralRequestReceivedDate=refs._R, ServDischDate=refs._D
    )
    parts = []
    if "intensity" in wanted:
        parts.append(pathway_intensity(source, window, end, defs))
    if "employment" in wanted:
        parts.append(pathway_employment(source, window, end, defs))
    if "ltc" in wanted:
        parts.append(pathway_ltc(source, end, defs))
    if "wsas" in wanted:
        parts.append(pathway_wsas(source, window, end, defs))
    for k, part in enumerate(parts):
        key = f"_x{k}P"
        part = part.rename(**{key: "PathwayID"})
        t = t.left_join(part, t.PathwayID == part[key]).drop(key)
    return t


def pathway_family_counts(
    source: PathwaySource,
    pathways: ir.Table,
    start: date,
    end: date,
    breakdowns: tuple[tuple[str, ...], ...],
    defs: Definitions,
    providers: tuple[str, ...] | None = None,
    families: tuple[int, ...] | None = None,
) -> FamilyCounts:
    """Totals and histograms of families 1-8 for the pathways of ``source``.

    ``families``: the families whose counts are wanted (``None``: every family). Only the
    per-pathway parts they read (:data:`~iaptkit.measures.families.reads.FAMILY_PARTS`) are
    computed; the counts of the other families are then meaningless and must not be shown.

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> from iaptkit.measures.derive import pathway_table
    >>> from iaptkit.definitions import load_definitions
    >>> ex, E, defs = example_extract(), date(2024, 6, 30), load_definitions()
    >>> fc = pathway_family_counts(ex, pathway_table(ex, E, defs), date(2024, 4, 1), E,
    ...                            (("england",),), defs)
    >>> int(fc.totals["entered_treatment"].iloc[0]), int(fc.totals["appointments"].iloc[0])
    (1, 4)
    """
    wanted = parts_read(FAMILY_PARTS if families is None else families)
    refs = _referral_fields(source, end)
    t = pathways.left_join(refs.drop("_R", "_D"), pathways.PathwayID == refs._rP)
    if "activity" in wanted:
        activity = pathway_activity(
            source,
            refs.select(
                PathwayID=refs._rP, ReferralRequestReceivedDate=refs._R, ServDischDate=refs._D
            ),
            start,
            end,
            defs,
        ).rename(_aP="PathwayID")
        t = t.left_join(activity, t.PathwayID == activity._aP)
    else:
        t = t.mutate(**{c: ibis.literal(0, type="int64") for c in ACTIVITY_COLUMNS})
    t = _with_people_fields(source, t, refs, end, defs, wanted)
    groups: dict[str, Any] = {}
    for parts in breakdowns:
        for p in parts:
            col = BREAKDOWN_COLUMNS[p]
            if col is None:
                groups[f"g_{p}"] = ibis.literal("England")
            else:
                groups[f"g_{p}"] = t[col].cast("string").fill_null(MISSING_GROUP)
    t = t.mutate(**groups)
    t = t.mutate(**{c: t[c].fill_null(0) for c in ACTIVITY_COLUMNS})
    if "provider" not in t.columns:
        t = t.mutate(provider=ibis.literal(MISSING_GROUP))
    # materialise the narrow joined input once: the cohort expressions then compile over a
    # plain table, not over the whole derivation graph (ibis compile time grows with both)
    keep = [c for c in t.columns if c in _INPUT_COLUMNS or c.startswith("g_")]
    joined = t.select(*keep).cache()
    try:
        cohorts = cohort_table(joined, start, end, defs, stock_providers=providers)
        return family_counts(cohorts, breakdowns)
    finally:
        joined.release()
