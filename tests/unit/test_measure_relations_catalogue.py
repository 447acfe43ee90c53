"""The audit's relations between measures name real measures, and hold on a synthetic year.

A misspelt measure in :mod:`iaptkit.sdc.measure_relations` or
:data:`iaptkit.definitions.bands.MEDIAN_COUNTS` would drop its relation without a word, and
the attacker would know more than the audit; a relation that the measures' definitions do not
make true would be dropped on real data (each is taken only where the true counts satisfy it).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from iaptkit.data import load_extract
from iaptkit.definitions.bands import MEDIAN_COUNTS
from iaptkit.measures import published_measures
from iaptkit.measures.catalogue import MEASURES
from iaptkit.measures.families.specs import FAMILY_MEASURES
from iaptkit.sdc.measure_relations import (
    CELL_KEY,
    MEASURE_EQUALITIES,
    MEASURE_INEQUALITIES,
    MEASURE_SCALED_BOUNDS,
    cell_relations,
    measure_parts,
)
from iaptkit.sdc.median_relations import median_relations
from iaptkit.synth.generate import write_synthetic

COUNTS = {m.name for m in MEASURES if m.kind == "count"} | {
    m.name for m in FAMILY_MEASURES if m.kind == "count"
}
MEDIANS = {m.name for m in FAMILY_MEASURES if m.kind == "median"}


def _named() -> list[str]:
    names = [t for t, _ in (*MEASURE_EQUALITIES, *MEASURE_INEQUALITIES)]
    names += [p for _, parts in (*MEASURE_EQUALITIES, *MEASURE_INEQUALITIES) for p in parts]
    names += [n for t, c, _, _ in MEASURE_SCALED_BOUNDS for n in (t, c)]
    names += [n for m in MEDIAN_COUNTS for n in m.ranges]
    return names


@pytest.mark.parametrize("name", sorted(set(_named())))
def test_every_measure_a_relation_names_is_a_count(name: str) -> None:
    if name.endswith("*"):
        assert any(c.startswith(name[:-1]) for c in COUNTS), name
    else:
        assert name in COUNTS


def test_every_median_with_bands_is_a_median() -> None:
    assert {m.median for m in MEDIAN_COUNTS} <= MEDIANS
    assert len(MEDIAN_COUNTS) == 3


@pytest.fixture(scope="module")
def measures_table(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder: Path = tmp_path_factory.mktemp("relations-year")
    write_synthetic(folder, pathways=1_200, months=12, providers=3, seed=23, with_nhs_fields=True)
    ex = load_extract(folder)
    try:
        return published_measures(ex, date(2023, 4, 1), date(2024, 3, 31), "england,provider")
    finally:
        ex.close()


def test_the_parts_add_up_and_the_nested_counts_nest_on_a_synthetic_year(
    measures_table: pd.DataFrame,
) -> None:
    counts = measures_table[measures_table["kind"] == "count"].reset_index(drop=True)
    values = counts["value"].astype(float).to_numpy()
    kept: list[tuple[str, tuple[str, ...]]] = []
    wrong: set[tuple[str, tuple[str, ...]]] = set()
    for (_, _, _, _group), cell in counts.groupby(list(CELL_KEY[:-1])):
        cells = dict(zip(cell["measure"], cell.index, strict=True))
        for rules, equal in ((MEASURE_EQUALITIES, True), (MEASURE_INEQUALITIES, False)):
            for total, parts in rules:
                ps = measure_parts(parts, cells)
                if total not in cells or ps is None:
                    continue
                got, want = sum(values[p] for p in ps), values[cells[total]]
                if not ((got == want) if equal else (got <= want)):
                    wrong.add((total, parts))
                kept.append((total, parts))
        # every rule present becomes a relation (none dropped as untrue)
        eqs, _ineqs = cell_relations(
            cells,
            lambda row, eq: (
                (abs if eq else float)(sum(a * values[c] for c, a in row.items())) <= 1e-9
            ),
        )
        assert len(eqs) == sum(
            1 for t, p in MEASURE_EQUALITIES if t in cells and measure_parts(p, cells) is not None
        )
    assert wrong == set()
    # the synthetic year has every family: nearly every rule was checked
    rules = {*MEASURE_EQUALITIES, *MEASURE_INEQUALITIES}
    assert len(set(kept)) >= len(rules) - 2


def test_the_medians_bounds_hold_on_a_synthetic_year(measures_table: pd.DataFrame) -> None:
    table = measures_table.assign(period_start=lambda d: d["period_start"].astype(str))
    counts = table[table["kind"] == "count"].reset_index(drop=True)
    counts = counts.assign(true_value=counts["value"].astype(int))
    medians = table[table["kind"] == "median"]
    rows = median_relations(counts, medians, 1)
    # three medians with bands, England and 3 providers: several bounds each
    assert len(rows) >= 12
