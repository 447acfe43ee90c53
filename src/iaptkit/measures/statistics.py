"""Statistics for rates: Wilson score intervals and funnel-plot control limits.

Published rates (recovery, reliable improvement, waits...) are proportions of small or large
denominators. Their 95 % confidence intervals use the Wilson score interval, which behaves well
near 0 % and 100 % and for small denominators (Wilson 1927; Newcombe 1998, method 3). Provider
comparison uses funnel plots (Spiegelhalter 2005): control limits around a target rate as a
function of the denominator, at 95 % ("warning") and 99.8 % ("alarm").

All functions are vectorised over numpy arrays and return floats; a zero denominator gives a
missing value (NaN), never zero (docs/measures.md §2: "A rate with a zero denominator is missing").
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from iaptkit.errors import ConfigError

__all__ = [
    "FUNNEL_LEVELS",
    "NORMAL_QUANTILES",
    "flag_outliers",
    "funnel_limits",
    "rate",
    "wilson_interval",
]

#: Two-sided coverage of the funnel-plot limits, by name (Spiegelhalter 2005, section 3.1).
FUNNEL_LEVELS: Mapping[str, float] = MappingProxyType({"95": 0.95, "99.8": 0.998})

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]


def _as_float(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


#: The two-sided normal quantile of the usual levels, as scipy computes it: both
#: ``scipy.special.ndtri(0.5 + level / 2)`` (``scipy.stats.norm.ppf``) and
#: ``-ndtri((1 - level) / 2)`` (``norm.isf``) give exactly these floats (a unit test checks),
#: so the published intervals need no scipy import (a second of every ``iaptkit measures``).
NORMAL_QUANTILES: Mapping[float, float] = MappingProxyType(
    {0.95: 1.959963984540054, 0.99: 2.5758293035489004, 0.998: 3.090232306167813}
)


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ConfigError(f"confidence level: expected a number between 0 and 1, found {level!r}.")
    if level in NORMAL_QUANTILES:
        return NORMAL_QUANTILES[level]
    # scipy is imported where used: commands that compute no interval (``iaptkit derive``)
    # start without it. ``ndtri`` is the standard normal quantile that ``scipy.stats.norm.ppf``
    # computes (the same values, to the last bit), without importing all of scipy.stats
    from scipy.special import ndtri

    return float(ndtri(0.5 + level / 2.0))


def _wilson_bounds(
    count: FloatArray, nobs: FloatArray, level: float
) -> tuple[FloatArray, FloatArray]:
    """Wilson bounds of proportions (``nobs > 0``), clipped to [0, 1].

    The arithmetic of statsmodels' ``proportion_confint(method="wilson")``, step by step:
    ``crit`` is the upper ``alpha / 2`` normal quantile, ``-ndtri(alpha / 2)``, as
    ``scipy.stats.norm.isf`` computes it (:data:`NORMAL_QUANTILES` for the usual levels).
    """
    count_a, nobs_a = _as_float(count), _as_float(nobs)
    q_ = count_a / nobs_a
    if level in NORMAL_QUANTILES:
        crit = NORMAL_QUANTILES[level]
    else:
        from scipy.special import ndtri

        crit = float(-ndtri((1.0 - level) / 2.0))
    crit2 = crit**2
    denom = 1 + crit2 / nobs_a
    center = (q_ + crit2 / (2 * nobs_a)) / denom
    dist = crit * np.sqrt(q_ * (1.0 - q_) / nobs_a + crit2 / (4.0 * nobs_a**2))
    dist /= denom
    low = np.clip(center - dist, 0, 1)
    high = np.clip(center + dist, 0, 1)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def rate(numerator: ArrayLike, denominator: ArrayLike, *, per: float = 100.0) -> FloatArray:
    """Return ``numerator / denominator * per``, missing (NaN) where the denominator is 0.

    Parameters
    ----------
    numerator, denominator
        Counts (scalars or arrays of the same shape).
    per
        Scale: 100 gives per cent (the published rates).

    Returns
    -------
    numpy.ndarray
        The rates, float; NaN where the denominator is zero or missing.

    Notes
    -----
    docs/measures.md §2: rates are per cent; "A rate with a zero denominator is missing, not zero".
    The published check: 27,884 / (57,060 − 3,200) = 51.8 % (June 2020 recovery).

    Examples
    --------
    >>> float(np.round(rate(27884, 57060 - 3200), 1))
    51.8
    >>> rate([1, 0], [4, 0]).tolist()
    [25.0, nan]
    """
    num, den = _as_float(numerator), _as_float(denominator)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0) * per, np.nan)
    return np.asarray(out, dtype=np.float64)


def wilson_interval(
    numerator: ArrayLike, denominator: ArrayLike, *, level: float = 0.95, per: float = 100.0
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for a proportion ``numerator / denominator``.

    Parameters
    ----------
    numerator, denominator
        Counts; ``0 <= numerator <= denominator``.
    level
        Two-sided coverage, 0.95 by default.
    per
        Scale of the bounds: 100 gives per cent, 1 a proportion.

    Returns
    -------
    (lower, upper) : tuple of numpy.ndarray
        The bounds, NaN where the denominator is 0.

    Notes
    -----
    With ``p = x/n`` and ``z`` the standard normal quantile, the bounds are
    ``(p + z²/2n ± z·sqrt(p(1−p)/n + z²/4n²)) / (1 + z²/n)`` (E. B. Wilson, "Probable
    inference, the law of succession, and statistical inference", JASA 22, 1927; R. G. Newcombe,
    Stat Med 17:857–872, 1998, method 3), computed with the same operations, in the same order,
    as statsmodels' ``proportion_confint(x, n, alpha=1 - level, method="wilson")`` (the same
    values to the last bit; the unit tests compare them), without importing statsmodels and
    scipy.stats (seconds at the start of every command); the bounds are exactly 0 when
    ``x = 0`` and exactly 1 (100 %) when ``x = n``, as the formula gives.
    Used for the ``ci_lower``/``ci_upper`` of published rates (docs/module-contracts.md, "Published
    measures").

    Examples
    --------
    >>> lo, hi = wilson_interval(27884, 53860)
    >>> round(float(lo), 2), round(float(hi), 2)
    (51.35, 52.19)
    >>> lo, hi = wilson_interval(0, 10)
    >>> float(lo), round(float(hi), 2)
    (0.0, 27.75)
    >>> lo, hi = wilson_interval([10, 0], [10, 0])
    >>> [round(float(v), 2) for v in lo], hi.tolist()
    ([72.25, nan], [100.0, nan])
    """
    x, n = _as_float(numerator), _as_float(denominator)
    _z(level)  # validates the level
    valid = n > 0
    # a zero denominator has no interval: computed with n = 1 (no warning), then set missing
    low, high = _wilson_bounds(np.where(valid, x, 0.0), np.where(valid, n, 1.0), level)
    # the exact bounds at the edges (floating point leaves them a last digit away)
    low = np.where(x <= 0, 0.0, np.clip(low, 0.0, 1.0))
    high = np.where(x >= n, 1.0, np.clip(high, 0.0, 1.0))
    lower = np.where(valid, low * per, np.nan)
    upper = np.where(valid, high * per, np.nan)
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)


