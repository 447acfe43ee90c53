"""Per-pathway long-term condition status and WSAS scores for family 8 (docs/measures.md §5.10).

**Long-term condition**: from the optional IDS602 table (PathwayID, LongTermCondition), as at E:
any code of ``catalogue.long_term_conditions`` makes the pathway ``ltc``; else any code of
``catalogue.no_long_term_condition`` makes it ``no_ltc``; else (no row, other codes) it is
not stated.

**WSAS**: scores of the five dimensions (``catalogue.wsas_items``) from IDS606 (dated
AssToolCompDate) and IDS607 (dated by the parent contact), excluding IDS607 scores recorded in
an employment-support care activity ("employment support appointments have been excluded").
A score is a whole number 0-8 (work 9 means not applicable, not a score) dated in the window.
As for the other measures, one score per day (the highest); the first score is the earliest
day's, the last the latest day's, and a dimension is paired when scores exist on two different
days **(choice)**.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from iaptkit.data.text import strip_blanks
from iaptkit.definitions import Definitions
from iaptkit.measures.contacts import in_window, window_bounds
from iaptkit.measures.families.specs import WSAS_DIMENSIONS
from iaptkit.measures.scores import parse_score
from iaptkit.measures.sources import PathwaySource, split_source

__all__ = ["LTC_COLUMNS", "WSAS_COLUMNS", "pathway_ltc", "pathway_wsas"]

#: The per-pathway column of :func:`pathway_ltc`.
LTC_COLUMNS: tuple[str, ...] = ("ltc_status",)
#: The per-pathway columns of :func:`pathway_wsas` (the last score is null unless paired).
WSAS_COLUMNS: tuple[str, ...] = tuple(
    f"wsas_{d}_{end}" for d in WSAS_DIMENSIONS for end in ("first", "last")
)


def pathway_ltc(source: PathwaySource, end: date, defs: Definitions) -> ir.Table:
    """Per PathwayID with an IDS602 row: ``ltc_status`` ``ltc``, ``no_ltc`` or null (lazy).

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> from iaptkit.definitions import load_definitions
    >>> len(pathway_ltc(example_extract(), date(2024, 6, 30), load_definitions()).execute())
    0
    """
    extract, where = split_source(source)
    rows = extract.activity_as_at("IDS602LongTermCondition", end, where=where)
    code = strip_blanks(rows.LongTermCondition.cast("string"))
    cat = defs.catalogue
    per = rows.group_by("PathwayID").aggregate(
        _ltc=code.isin(cat.long_term_conditions).fill_null(False).ifelse(1, 0).max(),
        _no=code.isin(cat.no_long_term_condition).fill_null(False).ifelse(1, 0).max(),
    )
    status = ibis.cases(
        (per._ltc == 1, ibis.literal("ltc")),
        (per._no == 1, ibis.literal("no_ltc")),
        else_=ibis.null("string"),
    )
    return per.select("PathwayID", ltc_status=status)


def _is_wsas_score(score: ir.DecimalValue) -> ir.BooleanValue:
    """A WSAS item score: a whole number from 0 to 8 (docs/measures.md, family 8)."""
    return (score >= 0) & (score <= 8) & (score == score.floor())


def _wsas_score_row(rows: ir.Table) -> ir.BooleanValue:
    """Predicate: the row's PersScore is a WSAS item score (its tool is filtered before)."""
    return _is_wsas_score(parse_score(rows.PersScore.cast("string"))).coalesce(ibis.literal(False))


