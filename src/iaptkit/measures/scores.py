"""Scores: parsing, validity, dating, one score per day, first and last
(docs/measures.md §1 Scores).

Scores are parsed from text to an exact decimal (:data:`SCORE_TYPE`, decimal(12,4)) with a
regular-expression guard and ``try_cast``: never floats, never integers. A row that is not a
score of any measure is counted under a reason (:data:`SCORE_REASONS`), never silently lost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import ibis
import ibis.expr.types as ir

from iaptkit.data.parsing import SCORE_PATTERN
from iaptkit.data.text import strip_blanks
from iaptkit.definitions import Definitions, ScoreMeasure
from iaptkit.measures.contacts import in_window, window_bounds
from iaptkit.measures.pathway_schema import SCORE_TYPE
from iaptkit.measures.sources import ActivitySource

__all__ = [
    "SCORE_PATTERN",
    "SCORE_REASONS",
    "classified_scores",
    "decimal_literal",
    "parse_score",
    "score_summary",
    "valid_score_row",
]

#: Why an IDS606/IDS607 row is not a score, checked in this order.
SCORE_REASONS: tuple[str, ...] = (
    "score_no_pathway",
    "scores_unknown_tool",
    "score_unparseable",
    "score_out_of_range",
    "score_not_integer",
    "score_undated",
    "score_outside_window",
)


def decimal_literal(value: object) -> ir.DecimalScalar:
    """An exact decimal literal of :data:`SCORE_TYPE` (from a Decimal, int or text).

    Notes
    -----
    docs/measures.md §1: thresholds and scores are compared exactly, in decimal arithmetic.

    Examples
    --------
    >>> ibis.duckdb.connect().execute(decimal_literal("0.73") * 100)
    Decimal('73.0000')
    """
    return ibis.literal(str(value)).cast(SCORE_TYPE)


def parse_score(raw: ir.StringValue) -> ir.DecimalValue:
    """Parse PersScore text to decimal(12,4); null when it is not a plain decimal number.

    Notes
    -----
    docs/measures.md §1 Scores: a PersScore that does not parse as a number is not a score. Only
    plain decimals (:data:`SCORE_PATTERN`) are accepted, so both engines agree on what parses.

    Examples
    --------
    >>> t = ibis.memtable({"s": [" 2.30", "1e1", "x", "12"]})
    >>> [str(v) for v in ibis.duckdb.connect().execute(parse_score(t.s))]
    ['2.3000', 'None', 'None', '12.0000']
    """
    text = strip_blanks(raw)
    return ibis.ifelse(
        text.re_search(SCORE_PATTERN).coalesce(ibis.literal(False)),
        text.try_cast(SCORE_TYPE),
        ibis.null(SCORE_TYPE),
    )


def _measure_key(tool: ir.StringValue, defs: Definitions) -> ir.StringValue:
    code = strip_blanks(tool)
    branches = [(code.isin(m.tool_codes), ibis.literal(m.key)) for m in defs.measures.values()]
    return ibis.cases(*branches, else_=ibis.null("string"))


def _by_tool(
    code: ir.StringValue, branches: list[tuple[tuple[str, ...], ir.DecimalScalar]]
) -> ir.DecimalValue:
    """The value of the first branch whose tool codes contain ``code`` (null if none)."""
    cases = [(code.isin(codes), value) for codes, value in branches]
    return ibis.cases(*cases, else_=ibis.null(SCORE_TYPE))


def _whole_numbers(code: ir.StringValue, measures: tuple[ScoreMeasure, ...]) -> ir.BooleanValue:
    """Whether the measure of the tool code takes whole-number scores only (false if none)."""
    whole = [m.tool_codes for m in measures if m.whole_numbers]
    codes = sorted({c for codes in whole for c in codes})
    return code.isin(codes).coalesce(ibis.literal(False)) if codes else ibis.literal(False)


def valid_score_row(defs: Definitions) -> Callable[[ir.Table], ir.BooleanValue]:
    """Predicate: the row's CodedAssToolType is a measure's and its PersScore is a score of it.

    A score of a measure parses, is in the measure's valid range and, for a whole-number
    measure (``ScoreMeasure.whole_numbers``), is an integer.

    Notes
    -----
    docs/measures.md §1 Scores: an invalid row is not a score, so it must not hide a valid
    row of the same activity: the IDS607 de-duplication (one row per PathwayID, CareActId,
    CodedAssToolType) prefers a row this predicate holds for, and only then the latest.

    Examples
    --------
    >>> from iaptkit.definitions import load_definitions
    >>> t = ibis.memtable({"CodedAssToolType": ["720433000"] * 4,
    ...                    "PersScore": ["-1", "12a", "7.5", "12.0"]})
    >>> ibis.duckdb.connect().execute(valid_score_row(load_definitions())(t)).tolist()
    [False, False, False, True]
    """
    measures = tuple(defs.measures.values())

    def predicate(rows: ir.Table) -> ir.BooleanValue:
        code = strip_blanks(rows.CodedAssToolType)
        score = parse_score(rows.PersScore)
        lo = _by_tool(code, [(m.tool_codes, decimal_literal(m.valid_min)) for m in measures])
        hi = _by_tool(code, [(m.tool_codes, decimal_literal(m.valid_max)) for m in measures])
        whole = ~_whole_numbers(code, measures) | (score == score.floor())
        return (score.between(lo, hi) & whole).coalesce(ibis.literal(False))

    return predicate


def _known_tool_row(defs: Definitions) -> Callable[[ir.Table], ir.BooleanValue]:
    """Predicate: the row's CodedAssToolType is a tool code of one of the measures."""
    codes = sorted(defs.tool_measures)

    def predicate(rows: ir.Table) -> ir.BooleanValue:
        return strip_blanks(rows.CodedAssToolType).isin(codes).coalesce(ibis.literal(False))

    return predicate


