"""Simulate the truth behind a synthetic IAPT v2.x extract.

:func:`simulate` draws, with numpy only (no per-pathway Python loops), one row per pathway
(provider, commissioner, demographics, referral and discharge dates, problem descriptor, the
route through the service) and the events that follow from it: care contacts, care activities,
scores and internet-enabled therapy logs. Pathways are drawn in blocks
(:mod:`iaptkit.synth.pathways`) and joined into one :class:`~iaptkit.synth.truth.Truth`,
ordered for monthly writing. :mod:`iaptkit.synth.writer` cuts these into
monthly submissions; :mod:`iaptkit.synth.nhs` computes the NHS-derived fields from them.

Nothing here is real data. The proportions are calibrated so that England-level measures over
a year land near the published national figures (``docs/measures.md``, "Published England figures"):
recovery about 50 %, reliable improvement about 67 %, deterioration about 6 %, 6-week waits
about 90 %. Scores are held as integers in hundredths (``1000`` is a PHQ-9 score of 10,
``230`` a Mobility Inventory score of 2.30) so that every threshold comparison is exact.
"""

from __future__ import annotations

import numpy as np

from iaptkit.synth.pathways import simulate_block
from iaptkit.synth.truth import Arr, Truth, month_of_day

__all__ = ["BLOCK", "MAX_PATHWAYS", "simulate"]


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
    ``docs/measures.md`` ("Published England figures"); event types and codes follow
    ``docs/data-model.md``. Pathways are simulated in blocks of :data:`BLOCK`, each
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
        simulate_block(s, min(BLOCK, pathways - s), ws, we, prov_cum, effect, n_comm, comm_of, g)
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
