"""Cell keys: every published cell of a release described by what it counts.

A cell is the same cell in two outputs when it counts the same thing: the same extract
(fingerprint), definitions version, measure, period, population filters and breakdown values.
:class:`CellKey` is that description; :class:`CellRecord` adds what an output publishes of the
cell (shown or suppressed, the interval the published value leaves to an attacker, for a rate
its numerator and denominator cells and printed texts). :mod:`iaptkit.release.cellrecords`
derives the records of the two kinds of protected outputs (``protect`` / notebook tables and
``protect_measures`` / ``iaptkit measures`` results).

The records of each output are stored in the release (``internal/<uid>.cellkeys.json``, with
the true values, for the joint audit) and exported without true values in ``cellkeys.json``
(docs/release-format.md), so a checker can re-run the joint audit on the export.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

__all__ = [
    "CellKey",
    "CellRecord",
    "KeyContext",
    "OutputCells",
    "count_box",
]

#: The breakdown label of national rows in a measures table.
ENGLAND = "england"


@dataclass(frozen=True, order=True)
class CellKey:
    """What one cell counts (equal keys: the same cell in every output and release).

    Attributes
    ----------
    fingerprint, definitions_version
        The extract and the definitions the cell was computed from ("" when not given).
    measure
        What is counted (``finished_treatment``; a notebook table's own measure name).
    period_start, period_end
        The period, ISO dates ("" when not given).
    filters
        Population filters as sorted ``(name, value)`` pairs.
    breakdown
        Breakdown values as sorted ``(dim, value)`` pairs; ``()`` is the whole population.
    """

    fingerprint: str
    definitions_version: str
    measure: str
    period_start: str
    period_end: str
    filters: tuple[tuple[str, str], ...] = ()
    breakdown: tuple[tuple[str, str], ...] = ()

    @property
    def dims(self) -> frozenset[str]:
        """The breakdown dimensions of the cell."""
        return frozenset(d for d, _ in self.breakdown)

    def without(self, dim: str) -> CellKey:
        """The parent cell: this cell summed over ``dim``.

        Examples
        --------
        >>> k = CellKey("f", "1", "m", "", "", (), (("provider", "A"), ("sex", "F")))
        >>> k.without("sex").breakdown
        (('provider', 'A'),)
        """
        return replace(self, breakdown=tuple(p for p in self.breakdown if p[0] != dim))

    def label(self) -> str:
        """A short readable label (measure, period, filters, breakdown)."""
        where = ", ".join(f"{d}={v}" for d, v in self.breakdown) or "all"
        period = f" {self.period_start}..{self.period_end}" if self.period_start else ""
        filt = "".join(f" [{k}={v}]" for k, v in self.filters)
        return f"{self.measure}{period}{filt}: {where}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dictionary."""
        return {
            "fingerprint": self.fingerprint,
            "definitions_version": self.definitions_version,
            "measure": self.measure,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "filters": dict(self.filters),
            "breakdown": dict(self.breakdown),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CellKey:
        """The key of :meth:`to_json`."""
        return cls(
            fingerprint=str(data.get("fingerprint") or ""),
            definitions_version=str(data.get("definitions_version") or ""),
            measure=str(data.get("measure") or ""),
            period_start=str(data.get("period_start") or ""),
            period_end=str(data.get("period_end") or ""),
            filters=tuple(sorted((str(k), str(v)) for k, v in (data.get("filters") or {}).items())),
            breakdown=tuple(
                sorted((str(k), str(v)) for k, v in (data.get("breakdown") or {}).items())
            ),
        )


@dataclass(frozen=True)
class KeyContext:
    """What the rows of an output do not say themselves: extract, definitions, period, filters.

    ``scope``: breakdown values the whole output is restricted to, e.g. ``(("provider",
    "R1A"),)`` for a notebook run for one provider: its cells are then sub-populations of the
    England run's cells with the same measure, period and filters.

    ``aliases``: ``(dim, value, measure)``: a cell at ``dim = value`` counts ``measure`` (with
    ``dim`` left out of its breakdown), e.g. ``("outcome", "recovered", "recovered")`` for a
    table of ``finished_treatment`` by recovery outcome. Its key is then that of the same count
    in a ``measures`` output, so the joint audit reads the two outputs as one cell.

    ``period_dim``: a breakdown dim whose values are months (``"2024-05"``) or days
    (``"2024-05-01"``) of the period, e.g. the ``month`` of a monthly trend table. A cell at
    ``period_dim = "2024-05"`` counts the measure over May (clipped to the output's period),
    with the dim left out of its breakdown: its key is that of the same count in a ``measures``
    output of May, and of May's row in a trend table of any other period, so the joint audit
    adds the months up to the period (:func:`iaptkit.release.relations.joint_system`). A value
    that is not a month or day of the period stays in the breakdown.
    """

    fingerprint: str = ""
    definitions_version: str = ""
    measure: str = "count"
    period_start: str = ""
    period_end: str = ""
    filters: tuple[tuple[str, str], ...] = ()
    scope: tuple[tuple[str, str], ...] = ()
    aliases: tuple[tuple[str, str, str], ...] = ()
    period_dim: str = ""

    def period_of(self, pairs: Sequence[tuple[str, str]]) -> tuple[str, str, list[tuple[str, str]]]:
        """A cell's period and the breakdown pairs left once ``period_dim`` is read.

        Examples
        --------
        >>> ctx = KeyContext(period_start="2024-04-15", period_end="2025-03-31",
        ...     period_dim="month")
        >>> ctx.period_of([("month", "2024-04"), ("provider", "A")])
        ('2024-04-15', '2024-04-30', [('provider', 'A')])
        >>> ctx.period_of([("month", "2025-02")])[:2]
        ('2025-02-01', '2025-02-28')
        >>> ctx.period_of([("month", "unknown")])
        ('2024-04-15', '2025-03-31', [('month', 'unknown')])
        """
        whole = (self.period_start, self.period_end, list(pairs))
        if not self.period_dim:
            return whole
        value = dict(pairs).get(self.period_dim)
        span = None if value is None else _span(value)
        if span is None:
            return whole
        start, end = span
        if self.period_start:
            start = max(start, self.period_start)
        if self.period_end:
            end = min(end, self.period_end)
        if start > end:
            return whole  # a month outside the period: not one of its segments
        return start, end, [p for p in pairs if p[0] != self.period_dim]

    def breakdown(self, pairs: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """A cell's breakdown: its own values and the scope (its own win on a shared dim)."""
        own = {d for d, _ in pairs}
        return _sorted_pairs([*pairs, *((d, v) for d, v in self.scope if d not in own)])

    def measure_of(
        self, pairs: Sequence[tuple[str, str]]
    ) -> tuple[str, tuple[tuple[str, str], ...]]:
        """A cell's measure and breakdown, after ``aliases``.

        A dim with aliases becomes part of the measure: a category with an alias is that
        measure, any other is ``measure[dim=value]``. The dim then leaves every breakdown, so
        the release's audit never sums over it: the categories left under it are not the whole
        of their total (its other categories are other measures).

        Examples
        --------
        >>> ctx = KeyContext(measure="finished_treatment",
        ...     aliases=(("outcome", "recovered", "recovered"),))
        >>> ctx.measure_of([("outcome", "recovered"), ("provider", "A")])
        ('recovered', (('provider', 'A'),))
        >>> ctx.measure_of([("outcome", "not recovered")])
        ('finished_treatment[outcome=not recovered]', ())
        >>> ctx.measure_of([("provider", "A")])
        ('finished_treatment', (('provider', 'A'),))
        """
        own = dict(pairs)
        for dim in dict.fromkeys(d for d, _, _ in self.aliases):
            if dim not in own:
                continue
            rest = self.breakdown([p for p in pairs if p[0] != dim])
            for d, value, measure in self.aliases:
                if d == dim and value == own[dim]:
                    return measure, rest
            return f"{self.measure}[{dim}={own[dim]}]", rest
        return self.measure, self.breakdown(pairs)


@dataclass(frozen=True)
class CellRecord:
    """One published cell of one output (a row of its CSV file).

    ``lower``/``upper`` are what the published value tells an attacker of the count (its
    rounding box ``base``, and that a shown count is 0 or at least ``threshold``; ``0``/``inf``
    when suppressed). ``lower``, ``upper`` (a box end may be a true count), ``primary``,
    ``true_value`` and ``width`` (the protection width the cell needs if suppressed) are
    internal; an export has ``base`` and ``threshold``, the box follows from the value shown.
    ``protection_width`` and ``zeros_suppressed`` are the policy's (public, in every export):
    what a small count needs when suppressed, or when the outputs determine it without
    publishing it (a period segment); ``release verify`` reads them (a suppressed cell whose
    interval holds only counts the policy suppresses is a primary, and needs the width).
    """

    key: CellKey
    kind: str
    row: int
    suppressed: bool
    lower: float
    upper: float
    shown: str = ""
    structural_zero: bool = False
    numerator: CellKey | None = None
    denominator: CellKey | None = None
    decimals: int = 1
    rates_from: str = "published"
    texts: tuple[str, ...] = ()
    base: int = 1
    threshold: int = 0
    primary: bool = False
    true_value: float | None = None
    width: float = 1.0
    protection_width: float = 0.0
    zeros_suppressed: bool = False

    def to_json(self, *, internal: bool) -> dict[str, Any]:
        """A JSON-safe dictionary; ``internal=False`` leaves out truth and primary flags."""
        d: dict[str, Any] = {
            "key": self.key.to_json(),
            "kind": self.kind,
            "row": self.row,
            "suppressed": self.suppressed,
            "shown": self.shown,
            "structural_zero": self.structural_zero,
            "base": self.base,
            "threshold": self.threshold,
        }
        if self.kind == "count":  # the policy's (public): what a suppressed small count needs
            d.update(protection_width=self.protection_width)
            d.update(zeros_suppressed=self.zeros_suppressed)
        if self.kind != "count":  # a rate's or a mean's counts
            d.update(
                numerator=None if self.numerator is None else self.numerator.to_json(),
                denominator=None if self.denominator is None else self.denominator.to_json(),
            )
        if self.kind == "rate":
            d.update(
                decimals=self.decimals,
                rates_from=self.rates_from,
                texts=list(self.texts),
            )
        if internal:
            upper = None if math.isinf(self.upper) else self.upper
            d.update(lower=self.lower, upper=upper, primary=self.primary)
            d.update(true_value=self.true_value, width=self.width)
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> CellRecord:
        """The record of :meth:`to_json` (internal fields default when absent)."""
        num, den = d.get("numerator"), d.get("denominator")
        truth = d.get("true_value")
        base, threshold = int(d.get("base", 1)), int(d.get("threshold", 0))
        lower, upper = float(d.get("lower") or 0.0), d.get("upper")
        hi = math.inf if upper is None else float(upper)
        if "lower" not in d and d["kind"] == "count" and not d["suppressed"]:
            shown = str(d.get("shown", "")).strip()
            if shown.lstrip("-").replace(".", "", 1).isdigit():
                lower, hi = count_box(float(shown), base, threshold)
        return cls(
            key=CellKey.from_json(d["key"]),
            kind=str(d["kind"]),
            row=int(d["row"]),
            suppressed=bool(d["suppressed"]),
            lower=lower,
            upper=hi,
            shown=str(d.get("shown", "")),
            structural_zero=bool(d.get("structural_zero", False)),
            numerator=None if not num else CellKey.from_json(num),
            denominator=None if not den else CellKey.from_json(den),
            decimals=int(d.get("decimals", 1)),
            rates_from=str(d.get("rates_from", "published")),
            texts=tuple(str(t) for t in d.get("texts", ())),
            base=base,
            threshold=threshold,
            primary=bool(d.get("primary", False)),
            true_value=None if truth is None else float(truth),
            width=float(d.get("width", 1.0)),
            protection_width=float(d.get("protection_width", 0.0)),
            zeros_suppressed=bool(d.get("zeros_suppressed", False)),
        )


@dataclass(frozen=True)
class OutputCells:
    """The cell records of one output, with the sums its own table states (by record index)."""

    uid: str
    file: str
    records: tuple[CellRecord, ...]
    relations: tuple[tuple[tuple[int, float], ...], ...] = ()
    inequalities: tuple[tuple[tuple[int, float], ...], ...] = ()
    previous: bool = field(default=False)

    def to_json(self, *, internal: bool) -> dict[str, Any]:
        """A JSON-safe dictionary (see :meth:`CellRecord.to_json`)."""
        return {
            "uid": self.uid,
            "file": self.file,
            "cells": [r.to_json(internal=internal) for r in self.records],
            "relations": [[[i, c] for i, c in row] for row in self.relations],
            "inequalities": [[[i, c] for i, c in row] for row in self.inequalities],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any], *, previous: bool = False) -> OutputCells:
        """The output of :meth:`to_json`."""

        def rows(name: str) -> tuple[tuple[tuple[int, float], ...], ...]:
            return tuple(tuple((int(i), float(c)) for i, c in row) for row in d.get(name, []))

        return cls(
            uid=str(d["uid"]),
            file=str(d.get("file", "")),
            records=tuple(CellRecord.from_json(r) for r in d.get("cells", [])),
            relations=rows("relations"),
            inequalities=rows("inequalities"),
            previous=previous,
        )


def count_box(shown: float, base: int, threshold: int) -> tuple[float, float]:
    """What a published count tells: its rounding box, and that it is 0 or at least the threshold.

    Examples
    --------
    >>> count_box(10, 5, 10), count_box(55, 5, 10), count_box(0, 5, 10), count_box(7, 1, 5)
    ((10.0, 12.0), (53.0, 57.0), (0.0, 0.0), (7.0, 7.0))
    """
    if base <= 1:
        return float(shown), float(shown)
    lo, hi = math.ceil(shown - base / 2), math.ceil(shown + base / 2) - 1
    lo = max(lo, 0)
    if hi < threshold:
        return 0.0, 0.0
    return float(max(lo, threshold) if lo > 0 else lo), float(hi)


def _span(value: str) -> tuple[str, str] | None:
    """The first and last day of a month ``YYYY-MM`` or a day ``YYYY-MM-DD`` (ISO)."""
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}", text):
            first = date.fromisoformat(f"{text}-01")
            last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
            return first.isoformat(), last.isoformat()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = date.fromisoformat(text).isoformat()
            return day, day
    except ValueError:
        return None
    return None


def _sorted_pairs(
    pairs: Mapping[str, str] | Sequence[tuple[str, str]],
) -> tuple[tuple[str, str], ...]:
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return tuple(sorted((str(k), str(v)) for k, v in items))
