"""Relations from cell keys: one linear system over every published cell of a release.

From the :class:`~iaptkit.release.cellkeys.CellKey` of each cell the attacker's knowledge
follows (docs/disclosure-control.md, "Linked outputs"):

* **the same cell** in two outputs (equal keys) is one unknown;
* **sub-populations add up to their parent**: the cells of a published breakdown under a cell
  add up to it (providers to England, ``a x b`` summed over ``b`` to ``a`` and over ``a`` to
  ``b``, and over both to the total; every breakdown's categories to the total);
* **periods that nest or overlap**: the periods of one cell are cut into segments at every
  period boundary; each published period is the sum of its segments (unpublished, unknown,
  ``>= 0``), so April-March minus May-March is April. A segment the outputs' true counts
  determine (a build) is a count the release gives away by subtraction: when the policy would
  suppress it (a small count, or a zero where zeros are suppressed) it needs the policy's
  protection width like a primary cell (``JointSystem.guarded``);
* **measures** of one cell (:func:`iaptkit.sdc.measure_relations.cell_relations`): parts that
  add up to a total (``finished_treatment = at_caseness + not_at_caseness``, wait bands to
  those entering treatment, end codes to ended referrals, ...), nested counts
  (``recovered <= at_caseness``) and the sums' bounds (``2 x courses <= their sessions``), for
  period segments too where their true counts are known;
* **means**: every published mean (``JointSystem.means``) with its contributor count, read by
  the integer attacker with the sum behind it (:mod:`iaptkit.sdc.means_audit`);
* **medians**: a published median beside the band counts of its contributors bounds them (at
  least half lie on each side, :func:`iaptkit.sdc.measure_relations.median_rows`);
* each output's own sums (margins, hierarchies).

With true values known (a build), a sum is added only where it holds on the true values (a fact
an attacker may know; a category a table leaves out is then a known zero); without them
(``release verify``, earlier exports) where the children cover every category seen (absent
categories unknown; the export carries the build's relations for verify,
:mod:`iaptkit.release.keyrelations`). Counts are whole numbers ``>= 0``.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import linprog

from iaptkit.definitions.bands import MEDIAN_COUNTS
from iaptkit.release.cellkeys import CellKey, OutputCells
from iaptkit.sdc.derived import MEAN_DECIMALS
from iaptkit.sdc.integer_attack import rows_matrix
from iaptkit.sdc.measure_relations import cell_relations
from iaptkit.sdc.median_relations import median_rows

__all__ = ["JointSystem", "joint_system"]

Row = dict[int, float]


@dataclass
class JointSystem:
    """The joint cell space of a release: counts (and period segments) with their relations.

    ``shown_in`` / ``hidden_in`` name the outputs that publish / suppress each cell; ``frozen``
    cells cannot be suppressed any more (published by an earlier export); ``latent`` cells are
    period segments no output publishes. ``policy`` is, per cell, the policy's threshold,
    protection width and whether it suppresses zeros (``(0, 0, False)``: not known).
    """

    keys: list[CellKey] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    truth: list[float | None] = field(default_factory=list)
    width: list[float] = field(default_factory=list)
    structural_zero: list[bool] = field(default_factory=list)
    latent: list[bool] = field(default_factory=list)
    frozen: list[bool] = field(default_factory=list)
    shown_in: list[list[str]] = field(default_factory=list)
    hidden_in: list[list[str]] = field(default_factory=list)
    equalities: list[Row] = field(default_factory=list)
    inequalities: list[Row] = field(default_factory=list)
    rates: list[tuple[int, int, int, str, tuple[str, ...], str]] = field(default_factory=list)
    #: published means: (contributor count cell, measure, value shown, decimals, output uid)
    means: list[tuple[int, str, float, int, str]] = field(default_factory=list)
    #: every mean's contributor count cell and true mean (nan when unknown), by measure
    mean_cohorts: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    conflicts: list[tuple[str, str, str]] = field(default_factory=list)
    policy: list[tuple[float, float, bool]] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Number of cells."""
        return len(self.keys)

    def add(self, key: CellKey | None, *, latent: bool = False) -> int:
        """A new cell (nothing known of it yet); its index."""
        self.keys.append(key if key is not None else CellKey("", "", "", "", ""))
        self.lower.append(0.0)
        self.upper.append(np.inf)
        self.truth.append(None)
        self.width.append(1.0)
        self.structural_zero.append(False)
        self.latent.append(latent)
        self.frozen.append(False)
        self.shown_in.append([])
        self.hidden_in.append([])
        self.policy.append((0.0, 0.0, False))
        return self.n - 1

    def suppressed(self) -> npt.NDArray[np.bool_]:
        """Cells suppressed in at least one output."""
        return np.array([bool(h) for h in self.hidden_in], dtype=bool)

    def unknown_segments(self) -> list[int]:
        """Period segments whose true count the build does not know (an earlier export's period)."""
        return [i for i in range(self.n) if self.latent[i] and self.truth[i] is None]

    def guarded(self) -> npt.NDArray[np.bool_]:
        """Period segments that need a protection width (small counts given by subtraction)."""
        return np.array(
            [lat and w > 1.0 for lat, w in zip(self.latent, self.width, strict=True)], dtype=bool
        )

    def matrix(self, rows: Sequence[Row]) -> sparse.csr_matrix:
        """Rows as a sparse matrix over the cells."""
        return rows_matrix(rows, self.n)

    def label(self, i: int) -> str:
        """Readable label of cell ``i`` with the outputs that carry it."""
        where = sorted({*self.shown_in[i], *self.hidden_in[i]})
        return f"{self.keys[i].label()} ({', '.join(where) or 'period segment'})"


