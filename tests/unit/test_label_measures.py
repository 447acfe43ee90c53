"""The label sets' measures (``labels.*_MEASURES``): each label is of its set, each measure a
count measure that ``measures`` publishes, and a notebook's cell keys follow them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from iaptkit.definitions import labels
from iaptkit.measures.catalogue import COUNT_MEASURES
from iaptkit.notebooks.context import NotebookContext

PAIRS = [
    (labels.FINISHED_OUTCOME, labels.FINISHED_OUTCOME_MEASURES),
    (labels.RECOVERY_OUTCOME, labels.RECOVERY_OUTCOME_MEASURES),
    (labels.RELIABLE_CHANGE, labels.RELIABLE_CHANGE_MEASURES),
    (labels.WAIT_PERFORMANCE, labels.WAIT_PERFORMANCE_MEASURES),
    (labels.GAP_BANDS, labels.GAP_BANDS_MEASURES),
]


@pytest.mark.parametrize(("label_set", "pairs"), PAIRS)
def test_every_alias_is_a_label_of_its_set_and_a_published_count(
    label_set: tuple[str, ...], pairs: tuple[tuple[str, str], ...]
) -> None:
    for label, measure in pairs:
        assert label in label_set
        assert measure in COUNT_MEASURES, measure


def _ctx(provider: str) -> NotebookContext:
    return NotebookContext(
        notebook="02_outcomes_report", parameters={}, extract="x", release_dir=Path("r"),
        start=date(2024, 4, 1), end=date(2025, 3, 31), provider=provider, policy="sdap",
    )  # fmt: skip


def test_a_notebook_cell_with_a_measure_of_its_own_is_keyed_by_it() -> None:
    keys = _ctx("R1A").cell_keys(
        "finished_treatment", {"outcome": labels.FINISHED_OUTCOME_MEASURES}
    )
    assert keys.measure_of([("outcome", "recovered")]) == ("recovered", (("provider", "R1A"),))
    assert keys.measure_of([("outcome", "not at caseness"), ("gender", "Male")]) == (
        "not_at_caseness",
        (("gender", "Male"), ("provider", "R1A")),
    )
    # the other categories: their own measure, so no sum over "outcome" is ever taken
    assert keys.measure_of([("outcome", "not recovered")]) == (
        "finished_treatment[outcome=not recovered]",
        (("provider", "R1A"),),
    )
    assert keys.measure_of([]) == ("finished_treatment", (("provider", "R1A"),))
    assert keys.filters == ()  # no notebook filter: the same cell as in a measures output
    assert keys.definitions_version  # the packaged definitions the notebooks count with