def _dated_scores(
    extract: ActivitySource,
    as_at: date,
    defs: Definitions,
    pathways: ir.Table | None = None,
    *,
    valid_only: bool = False,
) -> ir.Table:
    """IDS606 and IDS607 rows with their date (IDS607 via IDS202 -> IDS201 CareContDate).

    ``valid_only``: only the rows whose tool code is a measure's (the others have a reason).
    """
    valid = valid_score_row(defs)
    if valid_only:
        # rows of other tools (questionnaire items, other measures) left out before the
        # de-duplication, by a cheap test of the tool code: a much smaller sort, and the same
        # valid rows (the tool code is part of every score record's key; the rows left out
        # are counted by the row ledger, data.exclusion_rows)
        known = _known_tool_row(defs)
        refer = extract.activity_as_at(
            "IDS606CodedScoreAssessmentRefer", as_at, pathways=pathways, keep=known
        )
        act = extract.activity_as_at(
            "IDS607CodedScoreAssessmentAct", as_at, pathways=pathways, keep=known, prefer=valid
        )
    else:
        refer = extract.activity_as_at("IDS606CodedScoreAssessmentRefer", as_at, pathways=pathways)
        act = extract.activity_as_at(
            "IDS607CodedScoreAssessmentAct", as_at, pathways=pathways, prefer=valid
        )
    activities = extract.activity_as_at("IDS202CareActivity", as_at)
    contacts = extract.activity_as_at("IDS201CareContact", as_at)
    if pathways is not None:
        # only these pathways' IDS607 rows are dated: only their activities and contacts
        wanted = pathways.select(_wP=pathways.PathwayID)
        activities = activities.semi_join(wanted, activities.PathwayID == wanted._wP)
        contacts = contacts.semi_join(wanted, contacts.PathwayID == wanted._wP)
    parents = activities.select(
        _aP=activities.PathwayID, _aA=activities.CareActId, _aC=activities.CareContactId
    )
    dates = contacts.select(
        _cP=contacts.PathwayID, _cC=contacts.CareContactId, _cD=contacts.CareContDate
    )
    # date each activity first (IDS202 -> IDS201, one row per activity), then each IDS607 row:
    # the same rows as joining IDS607 to IDS202 and then to IDS201, with smaller join inputs
    dated = parents.left_join(dates, (parents._aP == dates._cP) & (parents._aC == dates._cC))
    dated = dated.select("_aP", "_aA", "_cD")
    a = act.left_join(dated, (act.PathwayID == dated._aP) & (act.CareActId == dated._aA))
    from_act = a.select(
        source_table=ibis.literal("IDS607CodedScoreAssessmentAct"),
        PathwayID=a.PathwayID,
        CodedAssToolType=a.CodedAssToolType,
        PersScore=a.PersScore,
        score_date=a._cD,
    )
    from_refer = refer.select(
        source_table=ibis.literal("IDS606CodedScoreAssessmentRefer"),
        PathwayID=refer.PathwayID,
        CodedAssToolType=refer.CodedAssToolType,
        PersScore=refer.PersScore,
        score_date=refer.AssToolCompDate,
    )
    return from_refer.union(from_act, distinct=False)


