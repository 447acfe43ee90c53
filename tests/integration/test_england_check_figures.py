"""England check figures: the synthetic national calibration against published NHS figures.

iaptkit's own measures (``published_measures``) on synthetic extracts are compared with the
England figures the measure catalogue gives as check figures (docs/measures.md §5.3, §5.6 and
"Published England figures", 2024-25):

* the generator's calibration year (20,000 pathways over 12 months, as in
  tests/unit/test_synth_calibration.py), scaled to the national number of referrals received:
  finished courses, waited 6 / 18 weeks and recovered within 15 % of the published totals, and
  the headline rates within a few points;
* a steady state (the second year of a 24-month extract, so that long courses started in the
  first year finish in the second): the finished courses' first-to-second session gap bands
  within 3 points of the published shares (<= 28 days 268,954, 29-56 145,392, 57-90 97,487,
  > 90 158,586 of 670,419 finished).

The expected figures are the published ones, typed here from the annual files; nothing is taken
from iaptkit's output.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from iaptkit.data import load_extract
from iaptkit.measures.published import published_measures
from iaptkit.synth.generate import write_synthetic

pytestmark = pytest.mark.slow

#: England 2024-25 (annual main CSV)
REFERRALS = 1_813_432
FINISHED = 670_419
WAITED_6, WAITED_18 = 614_104, 661_723
RECOVERED = 321_061
RATES = {
    "waited_6_weeks_rate": (91.6, 3.0),
    "waited_18_weeks_rate": (98.7, 1.5),
    "recovery_rate": (50.5, 3.0),
    "reliable_improvement_rate": (67.5, 3.0),
    "reliable_recovery_rate": (47.5, 3.0),
    "reliable_deterioration_rate": (5.8, 1.5),
}
GAP_SHARES = {
    "le_28_days": 100 * 268_954 / FINISHED,
    "29_to_56_days": 100 * 145_392 / FINISHED,
    "57_to_90_days": 100 * 97_487 / FINISHED,
    "over_90_days": 100 * 158_586 / FINISHED,
}


def _england(folder: Path, start: date, end: date, families: str) -> dict[str, float]:
    with load_extract(folder) as ex:
        m = published_measures(ex, start, end, "england", families=families)
    return dict(zip(m.measure, m.value, strict=True))


@pytest.fixture(scope="module")
def calibration_year(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    folder = tmp_path_factory.mktemp("england_year") / "x"
    write_synthetic(folder, pathways=20_000, months=12, providers=8, seed=1)
    return _england(folder, date(2023, 4, 1), date(2024, 3, 31), "outcomes")


@pytest.fixture(scope="module")
def steady_year(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    folder = tmp_path_factory.mktemp("england_steady") / "x"
    write_synthetic(folder, pathways=40_000, months=24, providers=8, seed=1)
    return _england(folder, date(2024, 4, 1), date(2025, 3, 31), "first_to_second")


def test_scaled_england_totals_within_15_per_cent(calibration_year: dict[str, float]) -> None:
    v = calibration_year
    scale = REFERRALS / v["referrals_received"]
    for measure, published in (
        ("finished_treatment", FINISHED),
        ("waited_6_weeks", WAITED_6),
        ("waited_18_weeks", WAITED_18),
        ("recovered", RECOVERED),
    ):
        scaled = v[measure] * scale
        assert abs(scaled / published - 1) <= 0.15, (measure, round(scaled), published)


@pytest.mark.parametrize("measure", sorted(RATES))
def test_headline_rates_near_england(calibration_year: dict[str, float], measure: str) -> None:
    published, tolerance = RATES[measure]
    assert abs(calibration_year[measure] - published) <= tolerance


def test_first_to_second_gaps_of_finished_courses_near_england(
    steady_year: dict[str, float],
) -> None:
    v = steady_year
    for band, published in GAP_SHARES.items():
        got = v[f"finished_first_to_second_{band}_rate"]
        assert abs(got - published) <= 3.0, (band, round(got, 1), round(published, 1))
    # the catalogue's headline: 59.9 % of finished courses waited over 28 days
    assert abs(100 - v["finished_first_to_second_le_28_days_rate"] - 59.9) <= 3.0