def _merge(system: JointSystem, index: dict[CellKey, int], out: OutputCells) -> list[int]:
    """Add an output's count records; returns the cell of each record (-1 for non-counts)."""
    cells: list[int] = []
    for rec in out.records:
        if rec.kind != "count":
            cells.append(-1)
            continue
        i = index.get(rec.key)
        if i is None:
            i = index[rec.key] = system.add(rec.key)
        cells.append(i)
        if rec.structural_zero:
            system.structural_zero[i] = True
            system.upper[i] = 0.0
        if rec.suppressed:
            system.hidden_in[i].append(out.uid)
        else:
            system.shown_in[i].append(out.uid)
            system.lower[i] = max(system.lower[i], rec.lower)
            system.upper[i] = min(system.upper[i], rec.upper)
        if rec.true_value is not None and not out.previous:
            old = system.truth[i]
            if old is not None and old != rec.true_value:
                first = (system.shown_in[i] + system.hidden_in[i])[0]
                system.conflicts.append((rec.key.label(), first, out.uid))
            system.truth[i] = rec.true_value
        system.width[i] = max(system.width[i], rec.width if rec.suppressed else 1.0)
        old_t, old_w, old_z = system.policy[i]
        system.policy[i] = (
            max(old_t, float(rec.threshold)),
            max(old_w, rec.protection_width),
            old_z or rec.zeros_suppressed,
        )
        if out.previous and not rec.suppressed:
            system.frozen[i] = True
    for rows, target in (
        (out.relations, system.equalities),
        (out.inequalities, system.inequalities),
    ):
        for row in rows:
            mapped: Row = {}
            for r, coef in row:
                if 0 <= r < len(cells) and cells[r] >= 0:
                    mapped[cells[r]] = mapped.get(cells[r], 0.0) + coef
            if mapped:
                target.append(mapped)
    return cells


def _holds(system: JointSystem, row: Row, *, equal: bool) -> bool:
    """Whether ``row @ truth == 0`` (``<= 0``); unknown truths: assumed (see module doc)."""
    truths = [system.truth[c] for c in row]
    if any(t is None for t in truths):
        return True
    total = sum(
        coef * float(t) for coef, t in zip(row.values(), truths, strict=True) if t is not None
    )
    return abs(total) < 1e-9 if equal else total <= 1e-9


