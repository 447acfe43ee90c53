"""The relations an attacker knows between the counts of a published measures table.

Within a breakdown that partitions England the groups add up to the England value (and a
combined breakdown ``a x b`` adds up to ``a``, to ``b`` and to England); between the measures of
one cell the equalities, inequalities and sums' bounds below. Each is taken only where the true
counts satisfy it (docs/disclosure-control.md, "Derived statistics").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from iaptkit.definitions.labels import BREAKDOWN_SEPARATOR, GROUP_SEPARATOR

__all__ = [
    "CELL_KEY",
    "MEASURE_EQUALITIES",
    "MEASURE_INEQUALITIES",
    "MEASURE_SCALED_BOUNDS",
    "cell_relations",
    "holds_on",
    "measure_parts",
    "measure_relations",
    "scaled_rows",
]

#: The columns that name a cell of a measures table.
CELL_KEY = ("period_start", "period_end", "breakdown", "group", "measure")
#: ``total = sum(parts)`` between measures of the same period, breakdown and group: parts
#: that split the total's pathways (or appointments) by a value, none in two parts (from the
#: definitions of docs/measures.md and the catalogue's families). Where the true counts do not
#: add up (negative waits are not banded; a site's own end codes; a table of some parts only)
#: the parts still count distinct pathways of the total, so ``sum(parts) <= total`` is taken.
#: A part ending in ``*`` stands for every measure of the cell whose name starts with it.
MEASURE_EQUALITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("finished_treatment", ("at_caseness", "not_at_caseness")),
    # family 1: the NHS wait bands of those entering treatment and first assessed
    ("entered_treatment", ("entered_wait_*",)),
    ("first_assessment", ("first_assessment_wait_*",)),
    # family 2: ended referrals by end code, by group of codes, by treatment
    ("ended_referrals", ("ended_endcode_*",)),
    ("ended_referrals", ("ended_group_*",)),
    ("ended_referrals", ("ended_before_treatment", "ended_after_treatment")),
    ("ended_before_treatment", ("ended_not_seen", "ended_seen_not_treated")),
    ("ended_referrals", ("ended_not_seen", "ended_seen_not_treated", "ended_treated_once_or_more")),
    # family 3: the stocks at the period end
    ("open_referrals", ("waiting_for_treatment", "open_in_treatment")),
    (
        "waiting_for_treatment",
        ("waiting_for_treatment_0_to_18_weeks", "waiting_for_treatment_over_18_weeks"),
    ),
    (
        "open_in_treatment",
        (
            "open_no_activity_le_60_days",
            "open_no_activity_61_to_90_days",
            "open_no_activity_91_to_120_days",
            "open_no_activity_over_120_days",
        ),
    ),
    (
        "open_no_activity_over_90_days",
        ("open_no_activity_91_to_120_days", "open_no_activity_over_120_days"),
    ),
    # family 4: first to second treatment
    ("second_treatment", ("first_to_second_le_28_days", "first_to_second_over_28_days")),
    (
        "first_to_second_over_28_days",
        ("first_to_second_29_to_90_days", "first_to_second_over_90_days"),
    ),
    ("finished_treatment", ("finished_first_to_second_*",)),
    # family 6: referrals by source
    ("referrals_received", ("self_referrals", "referrals_source_*")),
    # family 7: stepped care
    ("finished_treatment", ("stepped_care_*",)),
    # family 8: employment and long-term conditions of finished courses
    ("finished_treatment", ("finished_first_employment_*",)),
    ("finished_treatment", ("finished_last_employment_*",)),
    ("finished_treatment", ("finished_ltc", "finished_no_ltc", "finished_ltc_not_stated")),
    ("finished_employment_support", ("finished_es_first_employment_*",)),
    ("finished_employment_support", ("finished_es_last_employment_*",)),
)
#: ``sum(parts) <= total`` between measures of the same period, breakdown and group: parts
#: that count some of the total's pathways (a nested band, a subset).
MEASURE_INEQUALITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("at_caseness", ("recovered",)),
    ("recovered", ("reliably_recovered",)),
    ("waited_18_weeks", ("waited_6_weeks",)),
    ("finished_treatment", ("waited_18_weeks",)),
    ("finished_treatment", ("reliably_improved", "reliably_deteriorated", "no_reliable_change")),
    ("ended_referrals", ("finished_treatment",)),
    ("ended_after_treatment", ("finished_treatment",)),
    ("ended_treated_once_or_more", ("ended_treated_once",)),
    ("second_treatment", ("first_to_second_over_90_days",)),
    ("entered_treatment", ("entered_waited_18_weeks",)),
    ("entered_waited_18_weeks", ("entered_waited_6_weeks",)),
    ("entered_waited_6_weeks", ("entered_wait_le_28_days",)),
    (
        "entered_waited_18_weeks",
        ("entered_wait_le_28_days", "entered_wait_29_to_56_days", "entered_wait_57_to_90_days"),
    ),
    ("open_referrals", ("waiting_for_assessment",)),
    ("waiting_for_assessment", ("waiting_for_assessment_over_90_days",)),
    (
        "waiting_for_treatment",
        ("waiting_for_treatment_0_to_12_weeks", "waiting_for_treatment_over_90_days"),
    ),
    ("waiting_for_treatment_over_90_days", ("waiting_for_treatment_over_18_weeks",)),
    ("waiting_for_treatment_0_to_18_weeks", ("waiting_for_treatment_0_to_12_weeks",)),
    ("waiting_for_treatment_0_to_12_weeks", ("waiting_for_treatment_0_to_6_weeks",)),
    ("waiting_for_treatment_0_to_6_weeks", ("waiting_for_treatment_0_to_4_weeks",)),
    ("waiting_for_treatment_0_to_4_weeks", ("waiting_for_treatment_0_to_2_weeks",)),
    ("step_up", ("step_up_wait_le_90_days",)),
    ("step_up_wait_le_90_days", ("step_up_wait_le_28_days",)),
    ("finished_treatment", ("finished_employment_support",)),
    ("finished_treatment", ("first_stage_hi", "first_stage_li")),
    ("finished_treatment", ("finished_last_employstatus_*",)),
    ("finished_treatment", ("finished_employment_support", "finished_tt_only_first_employment_*")),
    ("finished_treatment", ("finished_employment_support", "finished_tt_only_last_employment_*")),
    *(
        ("finished_treatment", (f"finished_wsas_{item}_paired",))
        for item in (
            "work",
            "home_management",
            "social_leisure",
            "private_leisure",
            "relationships",
            "total",
        )
    ),
    # appointments by attendance code (other codes are counted in none) and by mechanism
    # (attended or unplanned only)
    (
        "appointments",
        (
            "appts_attended",
            "appts_attended_late",
            "appts_dna",
            "appts_cancelled_patient",
            "appts_cancelled_provider",
            "appts_late_not_seen",
        ),
    ),
    ("appointments", ("appts_by_mechanism_*",)),
    ("referrals_received", ("self_referrals",)),
)

#: ``low * cohort <= total <= high * cohort`` between measures of the same cell: a count that
#: sums a per-pathway value over a cohort bounds the cohort's count (``sum_sessions_finished``:
#: a finished course has at least the definitions' minimum of treatment sessions, 2 by
#: default, and at least 1 under any definitions; none has 1,000). The first ``low`` the true
#: counts satisfy is used.
MEASURE_SCALED_BOUNDS: tuple[tuple[str, str, tuple[float, ...], float], ...] = (
    ("sum_sessions_finished", "finished_treatment", (2.0, 1.0), 1000.0),
)


def measure_relations(
    counts: pd.DataFrame,
) -> tuple[list[dict[int, float]], list[dict[int, float]]]:
    """Equalities (``sum == 0``) and inequalities (``sum <= 0``) holding for the true counts.

    ``counts``: one row per count cell (:data:`CELL_KEY` columns and ``true_value``); the rows
    are ``{cell position: coefficient}``.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [("england", "England", 30), ("provider", "A", 26), ("provider", "B", 4)]
    >>> counts = pd.DataFrame([dict(period_start="s", period_end="e", breakdown=b, group=g,
    ...     measure="finished_treatment", true_value=v) for b, g, v in rows])
    >>> measure_relations(counts)
    ([{0: -1.0, 1: 1.0, 2: 1.0}], [])
    """
    idx = {tuple(k): i for i, k in enumerate(counts[list(CELL_KEY)].to_numpy().tolist())}
    vals = counts["true_value"].to_numpy(dtype=np.int64)
    eqs: list[dict[int, float]] = []
    ineqs: list[dict[int, float]] = []

    def _add(total: int, parts: Sequence[int], store: list[dict[int, float]], eq: bool) -> None:
        s = int(vals[list(parts)].sum())
        if (eq and s == vals[total]) or (not eq and s <= vals[total]):
            row: dict[int, float] = {total: -1.0}
            for p in parts:
                row[p] = row.get(p, 0.0) + 1.0
            store.append(row)

    # Breakdowns adding up to England / to their components.
    for (ps, pe, measure), sub in counts.groupby(["period_start", "period_end", "measure"]):
        england = idx.get((ps, pe, "england", "England", measure))
        for breakdown, part in sub.groupby("breakdown"):
            if breakdown == "england":
                continue
            members = [idx[(ps, pe, breakdown, g, measure)] for g in part["group"]]
            if england is not None:
                _add(england, members, eqs, True)
            names = str(breakdown).split(BREAKDOWN_SEPARATOR)
            if len(names) < 2:
                continue
            split = part["group"].str.split(GROUP_SEPARATOR, regex=False)
            for k, comp in enumerate(names):
                labels = split.str[k]
                for label, rows in part.groupby(labels.to_numpy()):
                    target = idx.get((ps, pe, comp, str(label), measure))
                    if target is not None:
                        parts_ = [idx[(ps, pe, breakdown, g, measure)] for g in rows["group"]]
                        _add(target, parts_, eqs, True)
    # Relations between measures of the same cell.
    by_cell: dict[tuple[str, ...], dict[str, int]] = {}
    for pos, key in enumerate(counts[list(CELL_KEY)].astype(str).to_numpy().tolist()):
        by_cell.setdefault(tuple(key[:-1]), {})[key[-1]] = pos
    for cells in by_cell.values():
        e, i = cell_relations(cells, lambda row, eq: holds_on(row, vals, eq=eq))
        eqs.extend(e)
        ineqs.extend(i)
    return eqs, ineqs


def holds_on(row: dict[int, float], vals: npt.NDArray[np.int64], *, eq: bool = False) -> bool:
    """Whether ``row @ vals == 0`` (``eq``) or ``<= 0`` on the true counts ``vals``.

    Examples
    --------
    >>> holds_on({0: 1.0, 1: -1.0}, np.array([3, 5])), holds_on({0: 1.0}, np.array([3]), eq=True)
    (True, False)
    """
    total = sum(a * float(vals[j]) for j, a in row.items())
    return abs(total) <= 1e-9 if eq else total <= 1e-9


def measure_parts(parts: Sequence[str], cells: Mapping[str, int]) -> list[int] | None:
    """The cells of ``parts`` (a name ending in ``*``: every measure starting with it).

    ``None`` when a named part is not in ``cells`` or a ``*`` part matches none.

    Examples
    --------
    >>> measure_parts(("self_referrals", "referrals_source_*"),
    ...     {"self_referrals": 0, "referrals_source_gp": 2, "referrals_source_other": 1})
    [0, 2, 1]
    """
    out: list[int] = []
    for part in parts:
        if part.endswith("*"):
            found = [c for name, c in cells.items() if name.startswith(part[:-1])]
            if not found:
                return None
            out.extend(found)
        elif part in cells:
            out.append(cells[part])
        else:
            return None
    return out


def cell_relations(
    cells: Mapping[str, int], holds: Callable[[dict[int, float], bool], bool]
) -> tuple[list[dict[int, float]], list[dict[int, float]]]:
    """Equalities (``== 0``) and inequalities (``<= 0``) between the measures of one cell.

    ``cells``: each count measure of one period, breakdown and group, with its position;
    ``holds(row, equal)``: whether a row holds on the true counts (always, where unknown).
    :data:`MEASURE_EQUALITIES` give an equality where it holds, else ``sum(parts) <= total``;
    :data:`MEASURE_INEQUALITIES` and :data:`MEASURE_SCALED_BOUNDS` inequalities.

    Examples
    --------
    >>> cells = {"finished_treatment": 0, "at_caseness": 1, "not_at_caseness": 2, "recovered": 3}
    >>> cell_relations(cells, lambda row, equal: True)
    ([{1: 1.0, 2: 1.0, 0: -1.0}], [{3: 1.0, 1: -1.0}])
    """
    eqs: list[dict[int, float]] = []
    ineqs: list[dict[int, float]] = []
    for rules, partition in ((MEASURE_EQUALITIES, True), (MEASURE_INEQUALITIES, False)):
        for total, parts in rules:
            t = cells.get(total)
            ps = measure_parts(parts, cells)
            if t is None or ps is None:
                continue
            row: dict[int, float] = {}
            for p in ps:
                row[p] = row.get(p, 0.0) + 1.0
            row[t] = row.get(t, 0.0) - 1.0
            if partition and holds(row, True):
                eqs.append(row)
            elif holds(row, False):
                ineqs.append(row)
    for total, cohort, lows, high in MEASURE_SCALED_BOUNDS:
        t, c = cells.get(total), cells.get(cohort)
        if t is not None and c is not None:
            ineqs.extend(scaled_rows(t, c, lows, high, lambda row: holds(row, False)))
    return eqs, ineqs


def scaled_rows(
    total: int,
    cohort: int,
    lows: Sequence[float],
    high: float,
    holds: Callable[[dict[int, float]], bool],
) -> list[dict[int, float]]:
    """The rows (``<= 0``) of ``low * cohort <= total <= high * cohort`` that ``holds`` accepts.

    The first of ``lows`` that holds is taken (:data:`MEASURE_SCALED_BOUNDS`); ``holds`` says
    whether a row holds on the true counts (always, where they are unknown).

    Examples
    --------
    >>> scaled_rows(0, 1, (2.0, 1.0), 1000.0, lambda row: True)
    [{1: 2.0, 0: -1.0}, {0: 1.0, 1: -1000.0}]
    """
    rows = []
    for low in lows:
        row = {cohort: low, total: -1.0}
        if holds(row):
            rows.append(row)
            break
    upper = {total: 1.0, cohort: -high}
    if holds(upper):
        rows.append(upper)
    return rows
