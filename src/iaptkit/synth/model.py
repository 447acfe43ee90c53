"""The simulated truth behind a synthetic IAPT v2.x extract.

:func:`simulate` draws, with numpy only (no per-pathway Python loops), one row per pathway
(provider, commissioner, demographics, referral and discharge dates, problem descriptor, the
route through the service) and the events that follow from it: care contacts, care activities,
scores and internet-enabled therapy logs. :mod:`iaptkit.synth.writer` cuts these into
monthly submissions; :mod:`iaptkit.synth.nhs` computes the NHS-derived fields from them.

Nothing here is real data. The proportions are calibrated so that England-level measures over
a year land near the published national figures (``shared/domain/national-annual-figures.csv``):
recovery about 50 %, reliable improvement about 67 %, deterioration about 6 %, 6-week waits
about 90 %. Scores are held as integers in hundredths (``1000`` is a PHQ-9 score of 10,
``230`` a Mobility Inventory score of 2.30) so that every threshold comparison is exact.
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
    A06,
    ACT_ES,
    ACT_NONE,
    C_NC,
    C_NOTCASE,
    C_R_NORI,
    C_RD,
    C_RI_NOR,
    C_RR,
    DESCRIPTORS,
    IET_PROGRAMMES,
    MEASURES,
    SECONDARY_CODES,
    THERAPY_CODES,
    SynthMeasure,
)

__all__ = ["BLOCK", "MAX_PATHWAYS", "Truth", "month_of_day", "simulate"]

Arr = npt.NDArray[Any]


@dataclass(frozen=True)
class Truth:
    """The simulated pathways and events (all numpy arrays; dates are days since 1970-01-01).

    Pathway arrays have one entry per pathway; contact arrays one per care contact, sorted by
    (month, provider, pathway, date); score arrays one per score, pointing at a contact.
    """

    n: int
    providers: int
    window_start: int
    window_end: int
    month0: int  # numpy datetime64[M] integer of the first month
    months: int
    provider_effect: Arr
    commissioners_of: Arr  # (providers, 4) commissioner index, -1 unused
    # pathways
    person: Arr  # index of the person's first pathway (re-referrals share it)
    prov: Arr
    comm: Arr
    gender: Arr
    ethnic: Arr
    imd: Arr  # 0 = null
    age: Arr
    source: Arr
    employ: Arr
    R: Arr
    D: Arr  # discharge day; may be after window_end (then open)
    end_code: Arr
    descriptor: Arr
    pres_code: Arr  # index into the descriptor's codes
    secondary: Arr  # index into SECONDARY_CODES or -1
    # contacts
    c_pw: Arr
    c_date: Arr
    c_app: Arr
    c_attend: Arr
    c_planned: Arr  # bool
    c_acts: Arr
    c_therapy: Arr  # index into THERAPY_CODES
    # scores
    s_contact: Arr  # contact index (the score is dated by it, in IDS607 or IDS606)
    s_measure: Arr
    s_value: Arr  # hundredths
    s_in_606: Arr  # bool: written to IDS606 (no care activity to hang it on)
    # internet-enabled therapy logs
    l_pw: Arr
    l_start: Arr
    l_duration: Arr
    l_prog: Arr

    @property
    def s_pw(self) -> Arr:
        """Pathway of each score."""
        return self.c_pw[self.s_contact]

    @property
    def s_date(self) -> Arr:
        """Day of each score (its contact's date)."""
        return self.c_date[self.s_contact]


def month_of_day(days: Arr) -> Arr:
    """Return the numpy month number (months since 1970-01) of day numbers.

    Notes
    -----
    ``Unique_MonthID`` (data-model.md) is this number plus 838.

    Examples
    --------
    >>> int(month_of_day(np.array([19448]))[0]) + 838  # 2023-04-01
    1477
    """
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _uniform_int(rng: np.random.Generator, lo: Arr, hi: Arr) -> Arr:
    """Integers uniform in [lo, hi] element-wise (hi >= lo)."""
    span = np.maximum(hi - lo, 0) + 1
    out: Arr = lo + np.floor(rng.random(lo.shape[0]) * span).astype(np.int64)
    return out


def _choice(rng: np.random.Generator, n: int, p: tuple[float, ...]) -> Arr:
    w = np.asarray(p, dtype=np.float64)
    return np.searchsorted(np.cumsum(w / w.sum()), rng.random(n), side="right").clip(0, len(p) - 1)


def _first_last(rng: np.random.Generator, m: SynthMeasure, cls: Arr) -> tuple[Arr, Arr]:
    """Draw first and last scores (hundredths) consistent with each outcome class."""
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
    last = _uniform_int(rng, a2, b2)
    return first * u, last * u


def _group_positions(counts: Arr) -> tuple[Arr, Arr]:
    """For groups of the given sizes: the group of each element and its position in it."""
    owner = np.repeat(np.arange(counts.shape[0]), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(owner.shape[0]) - starts[owner]


#: Pathways simulated together (a fixed block size keeps memory bounded and output identical
#: on every machine).
BLOCK = 100_000
_PW_BITS = 25  # pathway index bits in the contact sort key (up to 33 M pathways)
MAX_PATHWAYS = (1 << _PW_BITS) - 1


def _sort_key(month: Arr, prov: Arr, pw: Arr, day: Arr, order: Arr) -> Arr:
    """One int64 key ordering events by (month, provider, pathway, day, order)."""
    key = month.astype(np.int64) << 9 | prov
    key = key << _PW_BITS | pw
    key = key << 14 | day
    out: Arr = key << 3 | order
    return out


def simulate(
    pathways: int, month0: int, months: int, providers: int, rng: np.random.Generator
) -> Truth:
    """Simulate ``pathways`` referrals received over ``months`` months from ``month0``.

    Parameters
    ----------
    pathways, months, providers
        Sizes of the extract (at most 33 M pathways, 240 months, 499 providers).
    month0
        The first month as a numpy ``datetime64[M]`` integer.
    rng
        The random generator (the only source of randomness).

    Returns
    -------
    Truth
        Pathways and events (compact dtypes), contacts sorted for monthly writing.

    Notes
    -----
    Routes, waits, sessions and outcome classes follow the national proportions in
    ``shared/domain/national-annual-figures.csv``; event types and codes follow
    ``shared/domain/data-model.md``. Pathways are simulated in blocks of :data:`BLOCK`, each
    with its own random stream, so the peak memory is one block's working set plus the
    compact result.

    Examples
    --------
    >>> t = simulate(200, 639, 3, 2, np.random.default_rng(1))
    >>> t.n, bool((t.D >= t.R).all())
    (200, True)
    """
    if pathways > MAX_PATHWAYS:
        raise ValueError(f"at most {MAX_PATHWAYS} pathways")
    ws = int(np.datetime64(month0, "M").astype("datetime64[D]").astype(np.int64))
    we = int(np.datetime64(month0 + months, "M").astype("datetime64[D]").astype(np.int64)) - 1
    # ---------------------------------------------------------------- providers
    weights = rng.gamma(2.0, 1.0, providers)
    effect = rng.normal(0.0, 0.12, providers)
    if providers >= 4:
        effect[providers - 1] = -0.6  # a clear low outlier
        effect[providers // 2] = 0.45  # a clear high outlier
    n_comm = rng.integers(2, 5, providers)
    comm_of = np.full((providers, 4), -1, dtype=np.int64)
    base = np.cumsum(n_comm) - n_comm
    for j in range(4):  # 4 columns, not a per-pathway loop
        comm_of[:, j] = np.where(j < n_comm, base + j, -1)
    prov_cum = np.cumsum(weights / weights.sum())
    # ---------------------------------------------------------------- blocks
    starts = list(range(0, pathways, BLOCK))
    streams = rng.spawn(len(starts))
    blocks = [
        _block(s, min(BLOCK, pathways - s), ws, we, prov_cum, effect, n_comm, comm_of, g)
        for s, g in zip(starts, streams, strict=True)
    ]
    cat: dict[str, Arr] = {}
    c_base = np.cumsum([0] + [b["c_pw"].shape[0] for b in blocks])
    for field in list(blocks[0]):
        parts = [b.pop(field) for b in blocks]
        if field == "s_contact":  # block-local contact positions -> global
            parts = [p + c_base[i] for i, p in enumerate(parts)]
        cat[field] = np.concatenate(parts)
        del parts
    del blocks
    prov = cat["prov"]
    # global order of contacts and logs: (month, provider, pathway, day, order)
    c_month = month_of_day(cat["c_date"]) - month0
    key = _sort_key(c_month, prov[cat["c_pw"]], cat["c_pw"], cat["c_date"] - ws, cat["c_order"])
    del c_month
    order = np.argsort(key, kind="stable")
    del key
    for name in ("c_pw", "c_date", "c_app", "c_attend", "c_planned", "c_acts", "c_therapy"):
        cat[name] = cat[name][order]
    new_pos = np.empty(order.shape[0], dtype=np.int32)
    new_pos[order] = np.arange(order.shape[0], dtype=np.int32)
    cat["s_contact"] = new_pos[cat["s_contact"]]
    del order, new_pos
    l_key = _sort_key(month_of_day(cat["l_start"]) - month0, prov[cat["l_pw"]], cat["l_pw"],
                      cat["l_start"] - ws, np.zeros(cat["l_pw"].shape[0], np.int64))  # fmt: skip
    lo = np.argsort(l_key, kind="stable")
    return Truth(
        n=pathways, providers=providers, window_start=ws, window_end=we, month0=month0,
        months=months, provider_effect=effect, commissioners_of=comm_of,
        person=cat["person"], prov=prov, comm=cat["comm"], gender=cat["gender"],
        ethnic=cat["ethnic"], imd=cat["imd"],
        age=cat["age"], source=cat["source"], employ=cat["employ"], R=cat["R"], D=cat["D"],
        end_code=cat["end_code"], descriptor=cat["descriptor"], pres_code=cat["pres_code"],
        secondary=cat["secondary"],
        c_pw=cat["c_pw"], c_date=cat["c_date"], c_app=cat["c_app"], c_attend=cat["c_attend"],
        c_planned=cat["c_planned"], c_acts=cat["c_acts"], c_therapy=cat["c_therapy"],
        s_contact=cat["s_contact"], s_measure=cat["s_measure"], s_value=cat["s_value"],
        s_in_606=cat["s_in_606"],
        l_pw=cat["l_pw"][lo], l_start=cat["l_start"][lo], l_duration=cat["l_duration"][lo],
        l_prog=cat["l_prog"][lo],
    )  # fmt: skip


def _block(
    offset: int, n: int, ws: int, we: int, prov_cum: Arr, effect: Arr, n_comm: Arr,
    comm_of: Arr, rng: np.random.Generator,
) -> dict[str, Arr]:  # fmt: skip
    """Simulate pathways ``offset`` to ``offset + n - 1``; compact arrays, contacts unsorted."""
    providers = prov_cum.shape[0]
    prov = np.searchsorted(prov_cum, rng.random(n), side="right").clip(0, providers - 1)
    gender = _choice(rng, n, (0.33, 0.64, 0.005, 0.025))
    ethnic = _choice(
        rng, n,
        (0.72, 0.01, 0.05, 0.01, 0.01, 0.005, 0.005, 0.03, 0.02, 0.01, 0.01,
         0.02, 0.015, 0.005, 0.005, 0.02, 0.04, 0.015),
    )  # fmt: skip
    imd = 1 + _choice(rng, n, tuple(1.3 - 0.06 * d for d in range(10)))
    imd[rng.random(n) < 0.03] = 0
    band = _choice(rng, n, (0.015, 0.17, 0.71, 0.06, 0.04, 0.005))
    band_lo = np.array([16, 18, 26, 65, 75, 90])[band]
    band_hi = np.array([17, 25, 64, 74, 89, 99])[band]
    age = _uniform_int(rng, band_lo, band_hi)
    # re-referrals: about 4 % of pathways belong to the person of an earlier pathway (same
    # provider and demographics); chains resolve to the first pathway of the person
    person = np.arange(n)
    again = (rng.random(n) < 0.04) & (person > 0)
    person[again] = np.floor(rng.random(n)[again] * person[again]).astype(np.int64)
    while True:
        nxt = person[person]
        if (nxt == person).all():
            break
        person = nxt
    prov, gender, ethnic, imd, age = (x[person] for x in (prov, gender, ethnic, imd, age))
    ci = np.floor(rng.random(n) ** 1.6 * n_comm[prov]).astype(np.int64)
    comm = comm_of[prov, ci]
    source = _choice(rng, n, (0.45, 0.3, 0.1, 0.05, 0.04, 0.03, 0.03))
    employ = _choice(rng, n, (0.5, 0.15, 0.08, 0.08, 0.05, 0.05, 0.04, 0.03, 0.02))
    R = rng.integers(ws, we + 1, n)
    descriptor = _choice(rng, n, tuple(d.share for d in DESCRIPTORS))
    n_codes = np.array([max(len(d.codes), 1) for d in DESCRIPTORS])[descriptor]
    pres_code = np.floor(rng.random(n) * n_codes).astype(np.int64)
    secondary = np.where(
        rng.random(n) < 0.15, np.floor(rng.random(n) * len(SECONDARY_CODES)), -1
    ).astype(np.int64)
    secondary[descriptor == len(DESCRIPTORS) - 1] = -1
    # ---------------------------------------------------------------- routes
    route = _choice(rng, n, (0.11, 0.24, 0.65))  # 0 none, 1 assessed only, 2 treated
    treated = route == 2
    wait_cat = _choice(rng, n, (0.87, 0.105, 0.025))
    w_lo = np.array([0, 43, 127])[wait_cat]
    w_hi = np.array([42, 126, 240])[wait_cat]
    W = _uniform_int(rng, w_lo + (wait_cat == 0) * 3, w_hi)
    combined = treated & ((rng.random(n) < 0.2) | (W < 2))
    G = np.minimum(np.round(rng.gamma(1.5, 8.0, n)).astype(np.int64), W - 1)
    G = np.maximum(G, 0)
    T1 = R + W
    single = rng.random(n) < 0.12
    n_sess = np.where(treated, np.where(single, 1, 2 + rng.negative_binomial(2.5, 2.5 / 9.0, n)), 0)
    n_sess = np.minimum(n_sess, 30)
    digital = treated & (rng.random(n) < 0.12)
    # sessions (contacts or logs)
    s_owner, s_k = _group_positions(n_sess)
    gaps = np.where(s_k == 0, 0, 7 + rng.integers(0, 8, s_owner.shape[0]))
    cum = np.cumsum(gaps)
    starts = np.cumsum(n_sess) - n_sess
    ss_date = T1[s_owner] + cum - cum[starts[s_owner]]
    del gaps, cum
    s_is_log = digital[s_owner] & (s_k >= 1) & (rng.random(s_owner.shape[0]) < 0.5)
    last_sess = np.zeros(n, dtype=np.int64)
    has_sess = n_sess > 0
    last_sess[has_sess] = ss_date[(starts + n_sess - 1)[has_sess]]
    # discharge and end codes
    A = np.where(route == 1, R + np.round(rng.gamma(1.5, 10.0, n)).astype(np.int64), R + G)
    D = np.where(
        treated,
        last_sess + np.where(n_sess >= 2, rng.integers(0, 22, n), rng.integers(14, 61, n)),
        np.where(route == 1, A + rng.integers(0, 31, n), R + rng.integers(14, 91, n)),
    )
    ec_fin = np.array([8, 9, 10, 11, 13])[_choice(rng, n, (0.82, 0.08, 0.075, 0.005, 0.02))]
    ec_one = np.array([9, 10, 13])[_choice(rng, n, (0.45, 0.45, 0.1))]
    ec_ass = np.array([0, 1, 2, 3, 4, 5, 6, 7])[
        _choice(rng, n, (0.15, 0.2, 0.2, 0.15, 0.2, 0.08, 0.005, 0.015))
    ]
    ec_none = np.array([5, 12, 7, 4])[_choice(rng, n, (0.5, 0.3, 0.15, 0.05))]
    end_code = np.where(
        treated, np.where(n_sess >= 2, ec_fin, ec_one), np.where(route == 1, ec_ass, ec_none)
    )
    # ---------------------------------------------------------------- contacts
    parts: list[tuple[Arr, ...]] = []  # (pw, date, app, attend, planned, acts, scored, order)
    # assessment contacts (not for combined first sessions, not for route 0)
    ka = np.flatnonzero((route == 1) | (treated & ~combined))
    parts.append(_contacts(ka, A[ka], A01, 5, rng, scored=True, order=0))
    # a DNA'd assessment for half of route-0 pathways
    k0 = np.flatnonzero((route == 0) & (rng.random(n) < 0.5))
    d0 = np.minimum(R[k0] + rng.integers(5, 21, k0.shape[0]), D[k0])
    parts.append(_contacts(k0, d0, A01, 3, rng, scored=False, order=0))
    # session contacts
    sc = np.flatnonzero(~s_is_log)
    sp = s_owner[sc]
    app = np.where(
        s_k[sc] == 0,
        np.where(combined[sp], A03, A02),
        np.where(rng.random(sc.shape[0]) < 0.15, A05, A02),
    )
    parts.append(_contacts(sp, ss_date[sc], app, 5, rng, scored=True, order=2))
    # DNAs and cancellations before some sessions
    kd = sc[rng.random(sc.shape[0]) < 0.15]
    dp = s_owner[kd]
    dd = np.maximum(R[dp], ss_date[kd] - rng.integers(1, 4, kd.shape[0]))
    dcode = np.array([2, 3, 4, 7])[_choice(rng, kd.shape[0], (0.3, 0.45, 0.2, 0.05))]
    parts.append(_contacts(dp, dd, A02, dcode, rng, scored=False, order=1))
    # employment-support-only contacts between sessions
    ke = np.flatnonzero((s_k < n_sess[s_owner] - 1) & (rng.random(s_owner.shape[0]) < 0.04))
    es = _contacts(s_owner[ke], ss_date[ke] + 2, A02, 5, rng, scored=False, order=3)
    parts.append((*es[:5], np.full(ke.shape[0], ACT_ES), *es[6:]))
    # follow-ups after discharge
    kf = np.flatnonzero(treated & (n_sess >= 2) & (rng.random(n) < 0.2))
    parts.append(_contacts(kf, D[kf] + rng.integers(30, 92, kf.shape[0]), A06, 5, rng,
                           scored=True, order=4))  # fmt: skip
    cat = [np.concatenate([p[i] for p in parts]) for i in range(8)]
    del parts
    keep = cat[1] <= we
    c_pw, c_date, c_app, c_attend, c_planned, c_acts, c_scored, c_order = (x[keep] for x in cat)
    del cat, keep
    c_therapy = np.asarray(rng.integers(0, len(THERAPY_CODES), c_pw.shape[0]))
    # ---------------------------------------------------------------- scores
    cls = _outcome_class(rng, n, treated, imd, age, effect[prov])
    adsm = np.array([d.adsm for d in DESCRIPTORS])[descriptor]
    adsm_recorded = (adsm >= 0) & (rng.random(n) < 0.8)
    # position of each scored contact among the pre-discharge scored contacts, by date
    sc_idx = np.flatnonzero(c_scored & (c_date <= D[c_pw]))
    so = sc_idx[np.lexsort((c_date[sc_idx], c_pw[sc_idx]))]
    counts = np.bincount(c_pw[so], minlength=n)
    _, pos = _group_positions(counts)
    K = counts[c_pw[so]]
    frac = np.where(K > 1, pos / np.maximum(K - 1, 1), 0.0)
    del sc_idx, pos, K, counts
    fu_idx = np.flatnonzero(c_scored & (c_date > D[c_pw]))
    s_contact_l: list[Arr] = []
    s_meas_l: list[Arr] = []
    s_val_l: list[Arr] = []
    so_pw = c_pw[so]
    fu_pw = c_pw[fu_idx]
    for mi, m in enumerate(MEASURES):  # one pass per measure (12), vectorised inside
        rec = np.ones(n, dtype=bool) if mi < 2 else adsm_recorded & (adsm == mi)
        if not rec.any():
            continue
        first = np.zeros(n, dtype=np.int64)
        last = np.zeros(n, dtype=np.int64)
        ri = np.flatnonzero(rec)
        first[ri], last[ri] = _first_last(rng, m, cls[ri])
        sel = rec[so_pw]
        take = so[sel]
        f = frac[sel]
        p = so_pw[sel]
        is_end = (f == 0.0) | (f == 1.0)
        noise = np.where(is_end, 0, np.round(rng.normal(0, 0.06, take.shape[0]) * (m.hi - m.lo)))
        val = np.round(first[p] + (last[p] - first[p]) * f + noise).astype(np.int64)
        val = (np.clip(val, m.lo, m.hi) // m.unit) * m.unit
        fsel = rec[fu_pw]
        fu = fu_idx[fsel]
        fval = np.clip(last[fu_pw[fsel]] + np.round(rng.normal(0, 0.05, fu.shape[0]) * m.hi),
                       m.lo, m.hi).astype(np.int64) // m.unit * m.unit  # fmt: skip
        s_contact_l += [take, fu]
        s_meas_l += [np.full(take.shape[0] + fu.shape[0], mi, dtype=np.int8)]
        s_val_l += [val.astype(np.int32), fval.astype(np.int32)]
    s_contact = np.concatenate(s_contact_l)
    s_measure = np.concatenate(s_meas_l)
    s_value = np.concatenate(s_val_l)
    del s_contact_l, s_meas_l, s_val_l
    s_in_606 = c_acts[s_contact] == ACT_NONE
    # same-day duplicates recorded against the referral with a lower value (max rule)
    dup = np.flatnonzero(
        (s_measure == 0)
        & ~s_in_606
        & (s_value > MEASURES[0].lo)
        & (rng.random(s_contact.shape[0]) < 0.02)
    )
    dup_val = np.maximum(s_value[dup] - 100 * rng.integers(1, 4, dup.shape[0]), 0)
    s_contact = np.concatenate([s_contact, s_contact[dup]])
    s_measure = np.concatenate([s_measure, s_measure[dup]])
    s_value = np.concatenate([s_value, dup_val.astype(np.int32)])
    s_in_606 = np.concatenate([s_in_606, np.ones(dup.shape[0], dtype=bool)])
    # ---------------------------------------------------------------- internet-enabled logs
    lk = np.flatnonzero(s_is_log & (ss_date <= we))
    z = np.flatnonzero(
        digital[s_owner] & (s_k < n_sess[s_owner] - 1) & (rng.random(s_owner.shape[0]) < 0.1)
    )
    z = z[ss_date[z] + 3 <= we]
    l_pw = np.concatenate([s_owner[lk], s_owner[z]])
    l_start = np.concatenate([ss_date[lk], ss_date[z] + 3])
    l_duration = np.concatenate(
        [rng.integers(15, 121, lk.shape[0]), np.zeros(z.shape[0], np.int64)]
    )
    l_prog = rng.integers(0, len(IET_PROGRAMMES), n)[l_pw]
    i32, i16, i8 = np.int32, np.int16, np.int8
    return {
        "person": (person + offset).astype(i32), "prov": prov.astype(i16),
        "comm": comm.astype(i16), "gender": gender.astype(i8),
        "ethnic": ethnic.astype(i8), "imd": imd.astype(i8), "age": age.astype(i16),
        "source": source.astype(i8), "employ": employ.astype(i8), "R": R.astype(i32),
        "D": D.astype(i32), "end_code": end_code.astype(i8), "descriptor": descriptor.astype(i8),
        "pres_code": pres_code.astype(i8), "secondary": secondary.astype(i8),
        "c_pw": (c_pw + offset).astype(i32), "c_date": c_date.astype(i32),
        "c_app": c_app.astype(i8), "c_attend": c_attend.astype(i8), "c_planned": c_planned,
        "c_acts": c_acts.astype(i8), "c_therapy": c_therapy.astype(i8),
        "c_order": c_order.astype(i8),
        "s_contact": s_contact.astype(i32), "s_measure": s_measure, "s_value": s_value,
        "s_in_606": s_in_606,
        "l_pw": (l_pw + offset).astype(i32), "l_start": l_start.astype(i32),
        "l_duration": l_duration.astype(i16), "l_prog": l_prog.astype(i8),
    }  # fmt: skip


def _contacts(
    pw: Arr, date: Arr, app: Arr | int, attend: Arr | int, rng: np.random.Generator,
    *, scored: bool, order: int,
) -> tuple[Arr, ...]:  # fmt: skip
    k = pw.shape[0]
    app_a = np.broadcast_to(np.asarray(app, dtype=np.int64), (k,)).copy()
    att = np.broadcast_to(np.asarray(attend, dtype=np.int64), (k,)).copy()
    planned: Arr = np.ones(k, dtype=bool)
    if scored:
        att = np.where(rng.random(k) < 0.1, 6, att)
        planned = np.asarray(rng.random(k) >= 0.03)
    acts = _choice(rng, k, (0.03, 0.92, 0.05, 0.0)) if scored else np.full(k, ACT_NONE)
    return (
        pw.astype(np.int64), date.astype(np.int64), app_a, att, planned, acts,
        np.full(k, scored), np.full(k, order),
    )  # fmt: skip


def _outcome_class(
    rng: np.random.Generator, n: int, treated: Arr, imd: Arr, age: Arr, effect: Arr
) -> Arr:
    """Outcome class per pathway: recovery propensity by deprivation, age and provider."""
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
        np.array([C_RI_NOR, C_NC, C_RD])[_choice(rng, n, (0.478, 0.396, 0.126))],
    )
    out: Arr = np.where(treated, np.where(notcase, C_NOTCASE, cls), C_NC).astype(np.int64)
    return out
