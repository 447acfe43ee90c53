"""Problem descriptor and ADSM choice (docs/measures.md §1 ProblemDescriptor, §4).

One IDS603 record per pathway is chosen by the configured tie-break keys (every key is made
null-free, so DuckDB and Spark order rows identically), its PresComp is normalised (upper case,
no dots or spaces) and mapped to a category by the ordered rules of the definitions file.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from iaptkit.data.text import strip_blanks
from iaptkit.definitions import Definitions
from iaptkit.measures.sources import ActivitySource

__all__ = [
    "adsm_expr",
    "category_expr",
    "chosen_complaints",
    "normalised_code_expr",
    "valid_code_expr",
]


def normalised_code_expr(code: ir.StringValue) -> ir.StringValue:
    """PresComp upper case without dots or spaces (docs/measures.md §1).

    Examples
    --------
    >>> t = ibis.memtable({"c": [" f41.1 "]})
    >>> ibis.duckdb.connect().execute(normalised_code_expr(t.c)).tolist()
    ['F411']
    """
    return code.upper().replace(".", "").replace(" ", "")


def valid_code_expr(code: ir.StringValue, defs: Definitions) -> ir.BooleanValue:
    """Whether PresComp is a valid code: non-null and, with ``problem_descriptors.valid_codes``,
    matching one of its patterns once normalised (never null).

    Examples
    --------
    >>> from iaptkit.definitions import load_definitions
    >>> t = ibis.memtable({"c": ["F32.1", "12a", None]}).cast({"c": "string"})
    >>> ibis.duckdb.connect().execute(valid_code_expr(t.c, load_definitions())).tolist()
    [True, True, False]
    >>> ibis.duckdb.connect().execute(
    ...     valid_code_expr(t.c, load_definitions("nhs-published"))).tolist()
    [True, False, False]
    """
    patterns = defs.problems.valid_codes
    if not patterns:
        return code.notnull()
    norm = normalised_code_expr(code)
    cond: ir.BooleanValue = ibis.literal(False)
    for pattern in patterns:
        cond = cond | norm.re_search(pattern)
    return (code.notnull() & cond).coalesce(ibis.literal(False))


def category_expr(code: ir.StringValue, defs: Definitions) -> ir.StringValue:
    """The problem descriptor of a PresComp column; null PresComp -> ``Unspecified``.

    Notes
    -----
    docs/measures.md §4: rules are tried in the definitions file's order, first match wins; prefixes
    match the start of the normalised code (ICD-10), codes match exactly (SNOMED).

    Examples
    --------
    >>> from iaptkit.definitions import load_definitions
    >>> t = ibis.memtable({"c": ["F32.1", "83482000", "X1", None]}).cast({"c": "string"})
    >>> ibis.duckdb.connect().execute(category_expr(t.c, load_definitions())).tolist()
    ['Depression', 'Body dysmorphic disorder', 'Other', 'Unspecified']
    """
    rules = defs.problems
    norm = normalised_code_expr(code)
    branches: list[tuple[ir.BooleanValue, ir.StringValue]] = [
        (~valid_code_expr(code, defs), ibis.literal(rules.unspecified))
    ]
    for rule in rules.rules:
        cond: ir.BooleanValue = ibis.literal(False)
        if rule.codes:
            cond = cond | norm.isin(rule.codes)
        for prefix in rule.prefixes:
            cond = cond | norm.startswith(prefix)
        branches.append((cond, ibis.literal(rule.category)))
    return ibis.cases(*branches, else_=ibis.literal(rules.other))


def adsm_expr(category: ir.StringValue, defs: Definitions) -> ir.StringValue:
    """The ADSM value (measure key) of a problem descriptor column, null when GAD-7.

    Notes
    -----
    docs/measures.md §4, column ADSM (the ``adsm`` of each rule in the definitions file).

    Examples
    --------
    >>> from iaptkit.definitions import load_definitions
    >>> t = ibis.memtable({"c": ["Agoraphobia", "Depression"]})
    >>> ibis.duckdb.connect().execute(adsm_expr(t.c, load_definitions())).fillna("-").tolist()
    ['AgoraAlone', '-']
    """
    branches = [
        (category == rule.category, ibis.literal(rule.adsm))
        for rule in defs.problems.rules
        if rule.adsm is not None
    ]
    if not branches:
        return ibis.null("string")
    return ibis.cases(*branches, else_=ibis.null("string"))


def _sort_keys(t: ir.Table, keys: tuple[str, ...], defs: Definitions) -> list[ir.Value]:
    """Null-free ascending sort keys for the IDS603 tie-break (first row wins)."""
    code_null = t.PresComp.isnull().ifelse(1, 0)
    by_key: dict[str, list[ir.Value]] = {
        "non_null_prescomp": [code_null],
        "primary_first": [
            (strip_blanks(t.PresCompCodSig).upper() == "P")
            .coalesce(ibis.literal(False))
            .ifelse(0, 1)
        ],
        # latest date first; null dates last; the date itself is only compared among non-nulls
        "latest_date": [
            t.PresCompDate.isnull().ifelse(1, 0),
            ibis.desc(t.PresCompDate),
        ],
        "lowest_code": [code_null, t.PresComp.coalesce("")],
        "valid_prescomp": [valid_code_expr(t.PresComp, defs).ifelse(0, 1)],
        "latest_submission": [ibis.desc(t.UniqueSubmissionID.coalesce(-1))],
    }
    order: list[ir.Value] = []
    for key in keys:
        order.extend(by_key[key])
    # Full determinism whatever the configuration: every remaining key, then the raw signifier.
    for key in ("non_null_prescomp", "primary_first", "latest_date", "lowest_code"):
        if key not in keys:
            order.extend(by_key[key])
    order.append(t.PresCompCodSig.coalesce(""))
    return order


def chosen_complaints(extract: ActivitySource, as_at: date, defs: Definitions) -> ir.Table:
    """One IDS603 record per PathwayID: columns PathwayID, PresComp, ProblemDescriptor, ADSM.

    Notes
    -----
    docs/measures.md §1 ProblemDescriptor: prefer a non-null PresComp, then primary (``P``) over
    secondary, then the latest PresCompDate, then the lowest code **(choice)**; the order is
    ``problem_descriptors.ids603_tiebreak``. A pathway with no record is ``Unspecified`` (the
    caller fills it in for pathways missing here).

    Examples
    --------
    >>> from datetime import date
    >>> from iaptkit.measures.examples import example_extract
    >>> from iaptkit.definitions import load_definitions
    >>> ex, E, defs = example_extract(), date(2024, 6, 30), load_definitions()
    >>> chosen_complaints(ex, E, defs).execute().fillna("-").values.tolist()
    [['P1', 'F41.1', 'Generalised anxiety disorder', '-']]
    """
    t = extract.activity_as_at("IDS603PresentingComplaints", as_at)
    t = t.select("PathwayID", "PresComp", "PresCompCodSig", "PresCompDate", "UniqueSubmissionID")
    ranked = t.mutate(
        _rank=ibis.row_number().over(
            group_by=t.PathwayID, order_by=_sort_keys(t, defs.problems.ids603_tiebreak, defs)
        )
    )
    first = ranked.filter(ranked._rank == 0)
    category = category_expr(first.PresComp, defs)
    first = first.select("PathwayID", "PresComp", ProblemDescriptor=category)
    return first.mutate(ADSM=adsm_expr(first.ProblemDescriptor, defs))
