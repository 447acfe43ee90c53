"""Properties of the synthetic truth and its NHS-derived fields, for any seed and size."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from iaptkit.synth.codes import MEASURES
from iaptkit.synth.model import simulate
from iaptkit.synth.nhs import build_index, nhs_fields

sizes = st.tuples(
    st.integers(min_value=1, max_value=400),  # pathways
    st.integers(min_value=1, max_value=8),  # months
    st.integers(min_value=1, max_value=6),  # providers
    st.integers(min_value=0, max_value=2**32 - 1),  # seed
)


@settings(max_examples=25, deadline=None)
@given(sizes)
def test_events_stay_inside_the_extract(args: tuple[int, int, int, int]) -> None:
    n, months, providers, seed = args
    t = simulate(n, 639, months, providers, np.random.default_rng(seed))
    assert t.n == n
    assert (t.D >= t.R).all()
    assert ((t.window_start <= t.R) & (t.window_end >= t.R)).all()
    assert (t.c_date >= t.R[t.c_pw]).all()
    assert (t.c_date <= t.window_end).all()
    assert ((t.prov >= 0) & (t.prov < providers)).all()
    lo = np.array([m.lo for m in MEASURES])[t.s_measure]
    hi = np.array([m.hi for m in MEASURES])[t.s_measure]
    assert ((t.s_value >= lo) & (t.s_value <= hi)).all()
    month = t.c_date.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    assert (np.diff(month) >= 0).all()  # contacts in month order, for monthly writing


@settings(max_examples=25, deadline=None)
@given(sizes)
def test_nhs_fields_are_consistent(args: tuple[int, int, int, int]) -> None:
    n, months, providers, seed = args
    t = simulate(n, 639, months, providers, np.random.default_rng(seed))
    idx = build_index(t)
    pw = np.arange(n)
    discharged = t.window_end >= t.D
    f = nhs_fields(t, idx, pw, np.minimum(t.D, t.window_end), discharged)
    two = f.session_count >= 2
    assert ((f.session_second >= 0) == two).all()
    assert (f.session_first[two] <= f.session_second[two]).all()
    assert (f.session_second[two] <= f.session_last[two]).all()
    assert (f.completed == (discharged & two)).all()
    flags = np.stack([f.reliable_improvement, f.reliable_deterioration, f.no_change])
    assert (flags.sum(axis=0) <= 1).all()
    for flag in (*flags, f.recovery, f.not_caseness):
        assert not (flag & ~f.completed).any()
    assert not (f.recovery & f.not_caseness).any()
    usable = np.array([m.usable for m in MEASURES])[np.maximum(f.adsm, 0)] & (f.adsm >= 0)
    anx_paired = (usable & (f.adsm_last >= 0)) | (f.gad_last >= 0)
    paired = f.completed & (f.phq_last >= 0) & anx_paired
    # improvement, deterioration and no change partition the paired pathways (docs/measures.md §1)
    assert (flags.sum(axis=0) == paired).all()
    # as at an earlier day, nothing is counted that is not counted later
    early = nhs_fields(t, idx, pw, t.R + 30, np.zeros(n, bool))
    assert (early.session_count <= f.session_count).all()
    assert not early.completed.any()
