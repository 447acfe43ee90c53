"""The day bands of the catalogue's waits, and the counts that split a median's contributors.

The bands are whole days (later date minus earlier, docs/measures.md §5.3): the count of a band
is the number of a cohort's pathways whose wait lies between its first and last day. The
measure families (:mod:`iaptkit.measures.families.cohorts`) count them from these tables, and
the disclosure audit reads them beside a published median (:data:`MEDIAN_COUNTS`): at least
half of a median's contributors lie at or below it and at least half at or above it, so a
median printed beside its band counts bounds them (docs/disclosure-control.md, "Derived
statistics").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "EIGHTEEN_WEEKS_DAYS",
    "MEDIAN_COUNTS",
    "SIX_WEEKS_DAYS",
    "WAITING_WEEKS",
    "WAIT_BAND_DAYS",
    "MedianCounts",
    "wait_band_ranges",
]

#: The NHS wait bands (M024-M027, M032-M035): name suffix, first and last day (``None``: open).
WAIT_BAND_DAYS: tuple[tuple[str, int, int | None], ...] = (
    ("le_28_days", 0, 28),
    ("29_to_56_days", 29, 56),
    ("57_to_90_days", 57, 90),
    ("over_90_days", 91, None),
)
#: Weeks of the waiting list's cumulative bands (``waiting_for_treatment_0_to_{w}_weeks``).
WAITING_WEEKS: tuple[int, ...] = (2, 4, 6, 12, 18)
#: Waits counted by the 6- and 18-week measures (M036, M037, M041, M043): at most these days.
SIX_WEEKS_DAYS = 42
EIGHTEEN_WEEKS_DAYS = 126

Days = tuple[int, int | None]


def wait_band_ranges(prefix: str) -> dict[str, Days]:
    """The count measures of the NHS wait bands under ``prefix``, with their days.

    Examples
    --------
    >>> wait_band_ranges("entered_wait_")["entered_wait_29_to_56_days"]
    (29, 56)
    """
    return {f"{prefix}{name}": (first, last) for name, first, last in WAIT_BAND_DAYS}


@dataclass(frozen=True)
class MedianCounts:
    """The count measures that split the contributors of median ``median`` by value.

    ``partition``: counts that add up to the contributors (every contributor in exactly one);
    ``ranges``: each count measure of the same cell that counts contributors by value, with
    the first and last value it counts (``None``: no last). Values are whole numbers.
    """

    median: str
    partition: tuple[str, ...]
    ranges: Mapping[str, Days]


def _median(median: str, partition: tuple[str, ...], ranges: dict[str, Days]) -> MedianCounts:
    assert all(p in ranges for p in partition), median
    return MedianCounts(median, partition, MappingProxyType(ranges))


_ENTERED = wait_band_ranges("entered_wait_")
_ASSESSED = wait_band_ranges("first_assessment_wait_")
_WAITING: dict[str, Days] = {
    **{f"waiting_for_treatment_0_to_{w}_weeks": (0, 7 * w) for w in WAITING_WEEKS},
    "waiting_for_treatment_over_18_weeks": (EIGHTEEN_WEEKS_DAYS + 1, None),
    "waiting_for_treatment_over_90_days": (91, None),
}

#: Medians published beside counts of their contributors by value (families 1 and 3).
MEDIAN_COUNTS: tuple[MedianCounts, ...] = (
    _median(
        "median_wait_entered",
        tuple(_ENTERED),
        {
            **_ENTERED,
            "entered_waited_6_weeks": (0, SIX_WEEKS_DAYS),
            "entered_waited_18_weeks": (0, EIGHTEEN_WEEKS_DAYS),
        },
    ),
    _median("median_wait_first_assessment", tuple(_ASSESSED), dict(_ASSESSED)),
    _median(
        "median_wait_so_far_waiting_for_treatment",
        ("waiting_for_treatment_0_to_18_weeks", "waiting_for_treatment_over_18_weeks"),
        _WAITING,
    ),
)
