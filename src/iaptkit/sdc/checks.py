"""Other disclosure checks: magnitude tables, summary statistics and regression results.

Count tables are protected by :func:`iaptkit.sdc.protect`. Everything else an analyst may want to
release is checked here against the same policy, following ``docs/disclosure-control.md`` ("Derived
statistics"):

- magnitude tables (sums of a value, e.g. total sessions by provider) need the threshold number of
  contributors per cell and must pass the dominance (n, k) rule and the p% rule;
- means, medians and other summaries need the policy's number of contributors; minima and maxima of
  individuals are never released;
- regression results need the policy's residual degrees of freedom, and every category of each
  categorical covariate needs the threshold number of people.

Each check returns a :class:`CheckResult` (``pass``, ``fail`` or ``review``) with reasons an
output checker can read, and a mask saying which cells, statistics or coefficients offend.

This module gathers the checks in one place; they live in :mod:`iaptkit.sdc.magnitude`,
:mod:`iaptkit.sdc.summaries` and :mod:`iaptkit.sdc.regression`, and share
:mod:`iaptkit.sdc.check_rules` (the result and the policy's rules).
"""

from __future__ import annotations

from iaptkit.sdc.check_rules import CheckResult, CheckRules
from iaptkit.sdc.magnitude import check_magnitude
from iaptkit.sdc.regression import check_regression
from iaptkit.sdc.summaries import check_summary, summarise

__all__ = [
    "CheckResult",
    "CheckRules",
    "check_magnitude",
    "check_regression",
    "check_summary",
    "summarise",
]
