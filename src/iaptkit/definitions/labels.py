"""Label sets: the full category list of every breakdown a report table uses, in one place.

A protected table lists the categories found in its data; a table of the same breakdown for a
smaller population (a provider run beside the England run) then leaves out the categories
nobody in it has, and a reader takes the missing row for a count of 0: a zero the other table
suppressed is disclosed (docs/disclosure-control.md, "Linked outputs"). Tables built with the
full list of their breakdown (``protect(..., categories=...)``) have every row, absent
categories as explicit zero cells protected like any other.

The outcome labels of the report notebooks are defined here, and the labels of the breakdown
attributes (age band, gender, ethnic group, IMD decile) are read from the definitions' own
:class:`~iaptkit.definitions.model.BreakdownRules`, so each label set has one home.
"""

from __future__ import annotations

from datetime import date

from iaptkit.definitions.model import BreakdownRules

__all__ = [
    "FINISHED_OUTCOME",
    "GAP_BANDS",
    "IDLE",
    "RECOVERY_OUTCOME",
    "RELIABLE_CHANGE",
    "WAIT_BANDS",
    "WAIT_PERFORMANCE",
    "breakdown_categories",
    "months",
]

#: Finished treatment by recovery outcome (recovered / not recovered are at caseness).
FINISHED_OUTCOME: tuple[str, ...] = ("not at caseness", "recovered", "not recovered")
#: Pathways at caseness by recovery outcome.
RECOVERY_OUTCOME: tuple[str, ...] = ("recovered", "not recovered")
#: Finished treatment by reliable change (docs/measures.md §2).
RELIABLE_CHANGE: tuple[str, ...] = (
    "reliably improved",
    "no reliable change",
    "reliably deteriorated",
    "not paired or not measured",
)
#: Finished treatment by the waiting-time standards (6 and 18 weeks to first treatment).
WAIT_PERFORMANCE: tuple[str, ...] = ("up to 6 weeks", "6-18 weeks", "over 18 weeks")
#: Waits in bands (to first treatment, to assessment, waiting so far); edges in days.
WAIT_BANDS: tuple[str, ...] = (
    "0-2 weeks",
    "2-4 weeks",
    "4-6 weeks",
    "6-12 weeks",
    "12-18 weeks",
    "over 18 weeks",
)
#: First to second treatment in the NHS bands (M121, M122, M047).
GAP_BANDS: tuple[str, ...] = ("up to 28 days", "29 to 90 days", "over 90 days")
#: Open referrals by days since the last treatment; never treated nor assessed.
IDLE: tuple[str, ...] = (
    "up to 60 days",
    "61 to 90 days",
    "91 to 120 days",
    "over 120 days",
    "not yet assessed",
    "not yet assessed, over 90 days",
)


def breakdown_categories(rules: BreakdownRules, dim: str) -> tuple[str, ...]:
    """Every label of the breakdown attribute ``dim``, as the measures print them.

    Parameters
    ----------
    rules
        The definitions' breakdown rules (``load_definitions().breakdowns``).
    dim
        ``age_band``, ``gender``, ``ethnic_group`` or ``imd_decile``.

    Returns
    -------
    tuple of str
        The labels, the unknown label last.

    Raises
    ------
    KeyError
        Another ``dim`` (providers and commissioners come from the extract, not definitions).

    Examples
    --------
    >>> from iaptkit.definitions import load_definitions
    >>> rules = load_definitions().breakdowns
    >>> breakdown_categories(rules, "gender")
    ('Male', 'Female', 'Other or not known')
    >>> breakdown_categories(rules, "imd_decile")[:3], breakdown_categories(rules, "imd_decile")[-1]
    (('1', '2', '3'), 'Unknown')
    """
    if dim == "age_band":
        return (*(b.label for b in rules.age_bands), rules.age_unknown)
    if dim == "gender":
        return (*rules.gender.values(), rules.gender_other)
    if dim == "ethnic_group":
        return (*rules.ethnic_groups, rules.ethnic_other)
    if dim == "imd_decile":
        labels = dict(rules.imd_labels or {})
        deciles = (str(d) for d in range(rules.imd_min, rules.imd_max + 1))
        return (*(labels.get(d, d) for d in deciles), rules.imd_unknown)
    raise KeyError(
        f"expected a breakdown attribute (age_band, gender, ethnic_group, imd_decile); "
        f"found {dim!r}"
    )


def months(start: date, end: date) -> tuple[str, ...]:
    """The months of a period as ``YYYY-MM`` labels (a monthly trend's categories).

    Examples
    --------
    >>> months(date(2023, 11, 15), date(2024, 2, 1))
    ('2023-11', '2023-12', '2024-01', '2024-02')
    """
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return tuple(out)
