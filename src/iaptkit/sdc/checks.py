"""Other disclosure checks: magnitude tables, summary statistics and regression results.

Count tables are protected by :func:`iaptkit.sdc.protect`. Everything else an analyst may want to
release is checked here against the same policy, following ``disclosure-control.md`` ("Derived
statistics"):

- magnitude tables (sums of a value, e.g. total sessions by provider) need the threshold number of
  contributors per cell and must pass the dominance (n, k) rule and the p% rule;
- means, medians and other summaries need the policy's number of contributors; minima and maxima of
  individuals are never released;
- regression results need the policy's residual degrees of freedom, and every category of each
  categorical covariate needs the threshold number of people.

Each check returns a :class:`CheckResult` (``pass``, ``fail`` or ``review``) with reasons an
output checker can read, and a mask saying which cells, statistics or coefficients offend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from iaptkit.errors import ConfigError

__all__ = [
    "CheckResult",
    "CheckRules",
    "check_magnitude",
    "check_regression",
    "check_summary",
    "summarise",
]

Status = Literal["pass", "fail", "review"]
_ALLOWED_SUMMARIES = frozenset({"mean", "median", "sum", "count", "std", "var", "quantile"})
_NEVER_RELEASED = frozenset({"min", "max", "minimum", "maximum", "range"})


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one disclosure check.

    Parameters
    ----------
    name
        What was checked, e.g. ``"magnitude: sessions by provider"``.
    status
        ``"pass"``, ``"fail"`` or ``"review"`` (a person must look; e.g. a rule the policy does
        not define).
    reasons
        Readable sentences, one per problem found (empty when the check passes).
    mask
        One row per cell / statistic / coefficient checked, with a boolean ``offending``
        column and a ``reason`` column; ``None`` when the check has no cells.
    """

    name: str
    status: Status
    reasons: tuple[str, ...]
    mask: pd.DataFrame | None = None

    @property
    def passed(self) -> bool:
        """True when the status is ``"pass"``."""
        return self.status == "pass"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe summary (name, status, reasons, number of offending rows)."""
        offending = 0 if self.mask is None else int(self.mask["offending"].sum())
        return {
            "name": self.name,
            "status": self.status,
            "reasons": list(self.reasons),
            "offending": offending,
        }


@dataclass(frozen=True)
class CheckRules:
    """The numbers of a policy that these checks use.

    Parameters
    ----------
    policy_id, policy_version
        Named in every reason, so a checker knows which rules were applied.
    threshold
        Fewest contributors a released cell or category may have.
    min_contributors
        Fewest contributors for a mean, median or other summary (defaults to ``threshold``).
    dominance_n, dominance_k
        Dominance rule: the ``n`` largest contributors may not make up more than ``k`` per cent
        of a cell's total. ``None`` when the policy defines no dominance rule.
    p_percent
        p% rule: the total minus the two largest contributions must be at least ``p`` per cent of
        the largest. ``None`` when the policy defines no p% rule.
    min_residual_df
        Fewest residual degrees of freedom of a released regression. ``None``: not defined.
    rounding_base
        The policy's rounding base for counts (1: unrounded), for callers that show counts.
    """

    policy_id: str
    policy_version: str
    threshold: int
    min_contributors: int
    dominance_n: int | None = None
    dominance_k: float | None = None
    p_percent: float | None = None
    min_residual_df: int | None = None
    rounding_base: int = 1

    @classmethod
    def from_policy(cls, policy: object) -> CheckRules:
        """Read the rules from a policy object (:class:`iaptkit.sdc.Policy` or alike).

        Attributes are looked up by their usual names, flat (``dominance_n``) or nested
        (``policy.dominance.n``), so the checks do not depend on the policy's layout.
        """
        if isinstance(policy, CheckRules):
            return policy
        threshold = _attr(policy, ("threshold", "min_count", "suppress_below"))
        if threshold is None:
            raise ConfigError(
                f"policy {_attr(policy, ('id',))!r}: expected a 'threshold' (fewest people in a "
                f"released cell); found none on {type(policy).__name__}"
            )
        contributors = _attr(
            policy,
            (
                "min_contributors",
                "summary_min_contributors",
                "mean_min_contributors",
                "statistics.min_contributors",
                "summaries.min_contributors",
            ),
        )
        return cls(
            policy_id=str(_attr(policy, ("id",)) or "custom"),
            policy_version=str(_attr(policy, ("version",)) or "?"),
            threshold=int(threshold),
            min_contributors=int(contributors) if contributors is not None else int(threshold),
            dominance_n=_opt_int(_attr(policy, ("dominance_n", "dominance.n"))),
            dominance_k=_opt_float(_attr(policy, ("dominance_k", "dominance.k"))),
            p_percent=_opt_float(_attr(policy, ("p_percent", "p_percent_rule", "p", "p_rule"))),
            min_residual_df=_opt_int(
                _attr(
                    policy,
                    (
                        "min_residual_df",
                        "regression_min_df",
                        "residual_df",
                        "regression.min_residual_df",
                        "regression.residual_df",
                    ),
                )
            ),
            rounding_base=int(_attr(policy, ("rounding_base", "rounding.base")) or 1),
        )


def _attr(obj: object, names: Sequence[str]) -> Any:
    for name in names:
        cur: Any = obj
        for part in name.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else getattr(cur, part, None)
            if cur is None:
                break
        if cur is not None:
            return cur
    return None


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _rules(policy: object) -> CheckRules:
    if isinstance(policy, CheckRules):
        return policy
    if isinstance(policy, str):
        import importlib

        load_policy = importlib.import_module("iaptkit.sdc").load_policy
        return CheckRules.from_policy(load_policy(policy))
    return CheckRules.from_policy(policy)


def _require_columns(data: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ConfigError(
            f"{where}: expected columns {list(columns)}; missing {missing}; "
            f"found {list(data.columns)} ({len(data)} rows)"
        )


def _status(reasons: Sequence[str], review: Sequence[str]) -> Status:
    if reasons:
        return "fail"
    return "review" if review else "pass"


def check_magnitude(
    data: pd.DataFrame,
    dims: Sequence[str],
    value: str,
    *,
    contributor: str | None = None,
    policy: object = "nhs-sde",
    name: str = "magnitude table",
) -> CheckResult:
    """Check a magnitude table (sum of ``value`` by ``dims``) for small cells and dominance.

    Parameters
    ----------
    data
        Microdata: one row per contribution (e.g. one row per pathway with its session count).
    dims
        Columns defining the cells of the table (empty for a single total).
    value
        The non-negative magnitude summed in each cell.
    contributor
        Column identifying a contributor (e.g. ``Person_ID``); contributions of one contributor to
        a cell are added first. ``None``: every row is its own contributor.
    policy
        A policy id, a :class:`~iaptkit.sdc.Policy`, or :class:`CheckRules`.
    name
        Named in the result.

    Returns
    -------
    CheckResult
        ``fail`` when any cell has fewer contributors than the threshold, fails dominance (the
        ``n`` largest contributions exceed ``k`` % of the total) or fails the p% rule (the total
        less the two largest contributions is under ``p`` % of the largest). The mask has one row
        per cell: dims, ``contributors``, ``top_n_share`` (%), ``p_margin`` (%), ``offending``,
        ``reason``. ``review`` when it passes but the policy defines neither dominance nor p%.

    Notes
    -----
    disclosure-control.md, "Derived statistics": magnitude tables are also checked for dominance
    and p% (the ``sdap`` policy: n=2, k=90 %, p=10 %, as in ACRO's defaults).

    Examples
    --------
    >>> df = pd.DataFrame({"provider": ["A"] * 10 + ["B"] * 10,
    ...                    "sessions": [5] * 10 + [100] + [1] * 9})
    >>> rules = CheckRules("sdap", "1", threshold=10, min_contributors=10,
    ...                    dominance_n=2, dominance_k=90.0, p_percent=10.0)
    >>> result = check_magnitude(df, ["provider"], "sessions", policy=rules)
    >>> result.status
    'fail'
    >>> result.mask[["provider", "offending"]].to_dict("list")
    {'provider': ['A', 'B'], 'offending': [False, True]}
    """
    rules = _rules(policy)
    dims = list(dims)
    _require_columns(data, [*dims, value] + ([contributor] if contributor else []), name)
    values = pd.to_numeric(data[value], errors="coerce")
    if values.isna().any() or (values < 0).any():
        bad = int(values.isna().sum() + (values < 0).sum())
        raise ConfigError(
            f"{name}: expected non-negative numbers in column {value!r}; found {bad} of "
            f"{len(data)} rows missing, non-numeric or negative"
        )
    frame = data[dims].copy()
    frame["_value"] = values.astype("float64")
    frame["_who"] = data[contributor].to_numpy() if contributor else np.arange(len(data))
    keys = [*dims, "_who"]
    per_contributor = frame.groupby(keys, dropna=False, sort=True)["_value"].sum().reset_index()

    rows: list[dict[str, Any]] = []
    reasons: list[str] = []
    groups = (
        per_contributor.groupby(dims, dropna=False, sort=True) if dims else [((), per_contributor)]
    )
    for key, cell in groups:
        key_t = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{d}={k}" for d, k in zip(dims, key_t, strict=True)) or "total"
        contribs = np.sort(cell["_value"].to_numpy())[::-1]
        total = float(contribs.sum())
        count = len(contribs)
        cell_reasons: list[str] = []
        if count < rules.threshold:
            cell_reasons.append(f"{count} contributors, fewer than the threshold {rules.threshold}")
        top_share = math.nan
        if rules.dominance_n is not None and rules.dominance_k is not None and total > 0:
            top_share = 100.0 * float(contribs[: rules.dominance_n].sum()) / total
            if top_share > rules.dominance_k:
                cell_reasons.append(
                    f"dominance: the {rules.dominance_n} largest contributors make "
                    f"{top_share:.1f}% of the total (limit {rules.dominance_k:g}%)"
                )
        p_margin = math.nan
        if rules.p_percent is not None and count > 0 and contribs[0] > 0:
            rest = total - float(contribs[:2].sum())
            p_margin = 100.0 * rest / float(contribs[0])
            if p_margin < rules.p_percent:
                cell_reasons.append(
                    f"p% rule: the second-largest contributor could estimate the largest within "
                    f"{p_margin:.1f}% (limit {rules.p_percent:g}%)"
                )
        if cell_reasons:
            reasons.append(f"{label}: " + "; ".join(cell_reasons))
        rows.append(
            {
                **dict(zip(dims, key_t, strict=True)),
                "contributors": count,
                "top_n_share": top_share,
                "p_margin": p_margin,
                "offending": bool(cell_reasons),
                "reason": "; ".join(cell_reasons),
            }
        )
    review: list[str] = []
    if rules.dominance_n is None and rules.p_percent is None:
        review.append(
            f"policy {rules.policy_id} {rules.policy_version} defines no dominance or p% rule: "
            "a checker must judge dominance"
        )
    mask = pd.DataFrame(
        rows, columns=[*dims, "contributors", "top_n_share", "p_margin", "offending", "reason"]
    )
    all_reasons = [*reasons, *review] if reasons else review
    return CheckResult(name, _status(reasons, review), tuple(all_reasons), mask)


def check_summary(
    data: pd.DataFrame,
    value: str,
    *,
    dims: Sequence[str] = (),
    statistics: Sequence[str] = ("mean", "median"),
    policy: object = "nhs-sde",
    name: str = "summary statistics",
) -> CheckResult:
    """Check summary statistics of ``value`` (by ``dims``) before release.

    Parameters
    ----------
    data
        Microdata, one row per individual.
    value
        The column summarised; rows where it is missing do not contribute.
    dims
        Grouping columns (empty: one overall group).
    statistics
        Names such as ``"mean"``, ``"median"``, ``"std"``; ``"min"``/``"max"`` always fail.
    policy
        A policy id, a :class:`~iaptkit.sdc.Policy`, or :class:`CheckRules`.
    name
        Named in the result.

    Returns
    -------
    CheckResult
        One mask row per group and statistic: dims, ``statistic``, ``contributors``,
        ``offending``, ``reason``.

    Notes
    -----
    disclosure-control.md, "Derived statistics": means, medians and other summaries need at least
    the threshold number of contributors (the policy's ``min_contributors``); minimum and maximum
    values of individuals are never released.

    Examples
    --------
    >>> df = pd.DataFrame({"g": ["a"] * 12 + ["b"] * 3, "wait": range(15)})
    >>> rules = CheckRules("demo", "1", threshold=10, min_contributors=10)
    >>> r = check_summary(df, "wait", dims=["g"], statistics=["mean"], policy=rules)
    >>> r.status, r.mask["offending"].tolist()
    ('fail', [False, True])
    >>> check_summary(df, "wait", statistics=["max"], policy=rules).status
    'fail'
    """
    rules = _rules(policy)
    dims = list(dims)
    _require_columns(data, [*dims, value], name)
    unknown = [s for s in statistics if s not in _ALLOWED_SUMMARIES | _NEVER_RELEASED]
    if unknown:
        raise ConfigError(
            f"{name}: unknown statistics {unknown}; expected some of "
            f"{sorted(_ALLOWED_SUMMARIES | _NEVER_RELEASED)}"
        )
    present = data.loc[data[value].notna(), dims]
    counts = present.groupby(dims, dropna=False, sort=True).size() if dims else None
    groups: list[tuple[tuple[Any, ...], int]] = (
        [((k if isinstance(k, tuple) else (k,)), int(n)) for k, n in counts.items()]
        if counts is not None
        else [((), len(present))]
    )
    rows: list[dict[str, Any]] = []
    reasons: list[str] = []
    for key, n in groups:
        label = ", ".join(f"{d}={k}" for d, k in zip(dims, key, strict=True)) or "overall"
        for stat in statistics:
            if stat in _NEVER_RELEASED:
                why = f"{stat} of individual values is never released"
            elif n < rules.min_contributors:
                why = f"{n} contributors, fewer than {rules.min_contributors}"
            else:
                why = ""
            if why:
                reasons.append(f"{label} {stat}: {why}")
            rows.append(
                {
                    **dict(zip(dims, key, strict=True)),
                    "statistic": stat,
                    "contributors": n,
                    "offending": bool(why),
                    "reason": why,
                }
            )
    mask = pd.DataFrame(rows, columns=[*dims, "statistic", "contributors", "offending", "reason"])
    return CheckResult(name, _status(reasons, ()), tuple(reasons), mask)


def summarise(
    data: pd.DataFrame,
    value: str,
    *,
    dims: Sequence[str] = (),
    statistics: Sequence[str] = ("mean", "median"),
    policy: object = "nhs-sde",
    decimals: int = 1,
) -> tuple[pd.DataFrame, CheckResult]:
    """Compute summary statistics and blank those :func:`check_summary` rejects.

    Returns
    -------
    tuple
        A long table for export (dims, ``statistic``, ``value`` as text or ``"*"``, policy id
        and version) and the :class:`CheckResult` (whose mask has the contributor counts, for
        the checker; they are not exported, since a count published beside a statistic could
        undo the suppression of a linked count table).

    Notes
    -----
    disclosure-control.md, "Derived statistics".

    Examples
    --------
    >>> df = pd.DataFrame({"g": ["a"] * 12 + ["b"] * 3, "wait": range(15)})
    >>> rules = CheckRules("demo", "1", threshold=10, min_contributors=10)
    >>> table, _ = summarise(df, "wait", dims=["g"], statistics=["mean"], policy=rules)
    >>> table["value"].tolist()
    ['5.5', '*']
    """
    rules = _rules(policy)
    result = check_summary(
        data, value, dims=dims, statistics=statistics, policy=rules, name=f"summary of {value}"
    )
    assert result.mask is not None
    out = result.mask.copy()
    numbers = pd.to_numeric(data[value], errors="coerce")
    frame = data[list(dims)].assign(_v=numbers)
    by_key: dict[tuple[Any, ...], pd.Series] = (
        {
            (k if isinstance(k, tuple) else (k,)): g["_v"]
            for k, g in frame.groupby(list(dims), dropna=False, sort=True)
        }
        if dims
        else {(): frame["_v"]}
    )
    values: list[str] = []
    for row_key, row in zip(
        out[list(dims)].itertuples(index=False, name=None), out.to_dict("records"), strict=True
    ):
        if row["offending"]:
            values.append("*")
            continue
        series = by_key[tuple(row_key)].dropna()
        stat = str(row["statistic"])
        number = float(series.quantile(0.5) if stat == "quantile" else getattr(series, stat)())
        values.append(f"{number:.{decimals}f}")
    out["value"] = values

    out["policy_id"] = rules.policy_id
    out["policy_version"] = rules.policy_version
    # The contributor counts stay in result.mask (inside the environment): published beside
    # the statistic they could undo the suppression of linked count tables.
    return out.drop(columns=["offending", "reason", "contributors"]), result


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
        A policy id, a :class:`~iaptkit.sdc.Policy`, or :class:`CheckRules`.
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
    disclosure-control.md, "Derived statistics": regression results need at least the policy's
    residual degrees of freedom (``sdap``: 10), and every category of a categorical covariate
    needs the threshold number of people.

    Examples
    --------
    >>> import statsmodels.formula.api as smf
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 40 + ["c"] * 4, "x": rng.normal(size=84)})
    >>> df["y"] = df["x"] + rng.normal(size=84)
    >>> fit = smf.ols("y ~ x + C(g)", data=df).fit()
    >>> rules = CheckRules("sdap", "1", threshold=10, min_contributors=10, min_residual_df=10)
    >>> r = check_regression(fit, df, categorical=["g"], policy=rules)
    >>> r.status, r.mask.loc[r.mask["offending"], "term"].tolist()
    ('fail', ['C(g)[T.c]'])
    """
    rules = _rules(policy)
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
        _require_columns(data, list(categorical), name)
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
    return CheckResult(name, _status(reasons, review), tuple([*reasons, *review]), mask)


def _term_covariate(term: str) -> str:
    """The covariate of a patsy term: ``C(gender)[T.Male]`` and ``gender[T.Male]`` -> ``gender``."""
    base = term.split("[", 1)[0]
    if base.startswith("C(") and base.endswith(")"):
        base = base[2:-1].split(",", 1)[0].strip()
    return base
