"""Every category a row: the measures table with the categories nobody in a group has.

A measures table lists the groups found in the data. A reader who knows a breakdown's labels
takes a group missing from it for a count of 0 (no referrals of unknown age band, say); under a
policy that suppresses zeros that zero is given away by the missing row, which no suppression
can hide, and a report table of the same population that shows the zero suppressed is undone by
it in the release's joint audit (docs/disclosure-control.md, "Linked outputs"). Before a table
is protected, :func:`with_every_category` therefore adds a row for every label of each labelled
breakdown (age band, gender, ethnic group, IMD decile; labels from
:func:`iaptkit.definitions.labels.breakdown_categories`): counts 0, rates, means and medians
missing. The zero counts are then cells like any other, suppressed where the policy suppresses
zeros. Providers and commissioners come from the extract and have no fixed label list.

:func:`category_rules` finds the labels a table was made with from its ``definitions_version``
column (a packaged definitions set), so that :func:`iaptkit.sdc.protect_measures` adds the rows
on every route, the Python API as well as the CLI.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from iaptkit.definitions.labels import (
    BREAKDOWN_SEPARATOR,
    GROUP_SEPARATOR,
    LABELLED_BREAKDOWNS,
    breakdown_categories,
)
from iaptkit.definitions.loading import PACKAGED_DEFINITIONS, load_definitions
from iaptkit.definitions.model import BreakdownRules
from iaptkit.errors import ConfigError

__all__ = ["category_rules", "with_every_category"]

_KEY = ["period_start", "period_end", "breakdown"]


def with_every_category(table: pd.DataFrame, rules: BreakdownRules) -> pd.DataFrame:
    """The measures long table with a row per measure for every category of each breakdown.

    Parameters
    ----------
    table
        The long table of :func:`iaptkit.measures.published.published_measures` (columns
        ``period_start``, ``period_end``, ``breakdown``, ``group``, ``measure``, ``value``,
        ``kind`` and the rest).
    rules
        The definitions' breakdown rules (``definitions.breakdowns``): the labels.

    Returns
    -------
    pandas.DataFrame
        ``table`` and, after it, the rows of the missing categories: for a breakdown that
        combines a labelled dim with another (``provider x gender``), every label under each
        value of the other dims found. A count is 0; a rate, mean, median or internal value and
        its interval are missing (NaN). Every other column is copied from the measure's row.

    Raises
    ------
    ConfigError
        A group of a labelled breakdown is not one of ``rules``' labels: the table was made
        with other definitions (pass their ``breakdowns``).

    Notes
    -----
    Why: docs/disclosure-control.md, "Linked outputs" (absent categories). The labels are
    those the measures print (docs/measures.md §3).

    Examples
    --------
    >>> from iaptkit.definitions import load_definitions
    >>> rules = load_definitions().breakdowns
    >>> t = pd.DataFrame({"period_start": "2024-04-01", "period_end": "2025-03-31",
    ...     "breakdown": "gender", "group": ["Male", "Female"], "measure": "finished_treatment",
    ...     "value": [12.0, 30.0], "kind": "count"})
    >>> full = with_every_category(t, rules)
    >>> full[["group", "value"]].values.tolist()
    [['Male', 12.0], ['Female', 30.0], ['Other or not known', 0.0]]
    """
    added: list[pd.DataFrame] = []
    for (_, _, breakdown), rows in table.groupby(_KEY, sort=False):
        dims = str(breakdown).split(BREAKDOWN_SEPARATOR)
        labelled = [i for i, d in enumerate(dims) if d in LABELLED_BREAKDOWNS]
        if not labelled:
            continue
        missing = _missing_groups(rows["group"].astype(str), dims, labelled, rules)
        if not missing:
            continue
        template = rows.drop_duplicates("measure")
        frames = [template.assign(group=g) for g in missing]
        new = pd.concat(frames, ignore_index=True)
        is_count = new["kind"].astype(str) == "count"
        new["value"] = np.where(is_count, 0.0, np.nan)
        for col in ("ci_lower", "ci_upper"):
            if col in new.columns:
                new[col] = np.nan
        added.append(new)
    if not added:
        return table
    return pd.concat([table, *added], ignore_index=True)


def category_rules(table: pd.DataFrame) -> BreakdownRules | None:
    """The breakdown labels of the packaged definitions set a measures table was made with.

    Parameters
    ----------
    table
        A measures long table; its ``definitions_version`` column names the definitions.

    Returns
    -------
    BreakdownRules or None
        The ``breakdowns`` of the packaged set (:data:`PACKAGED_DEFINITIONS`) of that version;
        the packaged default's when the table has no ``definitions_version`` column; ``None``
        when no breakdown of the table is labelled (nothing to add).

    Raises
    ------
    ConfigError
        The table has a labelled breakdown and its definitions version is not a packaged set's
        (a site's own definitions: pass ``load_definitions(path).breakdowns`` explicitly), or it
        names more than one version.

    Examples
    --------
    >>> t = pd.DataFrame({"breakdown": ["gender"], "definitions_version": ["nhs-published-2026.1"]})
    >>> category_rules(t).gender_other
    'Not stated/Not known/Invalid'
    """
    breakdowns: list[str] = (
        [str(b) for b in table["breakdown"].unique()] if "breakdown" in table.columns else []
    )
    if not any(d in LABELLED_BREAKDOWNS for b in breakdowns for d in b.split(BREAKDOWN_SEPARATOR)):
        return None
    if "definitions_version" not in table.columns:
        return load_definitions().breakdowns
    versions = sorted(table["definitions_version"].dropna().astype(str).unique())
    if len(versions) != 1:
        raise ConfigError(
            "Measures table, column 'definitions_version': expected one definitions version; "
            f"found {versions or 'none'}."
        )
    for name in PACKAGED_DEFINITIONS:
        defs = load_definitions(name)
        if defs.version == versions[0]:
            return defs.breakdowns
    raise ConfigError(
        f"Measures table made with definitions {versions[0]!r}, not a packaged set "
        f"({', '.join(PACKAGED_DEFINITIONS)}): pass categories=load_definitions(<your file>)"
        ".breakdowns so that every category of its breakdowns is a row."
    )


def _missing_groups(
    groups: pd.Series[Any], dims: list[str], labelled: list[int], rules: BreakdownRules
) -> list[str]:
    """The groups of every label (under each found value of the unlabelled dims) not found."""
    found = set(groups)
    for i in labelled:
        labels = breakdown_categories(rules, dims[i])
        strange = sorted({g.split(GROUP_SEPARATOR)[i] for g in found} - set(labels))
        if strange:
            raise ConfigError(
                f"Measures table, breakdown {BREAKDOWN_SEPARATOR.join(dims)!r}: expected "
                f"{dims[i]} labels {list(labels)}; found {strange[:5]} (made with other "
                "definitions? pass their breakdowns)."
            )
    others = sorted(
        {
            tuple(p for i, p in enumerate(g.split(GROUP_SEPARATOR)) if i not in labelled)
            for g in found
        }
    )
    out = []
    for other in others:
        for labels in product(*(breakdown_categories(rules, dims[i]) for i in labelled)):
            parts, rest, lab = [], iter(other), iter(labels)
            for i in range(len(dims)):
                parts.append(next(lab) if i in labelled else next(rest))
            group = GROUP_SEPARATOR.join(parts)
            if group not in found:
                out.append(group)
    return out
