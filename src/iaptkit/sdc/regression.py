"""Regression results: residual degrees of freedom and people per category of a covariate.

Regression results need the policy's residual degrees of freedom, and every category of each
categorical covariate needs the threshold number of people (``docs/disclosure-control.md``,
"Derived statistics"). Re-exported by :mod:`iaptkit.sdc.checks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from iaptkit.errors import ConfigError
from iaptkit.sdc.check_rules import (
    CheckResult,
    check_rules,
    check_status,
    require_columns,
)

__all__ = ["check_regression"]


def check_regression(
    result: Any,
    data: pd.DataFrame | None = None,
    *,
    categorical: Sequence[str] = (),
    policy: object = "nhs-sde",
    name: str = "regression",
) -> CheckResult:
    """Check a fitted statsmodels regression before its coefficients are released.

    Parameters
    ----------
    result
        A fitted statsmodels results object (``df_resid``, ``params``; formula models also give
        the rows used through ``result.model.data.row_labels``).
    data
        The data the model was fitted on (needed for the category counts).
    categorical
        Categorical covariates: each of their categories needs the threshold number of people.
    policy
        A policy id, a :class:`~iaptkit.sdc.Policy`, or
        :class:`~iaptkit.sdc.check_rules.CheckRules`.
    name
        Named in the result.

    Returns
    -------
    CheckResult
        ``fail`` when the residual degrees of freedom are below the policy's minimum or a
        category is too small; the mask has one row per coefficient (``term``, ``covariate``,
        ``level``, ``people``, ``offending``, ``reason``). A small reference category marks every
        coefficient of its covariate and the intercept. ``review`` when the policy sets no
        residual-df minimum.

    Notes
    -----
    docs/disclosure-control.md, "Derived statistics": regression results need at least the policy's
    residual degrees of freedom (``sdap``: 10), and every category of a categorical covariate
    needs the threshold number of people.

    Examples
    --------
    >>> import numpy as np
    >>> import statsmodels.formula.api as smf
    >>> from iaptkit.sdc.check_rules import CheckRules
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 40 + ["c"] * 4, "x": rng.normal(size=84)})
    >>> df["y"] = df["x"] + rng.normal(size=84)
    >>> fit = smf.ols("y ~ x + C(g)", data=df).fit()
    >>> rules = CheckRules("sdap", "1", threshold=10, min_contributors=10, min_residual_df=10)
    >>> r = check_regression(fit, df, categorical=["g"], policy=rules)
    >>> r.status, r.mask.loc[r.mask["offending"], "term"].tolist()
    ('fail', ['C(g)[T.c]'])
    """
    rules = check_rules(policy)
    terms = [str(t) for t in getattr(result.params, "index", range(len(result.params)))]
    df_resid = float(result.df_resid)
    reasons: list[str] = []
    review: list[str] = []
    offending: dict[str, list[str]] = {t: [] for t in terms}
    covariate_of: dict[str, str] = {}
    level_of: dict[str, str] = {}
    people_of: dict[str, int | None] = {t: None for t in terms}

    if rules.min_residual_df is None:
        review.append(
            f"policy {rules.policy_id} {rules.policy_version} sets no minimum residual degrees "
            f"of freedom (model has {df_resid:g}): a checker must judge"
        )
    elif df_resid < rules.min_residual_df:
        why = f"{df_resid:g} residual degrees of freedom, fewer than {rules.min_residual_df}"
        reasons.append(why)
        for t in terms:
            offending[t].append(why)

    if categorical and data is None:
        raise ConfigError(
            f"{name}: categorical covariates {list(categorical)} given but no data to count "
            "people per category; pass the data the model was fitted on"
        )
    if data is not None and categorical:
        require_columns(data, list(categorical), name)
        used = data
        labels = getattr(getattr(getattr(result, "model", None), "data", None), "row_labels", None)
        if labels is not None and len(labels) != len(data):
            used = data.loc[labels]
        for cov in categorical:
            counts = used[cov].astype("string").value_counts(dropna=False)
            cov_terms = [t for t in terms if _term_covariate(t) == cov]
            for level, n in counts.items():
                lvl = str(level)
                level_terms = [t for t in cov_terms if t.endswith(f"[T.{lvl}]")]
                for t in level_terms:
                    covariate_of[t], level_of[t], people_of[t] = cov, lvl, int(n)
                if n >= rules.threshold:
                    continue
                why = f"{cov}={lvl}: {int(n)} people, fewer than the threshold {rules.threshold}"
                reasons.append(why)
                hit = level_terms or [*cov_terms, *[t for t in terms if t == "Intercept"]]
                for t in hit:
                    offending[t].append(why)
    rows = [
        {
            "term": t,
            "covariate": covariate_of.get(t, ""),
            "level": level_of.get(t, ""),
            "people": people_of[t],
            "offending": bool(offending[t]),
            "reason": "; ".join(offending[t]),
        }
        for t in terms
    ]
    mask = pd.DataFrame(
        rows, columns=["term", "covariate", "level", "people", "offending", "reason"]
    )
    mask["people"] = mask["people"].astype("Int64")
    return CheckResult(name, check_status(reasons, review), tuple([*reasons, *review]), mask)


def _term_covariate(term: str) -> str:
    """The covariate of a patsy term: ``C(gender)[T.Male]`` and ``gender[T.Male]`` -> ``gender``."""
    base = term.split("[", 1)[0]
    if base.startswith("C(") and base.endswith(")"):
        base = base[2:-1].split(",", 1)[0].strip()
    return base