def funnel_limits(
    denominator: ArrayLike,
    target: float,
    *,
    level: float = 0.998,
    method: Literal["exact", "normal"] = "exact",
    per: float = 100.0,
) -> tuple[FloatArray, FloatArray]:
    """Funnel-plot control limits for a proportion, as a function of the denominator.

    Parameters
    ----------
    denominator
        Denominators ``n`` (e.g. pathways at caseness per provider).
    target
        The target proportion ``θ`` as a fraction in [0, 1] (e.g. the national rate / 100).
    level
        Two-sided coverage: 0.95 (warning) or 0.998 (alarm) usually.
    method
        ``"exact"`` (default): exact binomial limits with Spiegelhalter's interpolation;
        ``"normal"``: ``θ ± z·sqrt(θ(1−θ)/n)`` clipped to [0, 1].
    per
        Scale of the limits: 100 gives per cent.

    Returns
    -------
    (lower, upper) : tuple of numpy.ndarray
        Limits, NaN where the denominator is 0.

    Raises
    ------
    ConfigError
        If ``target`` is outside [0, 1], or the method or level is unknown.

    Notes
    -----
    Exact method: D. J. Spiegelhalter, "Funnel plots for comparing institutional performance",
    Stat Med 24:1185–1202 (2005), Appendix A.1.1. For the quantile ``p`` of Binomial(n, θ),
    ``r_p`` is the smallest r with ``F(r) ≥ p``; ``α = (F(r_p) − p) / (F(r_p) − F(r_p − 1))``;
    the limit is ``(r_p − α) / n``. Lower limit at ``p = (1 − level)/2``, upper at
    ``p = (1 + level)/2``. The normal approximation is the same paper's equation (3).

    Examples
    --------
    >>> lo, hi = funnel_limits([100, 10000], 0.5, level=0.95, method="normal")
    >>> [round(float(v), 2) for v in lo], [round(float(v), 2) for v in hi]
    ([40.2, 49.02], [59.8, 50.98])
    >>> lo, hi = funnel_limits([100], 0.5, level=0.95)
    >>> round(float(lo[0]), 2), round(float(hi[0]), 2)
    (39.68, 59.32)
    """
    if not 0.0 <= target <= 1.0:
        raise ConfigError(
            f"funnel target: expected a proportion between 0 and 1, found {target!r} "
            "(give 0.52 for 52 %)."
        )
    n = _as_float(np.atleast_1d(denominator))
    valid = n > 0
    safe_n = np.where(valid, n, 1.0)
    if method == "normal":
        z = _z(level)
        half = z * np.sqrt(target * (1.0 - target) / safe_n)
        lower = np.clip(target - half, 0.0, 1.0)
        upper = np.clip(target + half, 0.0, 1.0)
    elif method == "exact":
        _z(level)  # validates the level
        from scipy import stats

        bounds = []
        for p in ((1.0 - level) / 2.0, (1.0 + level) / 2.0):
            r = stats.binom.ppf(p, safe_n, target)
            f_r = stats.binom.cdf(r, safe_n, target)
            f_r1 = stats.binom.cdf(r - 1, safe_n, target)
            with np.errstate(divide="ignore", invalid="ignore"):
                alpha = np.where(f_r > f_r1, (f_r - p) / (f_r - f_r1), 0.0)
            bounds.append(np.clip((r - alpha) / safe_n, 0.0, 1.0))
        lower, upper = bounds
    else:
        raise ConfigError(f"funnel method: expected 'exact' or 'normal', found {method!r}.")
    lower = np.where(valid, lower * per, np.nan)
    upper = np.where(valid, upper * per, np.nan)
    return np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)