def _sums(system: JointSystem, cells: Sequence[int]) -> None:
    """Sub-populations add up to their parent (providers -> England, a x b -> a, b, England).

    A cell of breakdown dims ``D`` is the sum of its cells of every published shape ``S``
    containing ``D`` with no published shape between (``a x b`` cells add up to the ``a`` cells,
    to the ``b`` cells and, with neither margin published, straight to the total). With true
    values (a build), the sum is taken where it holds on them: an absent category (a row a table
    does not have) is then a known zero, as a reader takes it. A cell with no row at all under
    it in shape ``S`` has no sum over ``S`` (the empty sum): that no output shows a row there
    says nothing when no output covers the cell's population (a provider no run was made for),
    and taking it wherever the true count is 0 refused the report notebooks' provider runs.
    Without true values (``release verify``), absent categories are unknown: a sum is assumed
    only where the cells under the parent cover every category of each summed dimension seen in
    that shape.
    """
    under: dict[tuple[CellKey, frozenset[str]], list[int]] = defaultdict(list)
    cats: dict[tuple[CellKey, frozenset[str], str], set[str]] = defaultdict(set)
    shapes: dict[CellKey, set[frozenset[str]]] = defaultdict(set)
    for i in cells:
        key = system.keys[i]
        shapes[replace(key, breakdown=())].add(key.dims)
    for i in cells:
        key = system.keys[i]
        base = replace(key, breakdown=())
        for d, v in key.breakdown:
            cats[(base, key.dims, d)].add(v)
        for shape in shapes[base]:
            if shape < key.dims:  # key lies under its restriction to ``shape``
                parent = replace(key, breakdown=tuple(p for p in key.breakdown if p[0] in shape))
                under[(parent, key.dims)].append(i)
    for j in cells:
        key = system.keys[j]
        base = replace(key, breakdown=())
        for shape in sorted(shapes[base], key=sorted):
            if not key.dims < shape:
                continue
            if any(key.dims < mid < shape for mid in shapes[base]):
                # a shape published between: the sums of each step say it, and a direct sum
                # over a finer shape that covers only part of the cell (provider runs made for
                # two providers of four) would hold on the true counts by coincidence alone
                continue
            kids = under.get((key, shape), [])
            if not kids:
                continue  # no row under j in that shape: no sum (the empty sum, docstring)
            row: Row = {k: 1.0 for k in kids}
            row[j] = -1.0
            if system.truth[j] is not None and all(system.truth[k] is not None for k in kids):
                if _holds(system, row, equal=True):
                    system.equalities.append(row)
                continue
            covered = all(
                {v for k in kids for dd, v in system.keys[k].breakdown if dd == d}
                >= cats[(base, shape, d)]
                for d in shape - key.dims
            )
            if covered:
                system.equalities.append(row)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _periods(system: JointSystem, cells: Sequence[int]) -> None:
    """Periods that nest or overlap: each period is the sum of its segments."""
    groups: dict[CellKey, list[int]] = defaultdict(list)
    for i in cells:
        groups[replace(system.keys[i], period_start="", period_end="")].append(i)
    for members in groups.values():
        spans: dict[tuple[date, date], int] = {}
        for i in members:
            s, e = _day(system.keys[i].period_start), _day(system.keys[i].period_end)
            if s is not None and e is not None and e >= s:
                spans[(s, e)] = i
        if len(spans) < 2:
            continue
        points = sorted({p for s, e in spans for p in (s, e + timedelta(days=1))})
        segments = [
            (a, b)
            for a, b in itertools.pairwise(points)
            if any(s <= a and b <= e + timedelta(days=1) for s, e in spans)
        ]
        cover = {
            span: [
                k
                for k, (a, b) in enumerate(segments)
                if span[0] <= a and b <= span[1] + timedelta(days=1)
            ]
            for span in spans
        }
        shared = any(sum(k in ks for ks in cover.values()) > 1 for k in range(len(segments)))
        if not shared:
            continue  # disjoint periods: no relation
        truths = [system.truth[spans[s]] for s in spans]
        if all(t is not None for t in truths):
            # only for counts that add over time: some segment values >= 0 give every period
            a_eq = np.zeros((len(spans), len(segments)))
            for r, span in enumerate(spans):
                a_eq[r, cover[span]] = 1.0
            done = linprog(np.zeros(len(segments)), A_eq=a_eq, b_eq=np.array(truths, dtype=float),
                           bounds=(0, None), method="highs")  # fmt: skip
            if done.status != 0:
                continue
        base = system.keys[members[0]]
        seg_cells = [
            system.add(
                replace(
                    base, period_start=a.isoformat(), period_end=(b - timedelta(days=1)).isoformat()
                ),
                latent=True,
            )
            for a, b in segments
        ]
        for span, i in spans.items():
            row: Row = {seg_cells[k]: 1.0 for k in cover[span]}
            row[i] = -1.0
            system.equalities.append(row)
        if all(t is not None for t in truths):
            _guard_segments(system, seg_cells, a_eq, truths, list(spans.values()))
        else:  # an earlier export's period (no true count): the policy, for unknown_segments
            thresholds, widths, zeros = zip(
                *(system.policy[i] for i in spans.values()), strict=True
            )
            for cell in seg_cells:
                system.policy[cell] = (max(thresholds), max(widths), any(zeros))


def _guard_segments(
    system: JointSystem,
    seg_cells: Sequence[int],
    a_eq: npt.NDArray[np.float64],
    truths: Sequence[float | None],
    periods: Sequence[int],
) -> None:
    """Segments the true counts of the periods determine: their value, and their width if small.

    A segment is determined when its smallest and largest value over every split of the
    periods' true counts into segments ``>= 0`` agree (e.g. April = April-March - May-March).
    It then needs the policy's protection width when the policy would suppress its value.
    """
    b_eq = np.array(truths, dtype=float)
    thresholds, widths, zeros = zip(*(system.policy[i] for i in periods), strict=True)
    threshold, width, zeros_hidden = max(thresholds), max(widths), any(zeros)
    for k, cell in enumerate(seg_cells):
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(len(seg_cells))
            c[k] = sign
            done = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            ends.append(sign * float(done.fun) if done.status == 0 else np.nan)
        if np.isnan(ends).any() or abs(ends[0] - ends[1]) > 1e-6:
            continue
        value = float(round(ends[0]))
        system.truth[cell] = value
        system.policy[cell] = (threshold, width, zeros_hidden)
        small = 0 < value < threshold or (value == 0 and zeros_hidden)
        if small and width > 1.0:
            system.width[cell] = width


