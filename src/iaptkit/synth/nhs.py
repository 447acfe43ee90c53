"""NHS-derived IDS101 fields computed from the generator's own simulated truth.

For every IDS101 row (a pathway in a monthly submission) the fields are computed as at the end
of that row's month, from the generator's own lists of contacts, logs and scores, following
``docs/measures.md`` §1 exactly but independently of :mod:`iaptkit.measures`: treatment
sessions and assessments by the contact rules, first/second/last dates, counts, first/last
scores with the same-day maximum, pairing, the ADSM choice with GAD-7 fallback, and the outcome
flags. Scores are integers in hundredths, so every comparison is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from iaptkit.synth.codes import (
    A01,
    A02,
    A03,
    A05,
    ACT_ES,
    DESCRIPTORS,
    MEASURES,
    SynthMeasure,
)
from iaptkit.synth.truth import Truth

__all__ = ["EventIndex", "NhsFields", "build_index", "nhs_fields"]

Arr = npt.NDArray[Any]
_K = np.int64(100_000)  # day numbers stay below this until the year 2243
_NULL = np.int64(-1)


@dataclass(frozen=True)
class _Sorted:
    keys: Arr  # pathway * _K + day, sorted
    values: Arr  # score in hundredths (scores only)


@dataclass(frozen=True)
class EventIndex:
    """Sorted event keys per kind, ready for as-at look-ups."""

    sessions: _Sorted
    assessments: _Sorted
    scores: tuple[_Sorted, ...]  # one per measure, one entry per (pathway, day): the day's max


@dataclass(frozen=True)
class NhsFields:
    """The NHS-derived fields of a batch of IDS101 rows (dates as day numbers, -1 = null)."""

    assessment_first: Arr
    session_first: Arr
    session_second: Arr
    session_last: Arr
    session_count: Arr
    completed: Arr
    phq_first: Arr
    phq_last: Arr
    gad_first: Arr
    gad_last: Arr
    adsm: Arr  # measure index or -1
    adsm_first: Arr
    adsm_last: Arr
    not_caseness: Arr
    recovery: Arr
    reliable_improvement: Arr
    no_change: Arr
    reliable_deterioration: Arr


def build_index(t: Truth) -> EventIndex:
    """Classify the truth's events by docs/measures.md §1 and sort them for look-ups.

    Notes
    -----
    docs/measures.md §1 "Contacts": attended = AttendOrDNACode 5 or 6 or unplanned; a treatment
    session is an attended AppType 02/03/05 contact unless all its recorded activities are
    employment support, or an IDS205 log with a positive duration; an assessment is an attended
    AppType 01/03 contact. docs/measures.md §1 "Scores": one score per measure per day, the highest.

    Examples
    --------
    >>> from iaptkit.synth.model import simulate
    >>> idx = build_index(simulate(100, 639, 2, 2, np.random.default_rng(2)))
    >>> bool(np.all(np.diff(idx.sessions.keys) >= 0))
    True
    """
    attended = (t.c_attend == 5) | (t.c_attend == 6) | ~t.c_planned
    in_window = t.c_date >= t.R[t.c_pw]
    app = t.c_app
    treat_type = (app == A02) | (app == A03) | (app == A05)
    all_es = t.c_acts == ACT_ES  # activities recorded and every one is employment support
    session = attended & in_window & treat_type & ~all_es
    assessment = attended & in_window & ((app == A01) | (app == A03))
    log_ok = (t.l_duration > 0) & (t.l_start >= t.R[t.l_pw])
    s_keys = np.concatenate([t.c_pw[session] * _K + t.c_date[session],
                             t.l_pw[log_ok] * _K + t.l_start[log_ok]])  # fmt: skip
    a_keys = t.c_pw[assessment] * _K + t.c_date[assessment]
    scores = []
    s_pw, s_date = t.s_pw, t.s_date
    s_ok = s_date >= t.R[s_pw]
    for mi, m in enumerate(MEASURES):
        sel = (t.s_measure == mi) & s_ok & (t.s_value >= m.lo) & (t.s_value <= m.hi)
        keys = s_pw[sel] * _K + s_date[sel]
        vals = t.s_value[sel]
        order = np.lexsort((-vals, keys))
        keys, vals = keys[order], vals[order]
        first = np.ones(keys.shape[0], dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        scores.append(_Sorted(keys[first], vals[first]))
    return EventIndex(
        sessions=_Sorted(np.sort(s_keys), np.empty(0, np.int64)),
        assessments=_Sorted(np.sort(a_keys), np.empty(0, np.int64)),
        scores=tuple(scores),
    )


def _span(s: _Sorted, pw: Arr, start: Arr, cutoff: Arr) -> tuple[Arr, Arr]:
    lo = np.searchsorted(s.keys, pw * _K + start, side="left")
    hi = np.searchsorted(s.keys, pw * _K + cutoff, side="right")
    return lo, hi


def _day(s: _Sorted, i: Arr, ok: Arr) -> Arr:
    j = np.where(ok, i, 0)
    if s.keys.shape[0] == 0:
        return np.full(i.shape[0], _NULL)
    return np.where(ok, s.keys[np.minimum(j, s.keys.shape[0] - 1)] % _K, _NULL)


def _val(s: _Sorted, i: Arr, ok: Arr) -> Arr:
    if s.values.shape[0] == 0:
        return np.full(i.shape[0], _NULL)
    j = np.minimum(np.where(ok, i, 0), s.values.shape[0] - 1)
    return np.where(ok, s.values[j], _NULL)


def _first_last(s: _Sorted, pw: Arr, start: Arr, cutoff: Arr) -> tuple[Arr, Arr, Arr]:
    lo, hi = _span(s, pw, start, cutoff)
    cnt = hi - lo
    return _val(s, lo, cnt >= 1), _val(s, hi - 1, cnt >= 2), cnt


def _meets(x: Arr, thr: Arr, op_gt: Arr) -> Arr:
    return np.where(op_gt, x > thr, x >= thr)


def _thresholds(ms: tuple[SynthMeasure, ...]) -> tuple[Arr, Arr, Arr, Arr]:
    big = np.iinfo(np.int64).max // 4
    case = np.array([m.case if m.case is not None else big for m in ms])
    rc = np.array([m.rc if m.rc is not None else big for m in ms])
    case_gt = np.array([m.case_op == ">" for m in ms])
    rc_gt = np.array([m.rc_op == ">" for m in ms])
    return case, case_gt, rc, rc_gt


def nhs_fields(t: Truth, idx: EventIndex, pw: Arr, cutoff: Arr, discharged: Arr) -> NhsFields:
    """Compute the NHS-derived fields for IDS101 rows of pathways ``pw`` as at ``cutoff``.

    Parameters
    ----------
    t, idx
        The truth and its event index.
    pw
        Pathway index of each row.
    cutoff
        Last day of the window of each row: the discharge day when discharged by the end of the
        row's month, else the month's last day.
    discharged
        Whether the row carries a ServDischDate.

    Notes
    -----
    docs/measures.md §1 "Fields", "Scores", "Anxiety measure", "Outcome flags"; thresholds are the
    docs/measures.md §4 defaults (``synth_model.MEASURES``). Rows are processed in pathway order
    (look-ups in sorted keys are then cache friendly) and returned in the given order.

    Examples
    --------
    >>> from iaptkit.synth.model import simulate
    >>> t = simulate(300, 639, 6, 2, np.random.default_rng(3))
    >>> f = nhs_fields(t, build_index(t), np.arange(300), t.D, np.ones(300, bool))
    >>> bool((f.recovery <= f.completed).all())
    True
    """
    order = np.argsort(pw, kind="stable")
    back = np.empty_like(order)
    back[order] = np.arange(order.shape[0])
    f = _nhs_fields(t, idx, pw[order], cutoff[order], discharged[order])
    return NhsFields(**{k: v[back] for k, v in vars(f).items()})


def _nhs_fields(t: Truth, idx: EventIndex, pw: Arr, cutoff: Arr, discharged: Arr) -> NhsFields:
    start = t.R[pw]
    lo, hi = _span(idx.sessions, pw, start, cutoff)
    cnt = hi - lo
    s_first = _day(idx.sessions, lo, cnt >= 1)
    s_second = _day(idx.sessions, lo + 1, cnt >= 2)
    s_last = _day(idx.sessions, hi - 1, cnt >= 1)
    alo, ahi = _span(idx.assessments, pw, start, cutoff)
    a_first = _day(idx.assessments, alo, ahi > alo)
    completed = discharged & (cnt >= 2)
    phq_f, phq_l, _ = _first_last(idx.scores[0], pw, start, cutoff)
    gad_f, gad_l, _ = _first_last(idx.scores[1], pw, start, cutoff)
    adsm = np.array([d.adsm for d in DESCRIPTORS])[t.descriptor[pw]]
    ad_f = np.full(pw.shape[0], _NULL)
    ad_l = np.full(pw.shape[0], _NULL)
    for mi in np.unique(adsm[adsm >= 0]):
        k = adsm == mi
        ad_f[k], ad_l[k], _ = _first_last(idx.scores[int(mi)], pw[k], start[k], cutoff[k])
    usable = np.array([m.usable for m in MEASURES])
    use_adsm = (adsm >= 0) & usable[np.maximum(adsm, 0)] & (ad_l != _NULL)
    anx = np.where(use_adsm, adsm, 1)
    anx_f = np.where(use_adsm, ad_f, gad_f)
    anx_l = np.where(use_adsm, ad_l, gad_l)
    case, case_gt, rc, rc_gt = _thresholds(MEASURES)

    def is_case(m: Arr, x: Arr) -> Arr:
        out: Arr = (x != _NULL) & _meets(x, case[m], case_gt[m])
        return out

    def rc_met(m: Arr, a: Arr, b: Arr) -> Arr:
        out: Arr = (a != _NULL) & (b != _NULL) & _meets(a - b, rc[m], rc_gt[m])
        return out

    phq = np.zeros(pw.shape[0], dtype=np.int64)
    case_start = is_case(phq, phq_f) | is_case(anx, anx_f)
    not_case = (phq_f != _NULL) & (anx_f != _NULL) & ~is_case(phq, phq_f) & ~is_case(anx, anx_f)
    paired = (phq_l != _NULL) & (anx_l != _NULL)
    recovery = case_start & paired & ~is_case(phq, phq_l) & ~is_case(anx, anx_l)
    improves = rc_met(phq, phq_f, phq_l) | rc_met(anx, anx_f, anx_l)
    worsens = rc_met(phq, phq_l, phq_f) | rc_met(anx, anx_l, anx_f)
    ri = paired & improves & ~worsens
    rd = paired & worsens & ~improves
    nc = paired & ~ri & ~rd
    return NhsFields(
        assessment_first=a_first, session_first=s_first, session_second=s_second,
        session_last=s_last, session_count=cnt, completed=completed,
        phq_first=phq_f, phq_last=phq_l, gad_first=gad_f, gad_last=gad_l,
        adsm=adsm, adsm_first=ad_f, adsm_last=ad_l,
        not_caseness=completed & not_case, recovery=completed & recovery,
        reliable_improvement=completed & ri, no_change=completed & nc,
        reliable_deterioration=completed & rd,
    )  # fmt: skip