def flag_outliers(
    table: pd.DataFrame,
    *,
    numerator: str = "numerator",
    denominator: str = "denominator",
    target: float | None = None,
    method: Literal["exact", "normal"] = "exact",
) -> pd.DataFrame:
    """Flag units (providers) whose rate lies outside the funnel-plot limits.

    Parameters
    ----------
    table
        One row per unit with numerator and denominator counts.
    numerator, denominator
        Names of the count columns.
    target
        Target proportion in [0, 1]; default the pooled rate ``Σ numerator / Σ denominator``.
    method
        ``"exact"`` binomial (default) or ``"normal"`` approximation (see :func:`funnel_limits`).

    Returns
    -------
    pandas.DataFrame
        The input columns plus ``rate``, ``target`` (per cent), ``lower_95``, ``upper_95``,
        ``lower_99_8``, ``upper_99_8`` (per cent) and ``flag``: one of ``"high (99.8%)"``,
        ``"high (95%)"``, ``"within"``, ``"low (95%)"``, ``"low (99.8%)"``, ``"no denominator"``.

    Raises
    ------
    ConfigError
        If a column is missing or the pooled denominator is zero and no target is given.

    Notes
    -----
    Spiegelhalter (2005), Stat Med 24:1185–1202: a unit beyond the 99.8 % limits is an
    "alarm", beyond 95 % a "warning". A rate exactly on a limit counts as within.

    Examples
    --------
    >>> t = pd.DataFrame({"group": ["A", "B", "C"], "numerator": [50, 20, 900],
    ...                   "denominator": [100, 100, 1000]})
    >>> flag_outliers(t, target=0.5)["flag"].tolist()
    ['within', 'low (99.8%)', 'high (99.8%)']
    """
    for col in (numerator, denominator):
        if col not in table.columns:
            raise ConfigError(
                f"flag_outliers: expected a column {col!r}, found columns {list(table.columns)}."
            )
    num = table[numerator].to_numpy(dtype=np.float64)
    den = table[denominator].to_numpy(dtype=np.float64)
    if target is None:
        total = float(np.nansum(den))
        if total <= 0:
            raise ConfigError("flag_outliers: the pooled denominator is zero; give a target.")
        target = float(np.nansum(num)) / total
    out = table.copy()
    r = rate(num, den)
    out["rate"] = r
    out["target"] = target * 100.0
    lo95, hi95 = funnel_limits(den, target, level=FUNNEL_LEVELS["95"], method=method)
    lo998, hi998 = funnel_limits(den, target, level=FUNNEL_LEVELS["99.8"], method=method)
    out["lower_95"], out["upper_95"] = lo95, hi95
    out["lower_99_8"], out["upper_99_8"] = lo998, hi998
    flag = np.full(len(out), "within", dtype=object)
    flag[r > hi95] = "high (95%)"
    flag[r > hi998] = "high (99.8%)"
    flag[r < lo95] = "low (95%)"
    flag[r < lo998] = "low (99.8%)"
    flag[~(den > 0)] = "no denominator"
    out["flag"] = flag
    return out
