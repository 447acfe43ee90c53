"""Safe regressions in one call: ``ols``, ``logit``, ``probit`` with statsmodels' formula API.

:func:`fit_checked` fits the model as ``statsmodels.formula.api`` would (ACRO's ``olsr``,
``logitr``, ``probitr``), checks it with :func:`iaptkit.sdc.checks.check_regression` (the policy's
residual degrees of freedom; every category of a categorical covariate, ``C(x)`` or a text
column, needs the threshold number of people) and, for ``logit`` and ``probit``, that each
outcome class has the threshold number of people (rule ``outcome-class``: a coefficient table of
a model of a rare outcome describes those few people). The coefficients table is registered as a
``model`` output with N, residual df and the people per category kept inside, and the fitted
results object comes back. A failing check does not raise: the output is registered ``fail``
with its reasons (docs/safe-analysis.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import statsmodels.formula.api as smf

from iaptkit.errors import ConfigError
from iaptkit.release.analysis_record import CheckedOutput
from iaptkit.release.outputs import Output
from iaptkit.sdc import Policy, load_policy
from iaptkit.sdc.checks import check_regression

__all__ = ["MODELS", "fit_checked", "model_frame", "term_covariate"]

#: The model families and their statsmodels formula functions.
MODELS = {"ols": smf.ols, "logit": smf.logit, "probit": smf.probit}


def model_frame(data: Any) -> pd.DataFrame:
    """``data`` as statsmodels reads it: flags as 0/1 floats, nullable numbers as float64.

    Examples
    --------
    >>> f = model_frame(pd.DataFrame({"rec": [True, False], "s": pd.array([1, None], "Int64")}))
    >>> f.dtypes.astype(str).tolist()
    ['float64', 'float64']
    """
    frame = data.to_pandas() if hasattr(data, "to_pandas") else pd.DataFrame(data).copy()
    for col in frame.columns:
        dtype = frame[col].dtype
        if pd.api.types.is_bool_dtype(dtype):
            frame[col] = frame[col].astype("Float64").astype("float64")
        elif pd.api.types.is_numeric_dtype(dtype):
            frame[col] = pd.to_numeric(frame[col]).astype("Float64").astype("float64")
        elif pd.api.types.is_string_dtype(dtype):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


def term_covariate(term: str) -> str:
    """The covariate of a patsy term: ``C(sex)[T.M]`` and ``sex[T.M]`` -> ``sex``.

    Examples
    --------
    >>> term_covariate("C(age_band, Treatment('18-25'))[T.26-64]"), term_covariate("x")
    ('age_band', 'x')
    """
    base = term.split("[", 1)[0]
    if base.startswith("C(") and base.endswith(")"):
        base = base[2:-1].split(",", 1)[0].strip()
    return base


def _outcome_reasons(fit: Any, threshold: int) -> list[str]:
    endog = pd.Series(fit.model.endog)
    reasons = []
    for level, label in ((1.0, "positive"), (0.0, "negative")):
        n = int((endog == level).sum())
        if n < threshold:
            reasons.append(
                f"outcome-class: {n} people with a {label} outcome, fewer than the threshold "
                f"{threshold}"
            )
    return reasons


def fit_checked(
    rel: Any,
    kind: str,
    formula: str,
    data: Any,
    *,
    policy: Policy | str = "nhs-sde",
    name: str | None = None,
    record: Mapping[str, Any] | None = None,
) -> Any:
    """Fit ``kind`` (``ols``, ``logit``, ``probit``) on ``data``, check, register, return it.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from iaptkit.release import Release
    >>> rel = Release.open_or_create(pathlib.Path(tempfile.mkdtemp()) / "r")
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"x": rng.normal(size=60), "g": ["a"] * 30 + ["b"] * 27 + ["c"] * 3})
    >>> df["y"] = df["x"] + rng.normal(size=60)
    >>> fit = fit_checked(rel, "ols", "y ~ x + C(g)", df, policy="sdap", name="m")
    >>> round(fit.params["x"], 2), rel.output("m").status, rel.output("m").reasons[0]
    (np.float64(0.92), 'fail', 'g=c: 3 people, fewer than the threshold 10')
    """
    if kind not in MODELS:
        raise ConfigError(f"models: expected one of {sorted(MODELS)}; found {kind!r}")
    pol = load_policy(policy)
    frame = model_frame(data)
    try:
        model = MODELS[kind](formula, data=frame)
        fit = model.fit(disp=0) if kind != "ols" else model.fit()
    except Exception as exc:  # patsy / statsmodels errors name the formula's problem
        raise ConfigError(
            f"{kind}: could not fit {formula!r} on {len(frame)} rows "
            f"(columns {list(frame.columns)[:12]}): {exc}"
        ) from None
    terms = [str(t) for t in fit.params.index]
    categorical = sorted(
        {term_covariate(t) for t in terms if "[" in t} & {str(c) for c in frame.columns}
    )
    check = check_regression(
        fit, frame, categorical=categorical, policy=pol, name=f"{kind}: {formula}"
    )
    reasons = list(check.reasons)
    statuses = [check.status]
    if kind != "ols":
        outcome = _outcome_reasons(fit, pol.threshold)
        reasons.extend(outcome)
        statuses.append("fail" if outcome else "pass")
    table = fit.summary2().tables[1].reset_index().rename(columns={"index": "term"})
    table["policy_id"], table["policy_version"] = pol.id, pol.version
    assert check.mask is not None
    inside = check.mask.copy()
    inside["n"], inside["df_resid"] = int(fit.nobs), float(fit.df_resid)
    result = CheckedOutput(
        kind="model",
        published=table,
        underlying=inside,
        statuses=tuple(statuses),
        reasons=tuple(reasons) or (f"residual df {fit.df_resid:g} and every category passed",),
        policy_id=pol.id,
        policy_version=pol.version,
        dims=tuple(categorical),
        n=int(fit.nobs),
        df_resid=float(fit.df_resid),
        parameters={"call": kind, "formula": formula, "categorical": categorical},
    )
    out: Output = rel.add_checked(result, name=name or f"{kind}_model", **dict(record or {}))
    del out
    return fit
