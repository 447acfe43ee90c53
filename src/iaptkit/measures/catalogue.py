"""The catalogue of published measures and breakdowns (docs/measures.md §2 and §3).

What is published, as data: the measures with their kind (count, rate, mean) and the counts
rates are computed from; the breakdowns (parsed here; the pathway-table column each one groups
by is :data:`iaptkit.measures.pathway_schema.BREAKDOWN_COLUMNS`); the columns of the long table;
and the period thresholds taken from the definitions (waits and the first-to-second-session
gap). :mod:`iaptkit.measures.published` computes them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from iaptkit.definitions import Definitions
from iaptkit.definitions.labels import BREAKDOWN_SEPARATOR
from iaptkit.errors import ConfigError
from iaptkit.measures.pathway_schema import BREAKDOWN_COLUMNS, LOOKUP_BREAKDOWNS

__all__ = [
    "COUNT_MEASURES",
    "LONG_COLUMNS",
    "MEASURES",
    "MISSING_GROUP",
    "MeasureSpec",
    "PublishedParameters",
    "breakdown_name",
    "parse_breakdowns",
]

Kind = Literal["count", "rate", "mean"]


@dataclass(frozen=True)
class MeasureSpec:
    """One published measure.

    Parameters
    ----------
    name
        The measure name in the long table, e.g. ``recovery_rate``.
    kind
        ``"count"``, ``"rate"`` (per cent) or ``"mean"``.
    numerator, denominator
        For rates and means, the measure names they are computed from (``None`` for counts;
        the mean's numerator is the total of ``TreatmentCareContact_Count``, not a measure).
    """

    name: str
    kind: Kind
    numerator: str | None = None
    denominator: str | None = None


#: Every measure of docs/measures.md §2, in publication order.
MEASURES: tuple[MeasureSpec, ...] = (
    MeasureSpec("referrals_received", "count"),
    MeasureSpec("entered_treatment", "count"),
    MeasureSpec("ended_referrals", "count"),
    MeasureSpec("finished_treatment", "count"),
    MeasureSpec("not_at_caseness", "count"),
    MeasureSpec("at_caseness", "count"),
    MeasureSpec("recovered", "count"),
    MeasureSpec("reliably_improved", "count"),
    MeasureSpec("reliably_deteriorated", "count"),
    MeasureSpec("no_reliable_change", "count"),
    MeasureSpec("reliably_recovered", "count"),
    MeasureSpec("waited_6_weeks", "count"),
    MeasureSpec("waited_18_weeks", "count"),
    MeasureSpec("second_treatment", "count"),
    MeasureSpec("first_to_second_over_90_days", "count"),
    MeasureSpec("mean_sessions_finished", "mean", None, "finished_treatment"),
    MeasureSpec("recovery_rate", "rate", "recovered", "at_caseness"),
    MeasureSpec("reliable_recovery_rate", "rate", "reliably_recovered", "at_caseness"),
    MeasureSpec("reliable_improvement_rate", "rate", "reliably_improved", "finished_treatment"),
    MeasureSpec(
        "reliable_deterioration_rate", "rate", "reliably_deteriorated", "finished_treatment"
    ),
    MeasureSpec("no_reliable_change_rate", "rate", "no_reliable_change", "finished_treatment"),
    MeasureSpec("waited_6_weeks_rate", "rate", "waited_6_weeks", "finished_treatment"),
    MeasureSpec("waited_18_weeks_rate", "rate", "waited_18_weeks", "finished_treatment"),
    MeasureSpec(
        "first_to_second_over_90_days_rate",
        "rate",
        "first_to_second_over_90_days",
        "second_treatment",
    ),
)

#: Names of the count measures, in publication order.
COUNT_MEASURES: tuple[str, ...] = tuple(m.name for m in MEASURES if m.kind == "count")

#: Columns of the long table, in order.
LONG_COLUMNS: tuple[str, ...] = (
    "period_start",
    "period_end",
    "breakdown",
    "group",
    "measure",
    "value",
    "kind",
    "numerator",
    "denominator",
    "ci_lower",
    "ci_upper",
    "definitions_version",
)

_COMBINE_RE = re.compile(r"\s+x\s+|\s*[×*]\s*")
#: Group label of a pathway whose breakdown attribute is null.
MISSING_GROUP = "Unknown"


@dataclass(frozen=True)
class PublishedParameters:
    """The numbers the published measures need beyond the pathway table.

    Parameters
    ----------
    wait_short_days, wait_long_days
        Waits counted as "within 6 weeks" and "within 18 weeks" (``≤``; docs/measures.md §2).
    first_to_second_days
        A first-to-second-session gap above this many days counts in
        ``first_to_second_over_90_days`` (docs/measures.md §2).
    """

    wait_short_days: int = 42
    wait_long_days: int = 126
    first_to_second_days: int = 90

    @classmethod
    def from_definitions(cls, definitions: Definitions | None) -> PublishedParameters:
        """Read the wait and gap thresholds from the definitions (defaults: 42, 126, 90).

        Examples
        --------
        >>> PublishedParameters.from_definitions(None)
        PublishedParameters(wait_short_days=42, wait_long_days=126, first_to_second_days=90)
        """
        if definitions is None:
            return cls()
        waits = tuple(definitions.wait_thresholds_days)
        if len(waits) != 2:
            raise ConfigError(
                f"definitions {definitions.version}: expected two wait thresholds in days "
                f"(6 and 18 weeks, e.g. [42, 126]), found {list(waits)}."
            )
        return cls(
            wait_short_days=int(min(waits)),
            wait_long_days=int(max(waits)),
            first_to_second_days=int(definitions.first_to_second_max_days),
        )


def parse_breakdowns(by: str | Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """Parse breakdown names; a combined breakdown joins names with ``x``.

    Parameters
    ----------
    by
        Names, as a sequence or one comma-separated string, e.g.
        ``"england,provider,provider x age_band"``; ``all`` stands for every base breakdown.

    Returns
    -------
    tuple of tuple of str
        One tuple of base breakdown names per requested breakdown, duplicates removed.

    Raises
    ------
    ConfigError
        If a name is not a known breakdown (docs/measures.md §3) or nothing is requested.

    Notes
    -----
    Breakdowns are those of docs/measures.md §3; ``england`` is the single group ``England``.

    Examples
    --------
    >>> parse_breakdowns("england, provider x age_band")
    (('england',), ('provider', 'age_band'))
    """
    items = [p for p in by.split(",")] if isinstance(by, str) else list(by)
    out: list[tuple[str, ...]] = []
    for item in items:
        text = item.strip()
        if not text:
            continue
        if text.lower() == "all":
            # every base breakdown, one after another (icb and region only when named)
            out.extend(
                (b,) for b in BREAKDOWN_COLUMNS if (b,) not in out and b not in LOOKUP_BREAKDOWNS
            )
            continue
        parts = tuple(p.strip().lower() for p in _COMBINE_RE.split(text) if p.strip())
        for p in parts:
            if p not in BREAKDOWN_COLUMNS:
                raise ConfigError(
                    f"breakdown {text!r}: unknown name {p!r}; expected one of "
                    f"{', '.join(BREAKDOWN_COLUMNS)} (combine with 'x', e.g. provider x age_band)."
                )
        if len(set(parts)) != len(parts):
            raise ConfigError(f"breakdown {text!r}: a name is repeated.")
        if parts not in out:
            out.append(parts)
    if not out:
        raise ConfigError(f"breakdowns: expected at least one name, found {by!r}.")
    return tuple(out)


def breakdown_name(parts: tuple[str, ...]) -> str:
    """The name of a (combined) breakdown in the long table.

    Examples
    --------
    >>> breakdown_name(("provider", "age_band"))
    'provider x age_band'
    """
    return BREAKDOWN_SEPARATOR.join(parts)
