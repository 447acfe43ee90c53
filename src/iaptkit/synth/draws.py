"""Vectorised random draws of the simulation: choices, scores by outcome class, contacts.

Every helper draws for many pathways (or events) at once from the generator it is given, so
the simulation has no per-pathway Python loop. Scores are integers in hundredths so that
every threshold comparison is exact (:mod:`iaptkit.synth.codes`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from iaptkit.synth.codes import (
    ACT_NONE,
    C_NC,
    C_NOTCASE,
    C_R_NORI,
    C_RD,
    C_RI_NOR,
    C_RR,
    SynthMeasure,
)

__all__ = [
    "choice",
    "contacts",
    "first_last_scores",
    "group_positions",
    "outcome_class",
    "uniform_int",
]

Arr = npt.NDArray[Any]


def uniform_int(rng: np.random.Generator, lo: Arr, hi: Arr) -> Arr:
    """Integers uniform in ``[lo, hi]`` element-wise (``hi < lo`` gives ``lo``).

    Parameters
    ----------
    rng
        The random generator.
    lo, hi
        Bounds, one pair per draw.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> x = uniform_int(np.random.default_rng(1), np.array([0, 5]), np.array([3, 5]))
    >>> bool(0 <= x[0] <= 3), int(x[1])
    (True, 5)
    """
    span = np.maximum(hi - lo, 0) + 1
    out: Arr = lo + np.floor(rng.random(lo.shape[0]) * span).astype(np.int64)
    return out


def choice(rng: np.random.Generator, n: int, p: tuple[float, ...]) -> Arr:
    """Draw ``n`` category indexes with weights ``p`` (normalised to sum to one).

    Parameters
    ----------
    rng
        The random generator.
    n
        How many draws.
    p
        The weight of each category.

    Returns
    -------
    numpy.ndarray
        Indexes into ``p``.

    Examples
    --------
    >>> choice(np.random.default_rng(1), 4, (0.0, 1.0)).tolist()
    [1, 1, 1, 1]
    """
    w = np.asarray(p, dtype=np.float64)
    return np.searchsorted(np.cumsum(w / w.sum()), rng.random(n), side="right").clip(0, len(p) - 1)


def first_last_scores(rng: np.random.Generator, m: SynthMeasure, cls: Arr) -> tuple[Arr, Arr]:
    """Draw first and last scores (hundredths) consistent with each outcome class.

    Parameters
    ----------
    rng
        The random generator.
    m
        The measure (range, thresholds and their operators).
    cls
        The outcome class of each pathway (``C_*`` of :mod:`iaptkit.synth.codes`).

    Returns
    -------
    tuple of numpy.ndarray
        First and last scores, so that caseness and reliable change give the class.
    """
    n = cls.shape[0]
    u = m.unit
    lo, hi = m.lo // u, m.hi // u
    c = m.case if m.case is not None else m.case_gen
    r = m.rc if m.rc is not None else m.rc_gen
    cmin = c // u + (1 if m.case_op == ">" else 0)
    rmin = r // u + (1 if m.rc_op == ">" else 0)
    full = np.full(n, 0, dtype=np.int64)
    a1, b1 = full.copy(), full.copy()
    # first-score ranges
    sel = [cls == k for k in range(6)]
    a1[sel[C_NOTCASE]], b1[sel[C_NOTCASE]] = lo, cmin - 1
    a1[sel[C_RR]], b1[sel[C_RR]] = max(cmin, lo + rmin), hi
    a1[sel[C_R_NORI]], b1[sel[C_R_NORI]] = cmin, min(hi, cmin + rmin - 2)
    a1[sel[C_RI_NOR]], b1[sel[C_RI_NOR]] = cmin + rmin, hi
    a1[sel[C_NC]], b1[sel[C_NC]] = cmin, hi
    a1[sel[C_RD]], b1[sel[C_RD]] = cmin, hi - rmin
    # severity: skew first scores towards the middle of their range
    first = a1 + np.floor(rng.beta(2.0, 2.2, n) * (b1 - a1 + 1)).astype(np.int64)
    first = np.minimum(first, b1)
    a2, b2 = full.copy(), full.copy()
    k = sel[C_NOTCASE]
    a2[k], b2[k] = np.maximum(lo, first[k] - rmin + 1), np.minimum(cmin - 1, first[k] + rmin - 1)
    k = sel[C_RR]
    a2[k], b2[k] = lo, np.minimum(cmin - 1, first[k] - rmin)
    k = sel[C_R_NORI]
    a2[k], b2[k] = np.maximum(lo, first[k] - rmin + 1), cmin - 1
    k = sel[C_RI_NOR]
    a2[k], b2[k] = cmin, first[k] - rmin
    k = sel[C_NC]
    a2[k], b2[k] = np.maximum(cmin, first[k] - rmin + 1), np.minimum(hi, first[k] + rmin - 1)
    k = sel[C_RD]
    a2[k], b2[k] = first[k] + rmin, hi
    last = uniform_int(rng, a2, b2)
    return first * u, last * u


def group_positions(counts: Arr) -> tuple[Arr, Arr]:
    """For groups of the given sizes: the group of each element and its position in it.

    Parameters
    ----------
    counts
        The size of each group.

    Returns
    -------
    tuple of numpy.ndarray
        The group of each element and its position within the group.

    Examples
    --------
    >>> owner, pos = group_positions(np.array([2, 0, 1]))
    >>> owner.tolist(), pos.tolist()
    ([0, 0, 2], [0, 1, 0])
    """
    owner = np.repeat(np.arange(counts.shape[0]), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(owner.shape[0]) - starts[owner]


def contacts(
    pw: Arr, date: Arr, app: Arr | int, attend: Arr | int, rng: np.random.Generator,
    *, scored: bool, order: int,
) -> tuple[Arr, ...]:  # fmt: skip
    """Care contacts of the given pathways on the given days.

    Parameters
    ----------
    pw, date
        Pathway and day of each contact.
    app, attend
        AppType and AttendOrDNACode indexes (one for all, or one per contact).
    rng
        The random generator.
    scored
        Whether scores are taken at these contacts: then about 10 % get AttendOrDNACode
        index 6 and 3 % are unplanned, and care activities are drawn; otherwise none.
    order
        Sort rank of these contacts among a pathway's contacts on the same day.

    Returns
    -------
    tuple of numpy.ndarray
        ``(pathway, day, app, attend, planned, activities, scored, order)``.
    """
    k = pw.shape[0]
    app_a = np.broadcast_to(np.asarray(app, dtype=np.int64), (k,)).copy()
    att = np.broadcast_to(np.asarray(attend, dtype=np.int64), (k,)).copy()
    planned: Arr = np.ones(k, dtype=bool)
    if scored:
        att = np.where(rng.random(k) < 0.1, 6, att)
        planned = np.asarray(rng.random(k) >= 0.03)
    acts = choice(rng, k, (0.03, 0.92, 0.05, 0.0)) if scored else np.full(k, ACT_NONE)
    return (
        pw.astype(np.int64), date.astype(np.int64), app_a, att, planned, acts,
        np.full(k, scored), np.full(k, order),
    )  # fmt: skip


def outcome_class(
    rng: np.random.Generator, n: int, treated: Arr, imd: Arr, age: Arr, effect: Arr
) -> Arr:
    """Outcome class per pathway: recovery propensity by deprivation, age and provider.

    Parameters
    ----------
    rng
        The random generator.
    n
        Number of pathways.
    treated
        Whether each pathway is treated (untreated ones get ``C_NC``).
    imd, age, effect
        Deprivation decile (0 unknown), age and provider effect of each pathway.

    Returns
    -------
    numpy.ndarray
        A ``C_*`` class of :mod:`iaptkit.synth.codes` per pathway.
    """
    logit = np.full(n, 0.06)
    decile = np.where(imd == 0, 5.5, imd)
    logit += 0.065 * (decile - 5.5)
    logit += np.select([age < 18, age <= 25, age <= 64, age <= 74], [-0.1, -0.25, 0.0, 0.35], 0.3)
    logit += effect
    p_good = 1.0 / (1.0 + np.exp(-logit))
    u = rng.random(n)
    v = rng.random(n)
    notcase = rng.random(n) < 0.055
    good = u < p_good
    cls = np.where(
        good,
        np.where(v < 0.94, C_RR, C_R_NORI),
        np.array([C_RI_NOR, C_NC, C_RD])[choice(rng, n, (0.478, 0.396, 0.126))],
    )
    out: Arr = np.where(treated, np.where(notcase, C_NOTCASE, cls), C_NC).astype(np.int64)
    return out
