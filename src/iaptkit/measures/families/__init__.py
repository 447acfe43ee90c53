"""The NHS measure catalogue: measure families 1-8 beside the outcome family (docs/measures.md §5).

:mod:`~iaptkit.measures.families.specs` lists every measure (its family, kind and NHS measure
ID); :mod:`~iaptkit.measures.families.cohorts` turns each pathway into cohort flags and values;
:mod:`~iaptkit.measures.families.counts` counts them by breakdown (adding up over parts);
:mod:`~iaptkit.measures.families.layout` lays them out as long-table rows.
"""