def _measures(system: JointSystem, cells: Sequence[int], *, known: bool = False) -> None:
    """Relations between the measures of one cell (docs/measures.md).

    ``known``: only rows whose every cell's true count is known and satisfies them (period
    segments: a segment of a count that is not a flow, such as a waiting list at two period
    ends, need not keep the relations of the counts).
    """
    by_context: dict[CellKey, dict[str, int]] = defaultdict(dict)
    for i in cells:
        key = system.keys[i]
        by_context[replace(key, measure="")][key.measure] = i

    def holds(row: Row, equal: bool) -> bool:
        if known and any(system.truth[c] is None for c in row):
            return False
        return _holds(system, row, equal=equal)

    for measures in by_context.values():
        eqs, ineqs = cell_relations(measures, holds)
        system.equalities.extend(eqs)
        system.inequalities.extend(ineqs)


def joint_system(outputs: Sequence[OutputCells], *, derive: bool = True) -> JointSystem:
    """The joint cell space of ``outputs`` (current outputs and earlier exports' cells).

    ``derive=False``: only the outputs' own sums and the rates, no relation derived from the
    keys (``release verify`` then adds the build's relations).

    Examples
    --------
    England 30 = A + B (two outputs: England, and providers with A suppressed):

    >>> from iaptkit.release.cellkeys import CellRecord
    >>> k = CellKey("f", "1", "m", "2024-04-01", "2025-03-31")
    >>> a, b = (replace(k, breakdown=(("provider", p),)) for p in "AB")
    >>> eng = OutputCells("eng", "eng.csv", (CellRecord(k, "count", 0, False, 30, 30),))
    >>> prov = OutputCells("prov", "prov.csv", (CellRecord(a, "count", 0, True, 0, np.inf),
    ...     CellRecord(b, "count", 1, False, 26, 26)))
    >>> s = joint_system([eng, prov])
    >>> s.n, [sorted(r.values()) for r in s.equalities]
    (3, [[-1.0, 1.0, 1.0]])
    """
    system = JointSystem()
    index: dict[CellKey, int] = {}
    for out in outputs:
        _merge(system, index, out)
    cells = list(range(system.n))
    if derive:
        _sums(system, cells)
        _periods(system, cells)
        _measures(system, cells)
        # the measures of a period segment (April = April-March less May-March) relate as
        # those of a period do: recovered <= at_caseness, 2 x courses <= their sessions
        _measures(system, range(len(cells), system.n), known=True)
    for out in outputs:
        for rec in out.records:
            if rec.kind != "rate" or rec.suppressed or rec.numerator is None:
                continue
            if rec.rates_from != "unrounded" or rec.denominator is None:
                continue  # a rate of published counts tells nothing the counts do not
            num, den = index.get(rec.numerator), index.get(rec.denominator)
            if num is not None and den is not None:
                system.rates.append((num, den, rec.decimals, out.uid, rec.texts, rec.rates_from))
        _means(system, index, out)
        if derive:
            _medians(system, index, out)
    return system


def _means(system: JointSystem, index: dict[CellKey, int], out: OutputCells) -> None:
    """The means of ``out`` (``mean_*`` measures with a contributor count in the system)."""
    for rec in out.records:
        if rec.kind != "other" or not rec.key.measure.startswith("mean_"):
            continue
        den = index.get(rec.denominator) if rec.denominator is not None else None
        if den is None:
            continue
        truth = float("nan") if rec.true_value is None else float(rec.true_value)
        groups = system.mean_cohorts.setdefault(rec.key.measure, [])
        if all(c != den for c, _ in groups):
            groups.append((den, truth))
        if rec.suppressed:
            continue
        try:
            shown = float(rec.shown)
        except ValueError:
            continue
        if np.isfinite(shown):
            system.means.append((den, rec.key.measure, shown, MEAN_DECIMALS, out.uid))


def _medians(system: JointSystem, index: dict[CellKey, int], out: OutputCells) -> None:
    """The bounds a published median gives the band counts of its cell (:func:`median_rows`)."""
    specs = {m.median: m for m in MEDIAN_COUNTS}
    for rec in out.records:
        spec = specs.get(rec.key.measure)
        if rec.kind != "other" or spec is None or rec.suppressed:
            continue
        try:
            shown = float(rec.shown)
        except ValueError:
            continue
        decimals = len(rec.shown.split(".", 1)[1]) if "." in rec.shown else 0
        cells = {
            name: cell
            for name in spec.ranges
            if (cell := index.get(replace(rec.key, measure=name))) is not None
        }
        for row in median_rows(cells, spec, shown, decimals):
            if _holds(system, row, equal=False):
                system.inequalities.append(row)
