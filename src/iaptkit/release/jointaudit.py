"""The joint audit of a whole release, and the joint protection that fixes what it finds.

:func:`joint_attack` runs the exact integer attacker (:func:`iaptkit.sdc.integer_attack.
integer_intervals`: counts at their rounding boxes, rates made from unrounded counts at their
published precision) over the :class:`~iaptkit.release.relations.JointSystem` of every
published cell of a release, and of the earlier exports it names. Every suppressed cell must
keep its protection width (primary cells the policy's width, other suppressed cells at least
one: not determined exactly; a cell suppressed by an earlier export the width it had there),
and so must every period segment the outputs give by subtraction whose count the policy would
suppress (``JointSystem.guarded``: April from April-March and May-March), and every segment cut
by an earlier export's period that may be small (:func:`guard_unknown_segments`).

:func:`protect_jointly` is the joint secondary suppression: while a suppressed cell is too
narrow, it suppresses the cheapest published cell of a sum that pins it (a cell shown in one
output and suppressed in another first, everywhere), one per failing cell and round, and
attacks the cells still failing again (suppressing a cell only widens the others' intervals),
then the final pattern whole. Cells published by an earlier export cannot be taken back; when
nothing is left to suppress, it gives up, naming the cell and the outputs. It is the one place
to swap in another solver later.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from iaptkit.release.relations import JointSystem
from iaptkit.sdc.integer_attack import (
    MAX_BOX,
    PairConstraint,
    StatisticFamily,
    consistent_pairs,
    integer_intervals,
)
from iaptkit.sdc.means_audit import PublishedMean, mean_values, statistic_families
from iaptkit.sdc.rates import rate_texts

__all__ = [
    "JointFailure",
    "JointResult",
    "guard_unknown_segments",
    "joint_attack",
    "protect_jointly",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class JointFailure:
    """A suppressed cell the joint attacker narrows below its protection width."""

    cell: int
    label: str
    lower: float
    upper: float
    required: float
    outputs: tuple[str, ...]

    def describe(self) -> str:
        """One line: the cell, its interval, the width it needs, the outputs involved."""
        return (
            f"{self.label}: the outputs {', '.join(self.outputs)} together narrow it to "
            f"[{self.lower:g}, {self.upper:g}] (width {self.upper - self.lower:g}, "
            f"needs {self.required:g})"
        )


@dataclass(frozen=True)
class JointResult:
    """The joint audit's verdict after joint protection (if any)."""

    passed: bool
    failures: tuple[JointFailure, ...]
    added: tuple[int, ...]
    value_mass: float
    n_suppressed: int
    n_cells: int
    steps: int


def _printer(decimals: int) -> Callable[[int, int], tuple[str, ...]]:
    return lambda n, d: rate_texts(n, d, decimals)


def _pairs(system: JointSystem, hidden: BoolArray) -> list[PairConstraint]:
    out: list[PairConstraint] = []
    for num, den, decimals, _uid, texts, _rule in system.rates:
        if hidden[num] or hidden[den] or len(texts) != 3:
            continue
        boxes = [(system.lower[c], system.upper[c]) for c in (num, den)]
        if any(not np.isfinite(hi) or hi - lo + 1 > MAX_BOX for lo, hi in boxes):
            continue
        pairs = consistent_pairs(boxes[0], boxes[1], _printer(decimals), tuple(texts))
        if pairs:
            out.append(PairConstraint(num, den, pairs))
    return out


def _families(system: JointSystem, hidden: BoolArray) -> list[StatisticFamily]:
    """The published means (of counts no output hides) with the sums behind them."""
    if not system.mean_cohorts:
        return []
    shown = [
        PublishedMean(k, measure, den, value, decimals)
        for k, (den, measure, value, decimals, _uid) in enumerate(system.means)
        if not hidden[den]
    ]
    index = {key: i for i, key in enumerate(system.keys)}

    def sum_cell(cell: int, measure: str) -> int | None:
        return index.get(replace(system.keys[cell], measure=measure))

    return statistic_families(shown, _with_segments(system), system.equalities, sum_cell)


