"""One block of simulated pathways: people, routes, waits, contacts, scores and logs.

:func:`simulate_block` draws a block of pathways and the events that follow from them, in
compact numpy arrays; :func:`iaptkit.synth.model.simulate` joins the blocks into one
:class:`~iaptkit.synth.truth.Truth`. The proportions are calibrated to the national figures
(``docs/measures.md``, "Published England figures"); event types and codes follow
``docs/data-model.md``.
"""

from __future__ import annotations

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
    DESCRIPTORS,
    IET_PROGRAMMES,
    MEASURES,
    SECONDARY_CODES,
    THERAPY_CODES,
)
from iaptkit.synth.draws import (
    choice,
    contacts,
    first_last_scores,
    group_positions,
    outcome_class,
    uniform_int,
)
from iaptkit.synth.optional_fields import first_to_second_gaps

__all__ = ["simulate_block"]

Arr = npt.NDArray[Any]


def simulate_block(
    offset: int, n: int, ws: int, we: int, prov_cum: Arr, effect: Arr, n_comm: Arr,
    comm_of: Arr, rng: np.random.Generator,
) -> dict[str, Arr]:  # fmt: skip
    """Simulate pathways ``offset`` to ``offset + n - 1``; compact arrays, contacts unsorted.

    Parameters
    ----------
    offset
        Index of the block's first pathway.
    n
        Pathways in the block.
    ws, we
        First and last day of the extract's window.
    prov_cum
        Cumulative provider shares (which provider receives each referral).
    effect
        Each provider's effect on recovery.
    n_comm, comm_of
        Each provider's number of commissioners and their indexes.
    rng
        The block's own random generator.

    Returns
    -------
    dict
        Field name -> numpy array, the fields of :class:`~iaptkit.synth.truth.Truth` (pathway,
        contact, score and log arrays; pathway indexes global) plus ``c_order``.
    """
    providers = prov_cum.shape[0]
    prov = np.searchsorted(prov_cum, rng.random(n), side="right").clip(0, providers - 1)
    gender = choice(rng, n, (0.33, 0.64, 0.005, 0.025))
    ethnic = choice(
        rng, n,
        (0.72, 0.01, 0.05, 0.01, 0.01, 0.005, 0.005, 0.03, 0.02, 0.01, 0.01,
         0.02, 0.015, 0.005, 0.005, 0.02, 0.04, 0.015),
    )  # fmt: skip
    imd = 1 + choice(rng, n, tuple(1.3 - 0.06 * d for d in range(10)))
    imd[rng.random(n) < 0.03] = 0
    band = choice(rng, n, (0.015, 0.17, 0.71, 0.06, 0.04, 0.005))
    band_lo = np.array([16, 18, 26, 65, 75, 90])[band]
    band_hi = np.array([17, 25, 64, 74, 89, 99])[band]
    age = uniform_int(rng, band_lo, band_hi)
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
    source = choice(rng, n, (0.45, 0.3, 0.1, 0.05, 0.04, 0.03, 0.03))
    employ = choice(rng, n, (0.5, 0.15, 0.08, 0.08, 0.05, 0.05, 0.04, 0.03, 0.02))
    R = rng.integers(ws, we + 1, n)
    descriptor = choice(rng, n, tuple(d.share for d in DESCRIPTORS))
    n_codes = np.array([max(len(d.codes), 1) for d in DESCRIPTORS])[descriptor]
    pres_code = np.floor(rng.random(n) * n_codes).astype(np.int64)
    secondary = np.where(
        rng.random(n) < 0.15, np.floor(rng.random(n) * len(SECONDARY_CODES)), -1
    ).astype(np.int64)
    secondary[descriptor == len(DESCRIPTORS) - 1] = -1
    # ---------------------------------------------------------------- routes
    route = choice(rng, n, (0.10, 0.21, 0.69))  # 0 none, 1 assessed only, 2 treated
    treated = route == 2
    wait_cat = choice(rng, n, (0.87, 0.105, 0.025))
    w_lo = np.array([0, 43, 127])[wait_cat]
    w_hi = np.array([42, 126, 240])[wait_cat]
    W = uniform_int(rng, w_lo + (wait_cat == 0) * 3, w_hi)
    combined = treated & ((rng.random(n) < 0.2) | (W < 2))
    G = np.minimum(np.round(rng.gamma(1.5, 8.0, n)).astype(np.int64), W - 1)
    G = np.maximum(G, 0)
    T1 = R + W
    single = rng.random(n) < 0.12
    n_sess = np.where(treated, np.where(single, 1, 2 + rng.negative_binomial(2.5, 2.5 / 9.0, n)), 0)
    n_sess = np.minimum(n_sess, 30)
    digital = treated & (rng.random(n) < 0.12)
    # sessions (contacts or logs)
    s_owner, s_k = group_positions(n_sess)
    gaps = np.where(s_k == 0, 0, 7 + rng.integers(0, 8, s_owner.shape[0]))
    # the first-to-second gap follows the national mix (a fixed hash: no generator draw)
    second = s_k == 1
    gaps[second] = first_to_second_gaps(s_owner[second] + offset)
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
    ec_fin = np.array([8, 9, 10, 11, 13])[choice(rng, n, (0.82, 0.08, 0.075, 0.005, 0.02))]
    ec_one = np.array([9, 10, 13])[choice(rng, n, (0.45, 0.45, 0.1))]
    ec_ass = np.array([0, 1, 2, 3, 4, 5, 6, 7])[
        choice(rng, n, (0.15, 0.2, 0.2, 0.15, 0.2, 0.08, 0.005, 0.015))
    ]
    ec_none = np.array([5, 12, 7, 4])[choice(rng, n, (0.5, 0.3, 0.15, 0.05))]
    end_code = np.where(
        treated, np.where(n_sess >= 2, ec_fin, ec_one), np.where(route == 1, ec_ass, ec_none)
    )
    # ---------------------------------------------------------------- contacts
    parts: list[tuple[Arr, ...]] = []  # (pw, date, app, attend, planned, acts, scored, order)
    # assessment contacts (not for combined first sessions, not for route 0)
    ka = np.flatnonzero((route == 1) | (treated & ~combined))
    parts.append(contacts(ka, A[ka], A01, 5, rng, scored=True, order=0))
    # a DNA'd assessment for half of route-0 pathways
    k0 = np.flatnonzero((route == 0) & (rng.random(n) < 0.5))
    d0 = np.minimum(R[k0] + rng.integers(5, 21, k0.shape[0]), D[k0])
    parts.append(contacts(k0, d0, A01, 3, rng, scored=False, order=0))
    # session contacts
    sc = np.flatnonzero(~s_is_log)
    sp = s_owner[sc]
    app = np.where(
        s_k[sc] == 0,
        np.where(combined[sp], A03, A02),
        np.where(rng.random(sc.shape[0]) < 0.15, A05, A02),
    )
    parts.append(contacts(sp, ss_date[sc], app, 5, rng, scored=True, order=2))
    # DNAs and cancellations before some sessions
    kd = sc[rng.random(sc.shape[0]) < 0.15]
    dp = s_owner[kd]
    dd = np.maximum(R[dp], ss_date[kd] - rng.integers(1, 4, kd.shape[0]))
    dcode = np.array([2, 3, 4, 7])[choice(rng, kd.shape[0], (0.3, 0.45, 0.2, 0.05))]
    parts.append(contacts(dp, dd, A02, dcode, rng, scored=False, order=1))
    # employment-support-only contacts between sessions
    ke = np.flatnonzero((s_k < n_sess[s_owner] - 1) & (rng.random(s_owner.shape[0]) < 0.04))
    es = contacts(s_owner[ke], ss_date[ke] + 2, A02, 5, rng, scored=False, order=3)
    parts.append((*es[:5], np.full(ke.shape[0], ACT_ES), *es[6:]))
    # follow-ups after discharge
    kf = np.flatnonzero(treated & (n_sess >= 2) & (rng.random(n) < 0.2))
    parts.append(contacts(kf, D[kf] + rng.integers(30, 92, kf.shape[0]), A06, 5, rng,
                           scored=True, order=4))  # fmt: skip
    cat = [np.concatenate([p[i] for p in parts]) for i in range(8)]
    del parts
    keep = cat[1] <= we
    c_pw, c_date, c_app, c_attend, c_planned, c_acts, c_scored, c_order = (x[keep] for x in cat)
    del cat, keep
    c_therapy = np.asarray(rng.integers(0, len(THERAPY_CODES), c_pw.shape[0]))
    # ---------------------------------------------------------------- scores
    cls = outcome_class(rng, n, treated, imd, age, effect[prov])
    adsm = np.array([d.adsm for d in DESCRIPTORS])[descriptor]
    adsm_recorded = (adsm >= 0) & (rng.random(n) < 0.8)
    # position of each scored contact among the pre-discharge scored contacts, by date
    sc_idx = np.flatnonzero(c_scored & (c_date <= D[c_pw]))
    so = sc_idx[np.lexsort((c_date[sc_idx], c_pw[sc_idx]))]
    counts = np.bincount(c_pw[so], minlength=n)
    _, pos = group_positions(counts)
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
        first[ri], last[ri] = first_last_scores(rng, m, cls[ri])
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
