"""Property: random releases of 2-5 measures outputs over one synthetic extract are safe jointly.

Each output is a random period (April-March, May-March, April-December), a random set of
breakdowns and measures, protected on its own by ``protect_measures``. ``release build`` (joint
protection on) must export every output, ``release verify`` must pass, and the exact integer
attacker of the docs run again over everything exported (with the true values kept inside the
release) finds no suppressed cell narrower than its protection width: primary cells at least
the policy's width, every suppressed cell not determined exactly.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iaptkit.data import load_extract
from iaptkit.measures.published import published_measures
from iaptkit.release import Release, build, verify
from iaptkit.release.jointaudit import joint_attack
from iaptkit.release.keyed import load_cells
from iaptkit.release.relations import joint_system
from iaptkit.sdc import protect_measures

PERIODS = (
    (date(2023, 4, 1), date(2024, 3, 31)),
    (date(2023, 5, 1), date(2024, 3, 31)),
    (date(2023, 4, 1), date(2023, 12, 31)),
)
BREAKDOWNS = ("england", "provider", "gender", "provider x gender")
MEASURES = ("finished_treatment", "at_caseness", "not_at_caseness", "recovered")

_TABLES: dict[tuple[date, date], pd.DataFrame] = {}


def tables() -> dict[tuple[date, date], pd.DataFrame]:
    """The unprotected measures of every period, computed once from one synthetic extract."""
    if not _TABLES:
        from iaptkit.synth.generate import write_synthetic

        folder = Path(tempfile.mkdtemp()) / "extract"
        write_synthetic(folder, pathways=500, start="2023-04", months=12, providers=3, seed=3)
        ex = load_extract(folder)
        try:
            for s, e in PERIODS:
                _TABLES[(s, e)] = published_measures(ex, s, e, BREAKDOWNS, families=["0"])
        finally:
            ex.close()
    return _TABLES


outputs = st.lists(
    st.tuples(
        st.sampled_from(range(len(PERIODS))),
        st.sets(st.sampled_from(BREAKDOWNS), min_size=1, max_size=3),
        st.sets(st.sampled_from(MEASURES), min_size=1, max_size=3),
    ),
    min_size=2,
    max_size=5,
)


@pytest.mark.slow
# five random releases per run (each builds, verifies and attacks; about 40 s); the fixed
# scenarios of tests/integration/test_release_attacker_scenarios.py cover the documented routes
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outputs)
def test_random_releases_are_jointly_safe(spec: list[tuple[int, set[str], set[str]]]) -> None:
    root = Path(tempfile.mkdtemp())
    rel = Release.open_or_create(root / "rel")
    for k, (p, by, ms) in enumerate(spec):
        table = tables()[PERIODS[p]]
        part = table[table["breakdown"].isin(by) & table["measure"].isin(ms)]
        out = rel.add_table(protect_measures(part, "nhs-sde"), name=f"out{k}")
        assert out.status == "pass"
    result = build(rel.path, root / "export")
    assert result.excluded == {}
    assert verify(root / "export", allow_unsigned=True) == []
    # the attacker again over what was exported (true widths from inside the release)
    system = joint_system(load_cells(Release.open(rel.path), result.exported))
    hidden = system.suppressed() & ~pd.Series([bool(s) for s in system.shown_in]).to_numpy()
    shown_and_hidden = system.suppressed() & ~hidden
    assert not shown_and_hidden.any(), "a cell suppressed in one output is shown in another"
    lo, hi = joint_attack(system, hidden, hidden)
    for i in range(system.n):
        if hidden[i] and not system.structural_zero[i]:
            assert hi[i] - lo[i] >= max(system.width[i], 1.0), system.label(i)