def _with_segments(system: JointSystem) -> dict[str, list[tuple[int, float]]]:
    """Every mean's groups, with the period segments of its cohorts (flows only).

    Two overlapping periods' means give the sums of their segments by difference (the
    sessions of April's courses are April-March's less May-March's): a segment of a cohort
    whose periods are published gets a sum and contributors of its own (true mean unknown).
    """
    segment_rows = [row for row in system.equalities if any(system.latent[c] for c in row)]
    out: dict[str, list[tuple[int, float]]] = {}
    for measure, groups in system.mean_cohorts.items():
        extended = list(groups)
        if mean_values(measure).over_time:
            cells = {c for c, _ in groups}
            for row in segment_rows:
                # a period and its segments: one measure, the period a cohort of this mean
                rest = [c for c in row if not system.latent[c]]
                one = {system.keys[c].measure for c in row}
                if rest and len(one) == 1 and all(c in cells for c in rest):
                    for c in row:
                        if c not in cells:
                            extended.append((c, float("nan")))
                            cells.add(c)
        out[measure] = extended
    return out


def joint_attack(
    system: JointSystem,
    hidden: BoolArray,
    targets: BoolArray,
    enough: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """The attacker's whole-number interval of every ``targets`` cell.

    ``hidden``: cells no output publishes (known only ``>= 0``, as are period segments); a
    cell published anywhere is known within its box. ``enough``: per cell, a width that
    settles its check (the interval of a cell shown at least that wide is then inward, see
    :func:`iaptkit.sdc.integer_attack.integer_intervals`); ``None``: every interval exact.
    """
    lower = np.array(system.lower, dtype=float)
    upper = np.array(system.upper, dtype=float)
    free = hidden | np.array(system.latent, dtype=bool)
    lower[free] = 0.0
    upper[free] = np.inf
    zero = np.array(system.structural_zero, dtype=bool)
    upper[zero] = 0.0
    eq = system.matrix(system.equalities)
    ineq = system.matrix(system.inequalities) if system.inequalities else None
    want = targets & ~zero
    pairs = _pairs(system, hidden)
    families = _families(system, hidden)
    try:
        return integer_intervals(
            eq, ineq, lower, upper, want, pairs, families=families, enough=enough
        )
    except ValueError:
        if not families:
            raise
        integer_intervals(eq, ineq, lower, upper, want, pairs, enough=enough)  # counts fit?
        # they do: the means do not (a mean outside the range the attacker is assumed to know
        # of its values); unaudited means are not released
        raise ValueError(
            "the published means do not fit what is known of their values (expected means "
            "within the values' range, docs/disclosure-control.md 'Derived statistics'); "
            "they cannot be audited with the counts"
        ) from None


def guard_unknown_segments(system: JointSystem) -> list[int]:
    """Guard the period segments whose true count is unknown but may be small.

    A segment cut by an earlier export's period (``--previous``: April-March published before,
    April-February now) has no true count in the build. Where the attacker's interval of it,
    from everything published, still admits a count the policy would suppress (1 to threshold
    - 1, or 0 where zeros are suppressed), it needs the policy's protection width, as a small
    segment the build knows does; intervals only widen as cells are suppressed, so deciding on
    the narrowest interval is the cautious choice. Returns the segments guarded.
    """
    cells = [i for i in system.unknown_segments() if system.policy[i][1] > 1.0]
    if not cells:
        return []
    targets = np.zeros(system.n, dtype=bool)
    targets[cells] = True
    hidden = system.suppressed() & ~np.array([bool(s) for s in system.shown_in], dtype=bool)
    lo, hi = joint_attack(system, hidden, targets)
    guarded = []
    for i in cells:
        threshold, width, zeros = system.policy[i]
        small = (hi[i] >= 1 and lo[i] <= threshold - 1) or (lo[i] == 0 and zeros)
        if small and hi[i] - lo[i] < width:
            system.width[i] = width
            guarded.append(i)
    return guarded


def _failures(
    system: JointSystem, hidden: BoolArray, lo: FloatArray, hi: FloatArray, cells: Sequence[int]
) -> list[JointFailure]:
    out = []
    for i in cells:
        if not hidden[i] or system.structural_zero[i]:
            continue
        need = max(system.width[i], 1.0, _primary_width(system, i, lo[i], hi[i]))
        if hi[i] - lo[i] < need - 1e-9:
            where = tuple(sorted(_involved(system, i)))
            out.append(JointFailure(i, system.label(i), float(lo[i]), float(hi[i]), need, where))
    return out


def _primary_width(system: JointSystem, cell: int, lo: float, hi: float) -> float:
    """The policy's width where every count in ``[lo, hi]`` is one the policy suppresses.

    Such a cell is a primary whatever its true count (a secondary is a count the policy
    publishes), so it needs the protection width: ``release verify``, which has no true counts
    nor primary flags, checks it so.
    """
    threshold, width, zeros = system.policy[cell]
    if threshold <= 1 or width <= 1:
        return 0.0
    small = hi <= threshold - 1 and (lo >= 1 or zeros)
    return width if small else 0.0


def _involved(system: JointSystem, cell: int, depth: int = 3) -> set[str]:
    """The outputs of the cells linked to ``cell`` by up to ``depth`` sums (the conflict)."""
    rows = [*system.equalities, *system.inequalities]
    seen, layer = {cell}, {cell}
    for _ in range(depth):
        layer = {k for r in rows if layer & r.keys() for k in r} - seen
        seen |= layer
    return {uid for c in seen for uid in (*system.shown_in[c], *system.hidden_in[c])}


def _rows_of(system: JointSystem) -> list[list[int]]:
    rows: list[list[int]] = [[] for _ in range(system.n)]
    for r, row in enumerate([*system.equalities, *system.inequalities]):
        for c in row:
            rows[c].append(r)
    return rows


def _candidate(
    system: JointSystem, hidden: BoolArray, cell: int, rows_of: list[list[int]]
) -> int | None:
    """The cheapest published cell whose suppression can widen ``cell`` (``None``: none)."""
    if not hidden[cell]:
        if system.frozen[cell]:
            return None  # published by an earlier export: cannot be taken back
        return cell  # shown in one output, suppressed in another: suppress it everywhere
    all_rows = [*system.equalities, *system.inequalities]

    def ok(c: int) -> bool:
        return not (hidden[c] or system.latent[c] or system.frozen[c] or system.structural_zero[c])

    def cost(c: int) -> tuple[float, int]:
        t = system.truth[c]
        return (float(t) if t is not None else float(system.upper[c]), c)

    # breadth first over the sums: the nearest published cells, smallest first
    seen, frontier, depth = {cell}, deque([cell]), {cell: 0}
    best: list[int] = []
    while frontier:
        c = frontier.popleft()
        if best and depth[c] >= depth[best[0]]:
            break
        for r in rows_of[c]:
            for k in all_rows[r]:
                if k in seen:
                    continue
                seen.add(k)
                depth[k] = depth[c] + 1
                if ok(k):
                    best.append(k)
                frontier.append(k)
    return min(best, key=cost) if best else None


def protect_jointly(
    system: JointSystem, *, protect: bool = True, max_steps: int = 500
) -> JointResult:
    """Audit ``system`` jointly and, with ``protect``, suppress more until it passes.

    Returns
    -------
    JointResult
        ``added``: the cells newly suppressed (in every output that shows them); ``failures``
        those still too narrow (joint protection off, or impossible).

    Examples
    --------
    England 30 published, providers A (suppressed, 4) and B (26 published): A = 30 - 26.

    >>> from dataclasses import replace
    >>> from iaptkit.release.cellkeys import CellKey, CellRecord, OutputCells
    >>> from iaptkit.release.relations import joint_system
    >>> k = CellKey("f", "1", "m", "", "")
    >>> a, b = (replace(k, breakdown=(("provider", p),)) for p in "AB")
    >>> e = CellRecord(k, "count", 0, False, 30, 30, true_value=30)
    >>> eng = OutputCells("eng", "e.csv", (e,))
    >>> prov = OutputCells("prov", "p.csv", (
    ...     CellRecord(a, "count", 0, True, 0, np.inf, primary=True, true_value=4, width=10),
    ...     CellRecord(b, "count", 1, False, 26, 26, true_value=26)))
    >>> protect_jointly(joint_system([eng, prov]), protect=False).failures[0].upper
    4.0
    >>> r = protect_jointly(joint_system([eng, prov]))
    >>> r.passed, r.added, r.value_mass
    (True, (2,), 26.0)
    """
    targets = system.suppressed() | system.guarded()
    shown = np.array([bool(s) for s in system.shown_in], dtype=bool)
    hidden = targets & ~shown
    rows_of = _rows_of(system)
    added: list[int] = []
    if protect:
        # a cell one output suppresses and another shows is hidden everywhere it can be (an
        # earlier export's cells are fixed): no output contradicts another, and the attacker
        # below then decides whether that cell, now hidden, keeps what it needs
        both = np.flatnonzero(targets & shown & ~np.array(system.frozen, dtype=bool))
        hidden[both] = True
        added.extend(int(c) for c in both)
    steps = 0
    # the most any cell can need: its width, or the policy's where it may be a primary
    most = np.maximum(np.maximum(np.array(system.width, dtype=float), 1.0),
                      np.array([w for _, w, _ in system.policy], dtype=float))  # fmt: skip
    lo, hi = joint_attack(system, hidden, targets, most)
    fails = _failures(system, targets, lo, hi, range(system.n))
    all_rows = [*system.equalities, *system.inequalities]
    while fails and protect and steps < max_steps:
        steps += 1
        # one round: a cell to suppress for each failing cell not next to one picked already
        picks: list[int] = []
        touched: set[int] = set()
        for f in sorted(fails, key=lambda f: (f.upper - f.lower - f.required, f.cell)):
            if f.cell in touched:
                continue
            pick = _candidate(system, hidden, f.cell, rows_of)
            if pick is None or pick in picks:
                continue
            picks.append(pick)
            hidden[pick] = targets[pick] = True
            touched.update(k for r in rows_of[pick] for k in all_rows[r])
        if not picks:
            break
        added.extend(p for p in picks if p not in added)
        # suppressing a cell only takes a constraint away: intervals only widen, so a cell that
        # passed still passes; only the failing cells and the newly suppressed ones are attacked
        recheck = np.zeros(system.n, dtype=bool)
        recheck[[f.cell for f in fails]] = True
        recheck[picks] = True
        lo_r, hi_r = joint_attack(system, hidden, targets & recheck, most)
        lo[recheck], hi[recheck] = lo_r[recheck], hi_r[recheck]
        fails = _failures(system, targets, lo, hi, range(system.n))
    if added and not fails:  # the final pattern, attacked whole once more
        lo, hi = joint_attack(system, hidden, targets, most)
        fails = _failures(system, targets, lo, hi, range(system.n))
    mass = sum(float(system.truth[c] or 0.0) for c in added)
    return JointResult(
        passed=not fails,
        failures=tuple(fails),
        added=tuple(added),
        value_mass=mass,
        n_suppressed=int((targets & ~np.array(system.latent, dtype=bool)).sum()),
        n_cells=int((~np.array(system.latent, dtype=bool)).sum()),
        steps=steps,
    )
