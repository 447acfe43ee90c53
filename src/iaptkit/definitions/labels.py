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
    "BREAKDOWN_SEPARATOR",
    "FINISHED_OUTCOME",
    "FINISHED_OUTCOME_MEASURES",
    "GAP_BANDS",
    "GAP_BANDS_MEASURES",
    "GROUP_SEPARATOR",
    "IDLE",
    "LABELLED_BREAKDOWNS",
    "RECOVERY_OUTCOME",
    "RECOVERY_OUTCOME_MEASURES",
    "RELIABLE_CHANGE",
    "RELIABLE_CHANGE_MEASURES",
    "WAIT_BANDS",
    "WAIT_PERFORMANCE",
    "WAIT_PERFORMANCE_MEASURES",
    "breakdown_categories",
    "months",
]

#: Between the names of a combined breakdown (``provider x age_band``).
BREAKDOWN_SEPARATOR = " x "
#: Between the labels of a combined breakdown's group, e.g. ``"R1A | 18-25"``.
GROUP_SEPARATOR = " | "

#: Breakdown attributes whose every label the definitions give (providers and commissioners come
#: from the extract and have no fixed label list): the dims :func:`breakdown_categories` knows.
LABELLED_BREAKDOWNS: tuple[str, ...] = ("age_band", "gender", "ethnic_group", "imd_decile")

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

# The published measure (docs/measures.md §2) that a category of a label set counts, where it
# has one of its own, as (label, measure) pairs: in a table of ``finished_treatment`` by
# FINISHED_OUTCOME the "recovered" row is the measure ``recovered``. The report notebooks key
# such cells by that measure (``NotebookContext.add_table(..., aliases=...)``), so that a
# notebook's cell and the same count in a ``measures`` output are one cell in the release's
# joint audit (docs/disclosure-control.md, "Linked outputs").

#: FINISHED_OUTCOME rows of a ``finished_treatment`` table.
FINISHED_OUTCOME_MEASURES: tuple[tuple[str, str], ...] = (
    ("not at caseness", "not_at_caseness"),
    ("recovered", "recovered"),
)
#: RECOVERY_OUTCOME rows of an ``at_caseness`` table.
RECOVERY_OUTCOME_MEASURES: tuple[tuple[str, str], ...] = (("recovered", "recovered"),)
#: RELIABLE_CHANGE rows of a ``finished_treatment`` table.
RELIABLE_CHANGE_MEASURES: tuple[tuple[str, str], ...] = (
    ("reliably improved", "reliably_improved"),
    ("no reliable change", "no_reliable_change"),
    ("reliably deteriorated", "reliably_deteriorated"),
)
#: WAIT_PERFORMANCE rows of a ``finished_treatment`` table.
WAIT_PERFORMANCE_MEASURES: tuple[tuple[str, str], ...] = (("up to 6 weeks", "waited_6_weeks"),)
#: GAP_BANDS rows of a ``second_treatment`` table.
GAP_BANDS_MEASURES: tuple[tuple[str, str], ...] = (
    ("over 90 days", "first_to_second_over_90_days"),
)
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
        f"expected a breakdown attribute ({', '.join(LABELLED_BREAKDOWNS)}); found {dim!r}"
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