def _wsas_rows(source: PathwaySource, end: date, defs: Definitions) -> ir.Table:
    """IDS606 and clinical IDS607 rows of a WSAS tool: PathwayID, tool, score, day."""
    extract, where = split_source(source)
    tools = tuple(defs.catalogue.wsas_items.values())

    def wsas_only(rows: ir.Table) -> ir.Table:
        # before the de-duplication: CodedAssToolType is part of both tables' activity key, so
        # the filter keeps or drops whole records and the rows kept are the same as filtering
        # afterwards, without de-duplicating every other tool's rows first
        rows = where(rows) if where is not None else rows
        return rows.filter(strip_blanks(rows.CodedAssToolType).isin(tools))

    refer = extract.activity_as_at("IDS606CodedScoreAssessmentRefer", end, where=wsas_only)
    # an invalid row of an activity must not hide its valid one (as for the scores of
    # measures.scores.valid_score_row): only WSAS scores take part in the de-duplication
    act = extract.activity_as_at(
        "IDS607CodedScoreAssessmentAct", end, where=wsas_only, keep=_wsas_score_row
    )
    activities = extract.activity_as_at("IDS202CareActivity", end, where=where)
    contacts = extract.activity_as_at("IDS201CareContact", end, where=where)
    es = strip_blanks(activities.CodeProcAndProcStatus).isin(
        defs.contacts.employment_support_codes or ("",)
    )
    parents = activities.filter(~es.fill_null(False)).select(
        _aP=activities.PathwayID, _aA=activities.CareActId, _aC=activities.CareContactId
    )
    dates = contacts.select(
        _cP=contacts.PathwayID, _cC=contacts.CareContactId, _cD=contacts.CareContDate
    )
    dated = parents.inner_join(dates, (parents._aP == dates._cP) & (parents._aC == dates._cC))
    a = act.inner_join(dated, (act.PathwayID == dated._aP) & (act.CareActId == dated._aA))
    from_act = a.select(PathwayID=a.PathwayID, tool=a.CodedAssToolType, raw=a.PersScore, day=a._cD)
    from_refer = refer.select(
        PathwayID=refer.PathwayID,
        tool=refer.CodedAssToolType,
        raw=refer.PersScore,
        day=refer.AssToolCompDate,
    )
    return from_refer.union(from_act, distinct=False)


def pathway_wsas(
    source: PathwaySource, referrals: ir.Table, end: date, defs: Definitions
) -> ir.Table:
    """Per PathwayID with a WSAS score: first and last score of each dimension (lazy).

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> from iaptkit.definitions import load_definitions
    >>> ex, E = example_extract(), date(2024, 6, 30)
    >>> len(pathway_wsas(ex, ex.referrals_as_at(E), E, load_definitions()).execute())
    0
    """
    rows = _wsas_rows(source, end, defs)
    score = parse_score(rows.raw.cast("string"))
    bounds = window_bounds(referrals).rename(_bP="PathwayID")
    t = rows.mutate(score=score).inner_join(bounds, rows.PathwayID == bounds._bP)
    whole = _is_wsas_score(t.score)
    t = t.filter(whole.fill_null(False) & in_window(t.day, t._R, t._D, end))
    t = t.mutate(tool=strip_blanks(t.tool))
    days = t.group_by(["PathwayID", "tool", "day"]).aggregate(score=t.score.max().cast("int64"))
    # one row per scoring day, so the earliest and latest days are unique: arg_min / arg_max
    # (min_by / max_by on Spark) are deterministic, and an aggregate, not two sorts
    r = days.group_by(["PathwayID", "tool"]).aggregate(
        _first=days.score.argmin(days.day),
        _last=days.score.argmax(days.day),
        _n=days.day.count(),
    )
    cols: dict[str, Any] = {}
    for dim, code in defs.catalogue.wsas_items.items():
        if dim not in WSAS_DIMENSIONS:
            continue
        is_dim = r.tool == code
        cols[f"wsas_{dim}_first"] = ibis.ifelse(is_dim, r._first, None).max()
        cols[f"wsas_{dim}_last"] = ibis.ifelse(is_dim & (r._n >= 2), r._last, None).max()
    out = r.group_by("PathwayID").aggregate(**cols)
    return out.select("PathwayID", *(c for c in WSAS_COLUMNS if c in out.columns))
