"""notebooks/05_ad_hoc_analysis.ipynb under papermill on a small synthetic extract.

Each safe-analysis call is registered with its status and reasons, and nothing that leaves
shows a small count: every count-like published value obeys the notebook's policy (nhs-sde).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from iaptkit.notebooks.runner import run_grid
from iaptkit.release import Release
from iaptkit.synth.generate import write_synthetic

pytestmark = pytest.mark.slow

#: Output names carry the period (runs of other periods coexist in one release).
PERIOD = "_20230401_20240331"
NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "05_ad_hoc_analysis.ipynb"


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    root = tmp_path_factory.mktemp("adhoc")
    write_synthetic(root / "extract", pathways=800, providers=3, with_nhs_fields=True, seed=7)
    params = {"extract": str(root / "extract"), "output_dir": str(root / "release")}
    summary = run_grid(NOTEBOOK, [params], root / "runs")
    assert summary.ok, [r.error for r in summary.failed]
    return Release.open(root / "release")


def test_every_call_is_registered(release: Release) -> None:
    kinds = {o.uid: o.kind for o in release.outputs}
    assert kinds[f"adhoc_recovery_by_age{PERIOD}"] == "table"
    assert kinds[f"adhoc_mean_sessions{PERIOD}"] == "table"
    assert kinds[f"adhoc_pathways_by_provider_age{PERIOD}"] == "table"
    assert kinds[f"adhoc_ols_sessions{PERIOD}"] == "model"
    assert kinds[f"adhoc_probit_recovery{PERIOD}"] == "model"
    assert kinds[f"adhoc_hist_phq9_first{PERIOD}"] == "figure"
    assert kinds[f"adhoc_bar_phq9_by_age{PERIOD}"] == "figure"
    for out in release.outputs:
        assert out.policy_id == "nhs-sde"
        assert out.reasons


def test_counts_published_obey_the_policy(release: Release) -> None:
    for uid in (f"adhoc_recovery_by_age{PERIOD}", f"adhoc_pathways_by_provider_age{PERIOD}"):
        shown = pd.read_csv(release.path / "outputs" / f"{uid}.csv", dtype=str)["value"]
        numbers = pd.to_numeric(shown[shown != "*"])
        assert ((numbers == 0) | (numbers >= 10)).all()
        assert (numbers % 5 == 0).all()


def test_the_failing_model_names_its_small_category_and_the_refit_passes(
    release: Release,
) -> None:
    failed = release.output(f"adhoc_logit_recovery{PERIOD}")
    assert failed.status == "fail"
    assert any("Under 18" in r for r in failed.reasons)
    assert release.output(f"adhoc_logit_recovery_adults{PERIOD}").status == "pass"