def classified_scores(
    extract: ActivitySource,
    referrals: ir.Table,
    as_at: date,
    defs: Definitions,
    pathways: ir.Table | None = None,
    *,
    valid_only: bool = False,
) -> ir.Table:
    """Every IDS606/IDS607 row as at E with its measure, parsed score, date and ``reason``.

    Columns: source_table, PathwayID, measure, score (decimal(12,4)), score_date, reason
    (null for a valid score, else the first of :data:`SCORE_REASONS` that applies). With
    ``pathways`` (a table with a PathwayID column), only the rows of these pathways. With
    ``valid_only``, only the rows of a measure's tool codes (none of reason
    ``scores_unknown_tool``): the same valid rows, for less work.

    Notes
    -----
    docs/measures.md §1 Scores: a score has a CodedAssToolType of a measure, a PersScore that parses
    as a number inside the measure's valid range (§4) and a date in the window; IDS607 scores
    are dated by the parent contact's CareContDate whether or not the contact was attended.

    Examples
    --------
    >>> from datetime import date
    >>> from iaptkit.measures.examples import example_extract
    >>> from iaptkit.definitions import load_definitions
    >>> ex, E, defs = example_extract(), date(2024, 6, 30), load_definitions()
    >>> s = classified_scores(ex, ex.referrals_as_at(E), E, defs).execute()
    >>> sorted(s.measure), s.reason.isna().all()
    (['GAD7', 'GAD7', 'PHQ9', 'PHQ9'], np.True_)
    """
    rows = _dated_scores(extract, as_at, defs, pathways, valid_only=valid_only)
    # Trim, look up and parse ONCE, in a projection under the join: the join keeps ibis from
    # fusing (and so repeating) these expressions into every branch of the reason below.
    code = strip_blanks(rows.CodedAssToolType)
    measures = tuple(defs.measures.values())
    parsed = rows.select(
        "source_table",
        "PathwayID",
        "score_date",
        measure=_measure_key(rows.CodedAssToolType, defs),
        score=parse_score(rows.PersScore),
        _vmin=_by_tool(code, [(m.tool_codes, decimal_literal(m.valid_min)) for m in measures]),
        _vmax=_by_tool(code, [(m.tool_codes, decimal_literal(m.valid_max)) for m in measures]),
        _whole=_whole_numbers(code, measures),
    )
    bounds = window_bounds(referrals).rename(_bP="PathwayID")
    t = parsed.left_join(bounds, parsed.PathwayID == bounds._bP)
    # the valid range of the measure of the tool code (the first measure listing the code)
    in_range = t.score.between(t._vmin, t._vmax).coalesce(ibis.literal(False))
    window = in_window(t.score_date, t._R, t._D, as_at)
    reason = ibis.cases(
        (t._bP.isnull(), ibis.literal("score_no_pathway")),
        (t.measure.isnull(), ibis.literal("scores_unknown_tool")),
        (t.score.isnull(), ibis.literal("score_unparseable")),
        (~in_range, ibis.literal("score_out_of_range")),
        (t._whole & (t.score != t.score.floor()), ibis.literal("score_not_integer")),
        (t.score_date.isnull(), ibis.literal("score_undated")),
        (~window, ibis.literal("score_outside_window")),
        else_=ibis.null("string"),
    )
    return t.select("source_table", "PathwayID", "measure", "score", "score_date", reason=reason)


def score_summary(
    extract: ActivitySource,
    referrals: ir.Table,
    as_at: date,
    defs: Definitions,
    pathways: ir.Table | None = None,
) -> ir.Table:
    """Per (PathwayID, measure): ``first_score``, ``last_score`` (null unless paired), ``days``.

    With ``pathways`` (a table with a PathwayID column), only these pathways are summarised:
    their IDS606/IDS607 rows are selected before the as-at de-duplication, which is much less
    work when few pathways need scores (published measures: those finished in the period).

    Notes
    -----
    docs/measures.md §1 Scores: one score per measure per day (the highest, ``scores.same_day_rule``
    **(choice)**); FirstScore is the score of the earliest scoring day; LastScore that of the
    latest, null unless the measure was scored on at least ``scores.min_paired_days`` days.

    Examples
    --------
    >>> from datetime import date
    >>> from iaptkit.measures.examples import example_extract
    >>> from iaptkit.definitions import load_definitions
    >>> ex, E, defs = example_extract(), date(2024, 6, 30), load_definitions()
    >>> s = score_summary(ex, ex.referrals_as_at(E), E, defs).execute().sort_values("measure")
    >>> [(m, str(f), str(l)) for m, f, l in s[["measure", "first_score", "last_score"]].values]
    [('GAD7', '12.0000', '5.0000'), ('PHQ9', '15.0000', '6.0000')]
    """
    c = classified_scores(extract, referrals, as_at, defs, pathways, valid_only=True)
    valid = c.filter(c.reason.isnull())
    grouped = valid.group_by(["PathwayID", "measure", "score_date"])
    if defs.scores.same_day_rule == "highest":
        daily = grouped.aggregate(day_score=valid.score.max())
    else:
        daily = grouped.aggregate(day_score=valid.score.min())
    # one row per scoring day (score_date is never null here), so the earliest and latest
    # days are unique: arg_min / arg_max (min_by / max_by on Spark) are deterministic
    per = daily.group_by(["PathwayID", "measure"]).aggregate(
        first_score=daily.day_score.argmin(daily.score_date),
        _last_score=daily.day_score.argmax(daily.score_date),
        days=daily.score_date.count(),
    )
    paired = per.days >= defs.scores.min_paired_days
    return per.select(
        "PathwayID",
        "measure",
        first_score=per.first_score.cast(SCORE_TYPE),
        last_score=ibis.ifelse(paired, per._last_score, ibis.null(SCORE_TYPE)).cast(SCORE_TYPE),
        days=per.days.cast("int64"),
    )
