"""Cohort flags and statistic values of family 7's intensities and of family 8.

Every measure here is over courses finished in P (docs/measures.md §5.9, §5.10). The per-pathway
inputs come from :mod:`~iaptkit.measures.families.intensity`,
:mod:`~iaptkit.measures.families.employment` and :mod:`~iaptkit.measures.families.conditions`;
an input column the table lacks is read as null (no such record).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from iaptkit.definitions.catalogue_rules import THERAPY_TYPES
from iaptkit.measures.families.conditions import LTC_COLUMNS, WSAS_COLUMNS
from iaptkit.measures.families.employment import EMPLOYMENT_COLUMNS, employment_category
from iaptkit.measures.families.intensity import INTENSITY_COLUMNS
from iaptkit.measures.families.specs import (
    EMPLOY_STATUSES,
    EMPLOYMENT_CATEGORIES,
    WSAS_DIMENSIONS,
)
from iaptkit.measures.families.stages import STAGE_COLUMNS

__all__ = ["EXTRA_INPUT_COLUMNS", "extra_cohorts"]

_INT_COLUMNS = (
    *INTENSITY_COLUMNS,
    "stage1_intensity",
    "stage2_intensity",
    "stage_excluded",
    "employment_support",
    *WSAS_COLUMNS,
)
#: The per-pathway input columns these cohorts read (besides the finished flag).
EXTRA_INPUT_COLUMNS: tuple[str, ...] = (
    *INTENSITY_COLUMNS,
    *STAGE_COLUMNS,
    *EMPLOYMENT_COLUMNS,
    *LTC_COLUMNS,
    *WSAS_COLUMNS,
)


def _column(t: ir.Table, name: str) -> Any:
    if name in t.columns:
        return t[name]
    # a column of nulls (a null scalar would not compare with ==)
    filler = t[t.columns[0]].isnull() & ibis.literal(False)
    if name.endswith("Date") or name.endswith("_date"):
        return ibis.ifelse(filler, ibis.literal(date(2000, 1, 1)), ibis.null("date"))
    typ = "int64" if name in _INT_COLUMNS else "string"
    return ibis.ifelse(filler, ibis.literal(0 if typ == "int64" else ""), ibis.null(typ))


def _flag(x: ir.BooleanValue) -> ir.IntegerValue:
    return x.fill_null(False).ifelse(1, 0).cast("int64")


def _days(later: Any, earlier: Any) -> Any:
    return later.delta(earlier, unit="day").cast("int64")


def _stage_cohorts(t: ir.Table, finished: ir.BooleanValue) -> tuple[dict[str, Any], dict[str, Any]]:
    """Step-up and first-stage cohorts over finished courses (docs/measures.md §5.9)."""
    k1 = _column(t, "stage1_intensity").cast("int64")
    k2 = _column(t, "stage2_intensity").cast("int64")
    kept = finished & (_column(t, "stage_excluded").cast("int64").fill_null(0) == 0)
    step_up = kept & (k1 == 0) & (k2 == 1)
    wait = _days(_column(t, "stage2_first_date"), _column(t, "stage1_last_date"))
    a = _column(t, "Assessment_FirstDate")
    f = _column(t, "TherapySession_FirstDate")
    assessed_first = a.notnull() & f.notnull() & (a <= f)
    to_stage = _days(_column(t, "stage1_first_date"), a)
    first_hi = kept & (k1 == 1) & assessed_first
    first_li = kept & (k1 == 0) & assessed_first
    ok = (wait >= 0).fill_null(False)
    counts = {
        "step_up": _flag(step_up),
        "step_up_wait_le_28_days": _flag(step_up & ok & (wait <= 28)),
        "step_up_wait_le_90_days": _flag(step_up & ok & (wait <= 90)),
        "first_stage_hi": _flag(first_hi),
        "first_stage_li": _flag(first_li),
    }
    none = ibis.null("int64")
    stats = {
        "wait_step_up": ibis.ifelse(step_up.fill_null(False) & ok, wait, none),
        "wait_assessment_hi": ibis.ifelse(first_hi.fill_null(False), to_stage, none),
        "wait_assessment_li": ibis.ifelse(first_li.fill_null(False), to_stage, none),
    }
    return counts, stats


def extra_cohorts(t: ir.Table, finished: ir.BooleanValue) -> tuple[dict[str, Any], dict[str, Any]]:
    """(count columns, statistic values) of family 7's intensities and stages and of family 8.

    Examples
    --------
    >>> t = ibis.memtable({"li_sessions": [2, 0], "hi_sessions": [3, 0],
    ...     "emp_first_status": ["01", None], "emp_first_sick": ["Y", None]})
    >>> counts, stats = extra_cohorts(t, ibis.literal(True))
    >>> r = t.select(**counts, **stats).execute()
    >>> r.stepped_care_li_and_hi.tolist(), r.finished_first_employment_off_sick.tolist()
    ([1, 0], [1, 0])
    >>> r.hi_sessions.tolist()
    [3.0, nan]
    """
    li = _column(t, "li_sessions").cast("int64").fill_null(0)
    hi = _column(t, "hi_sessions").cast("int64").fill_null(0)
    c: dict[str, Any] = {
        "stepped_care_li_only": _flag(finished & (li > 0) & (hi == 0)),
        "stepped_care_li_and_hi": _flag(finished & (li > 0) & (hi > 0)),
        "stepped_care_hi_only": _flag(finished & (li == 0) & (hi > 0)),
        "stepped_care_neither": _flag(finished & (li == 0) & (hi == 0)),
    }
    stats: dict[str, Any] = {
        "hi_sessions": ibis.ifelse(finished & (hi > 0), hi, ibis.null("int64")),
        "li_sessions": ibis.ifelse(finished & (li > 0), li, ibis.null("int64")),
    }
    for therapy in THERAPY_TYPES:
        n = _column(t, f"{therapy}_sessions").cast("int64").fill_null(0)
        stats[f"{therapy}_sessions"] = ibis.ifelse(finished & (n > 0), n, ibis.null("int64"))
    stage_counts, stage_stats = _stage_cohorts(t, finished)
    c.update(stage_counts)
    stats.update(stage_stats)
    # employment (first and last category; employment-support cohort)
    support = finished & (_column(t, "employment_support").cast("int64").fill_null(0) > 0)
    cats = {
        when: employment_category(
            _column(t, f"emp_{when}_status").cast("string"),
            _column(t, f"emp_{when}_sick").cast("string"),
        )
        for when in ("first", "last")
    }
    for when, cat_of in cats.items():
        for cat in EMPLOYMENT_CATEGORIES:
            c[f"finished_{when}_employment_{cat}"] = _flag(finished & (cat_of == cat))
    c["finished_employment_support"] = _flag(support)
    for when, cat_of in cats.items():
        for cat in EMPLOYMENT_CATEGORIES:
            c[f"finished_es_{when}_employment_{cat}"] = _flag(support & (cat_of == cat))
    # therapy only: finished without employment support in the window (M316-M323)
    therapy_only = finished & ~support
    for when, cat_of in cats.items():
        for cat in EMPLOYMENT_CATEGORIES:
            c[f"finished_tt_only_{when}_employment_{cat}"] = _flag(therapy_only & (cat_of == cat))
    last_status = _column(t, "emp_last_status").cast("string")
    for code in EMPLOY_STATUSES:
        c[f"finished_last_employstatus_{code}"] = _flag(finished & (last_status == code))
    # long-term conditions
    ltc = _column(t, "ltc_status").cast("string")
    c["finished_ltc"] = _flag(finished & (ltc == "ltc"))
    c["finished_no_ltc"] = _flag(finished & (ltc == "no_ltc"))
    c["finished_ltc_not_stated"] = _flag(finished & ltc.isnull())
    # WSAS: paired = a last score (scores on two days)
    paired_dims: list[ir.IntegerValue] = []
    for d in WSAS_DIMENSIONS:
        first = _column(t, f"wsas_{d}_first").cast("int64")
        last = _column(t, f"wsas_{d}_last").cast("int64")
        paired = finished & last.notnull() & first.notnull()
        c[f"finished_wsas_{d}_paired"] = _flag(paired)
        stats[f"wsas_{d}_first"] = ibis.ifelse(paired, first, ibis.null("int64"))
        stats[f"wsas_{d}_last"] = ibis.ifelse(paired, last, ibis.null("int64"))
        paired_dims.append(_flag(paired))
    n_paired = paired_dims[0]
    for p in paired_dims[1:]:
        n_paired = n_paired + p
    c["finished_wsas_total_paired"] = _flag(finished & (n_paired >= 4))
    return c, stats
