"""What the disclosure checks share: their result, the policy rules they read, and helpers.

:class:`CheckResult` is what every check of :mod:`iaptkit.sdc.checks` returns (``pass``,
``fail`` or ``review``, readable reasons, a mask of offending rows); :class:`CheckRules` holds
the numbers of a policy the checks use (``docs/disclosure-control.md``, "Derived statistics") and
:func:`check_rules` reads them from a policy id, a :class:`~iaptkit.sdc.Policy` or alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from iaptkit.errors import ConfigError
from iaptkit.sdc.policies import load_policy

__all__ = [
    "CheckResult",
    "CheckRules",
    "Status",
    "check_rules",
    "check_status",
    "require_columns",
]

Status = Literal["pass", "fail", "review"]


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


def check_rules(policy: object) -> CheckRules:
    """The rules of ``policy`` for the checks.

    Parameters
    ----------
    policy
        A policy id (loaded with :func:`iaptkit.sdc.policies.load_policy`), a
        :class:`~iaptkit.sdc.Policy` or alike, or :class:`CheckRules` (returned as is).

    Returns
    -------
    CheckRules

    Examples
    --------
    >>> rules = CheckRules("demo", "1", threshold=10, min_contributors=10)
    >>> check_rules(rules) is rules
    True
    """
    if isinstance(policy, CheckRules):
        return policy
    if isinstance(policy, str):
        return CheckRules.from_policy(load_policy(policy))
    return CheckRules.from_policy(policy)


def require_columns(data: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    """Raise when ``data`` lacks any of ``columns``.

    Parameters
    ----------
    data
        The data a check reads.
    columns
        The columns it needs.
    where
        The check's name, for the message.

    Raises
    ------
    ConfigError
        Naming the columns expected, missing and found.

    Examples
    --------
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a"], "demo")
    """
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ConfigError(
            f"{where}: expected columns {list(columns)}; missing {missing}; "
            f"found {list(data.columns)} ({len(data)} rows)"
        )


def check_status(reasons: Sequence[str], review: Sequence[str]) -> Status:
    """A check's status: ``fail`` with reasons, else ``review`` with review notes, else ``pass``.

    Parameters
    ----------
    reasons
        Problems found (any makes the check fail).
    review
        Notes a person must judge (no problem found, but the policy leaves a rule undefined).

    Returns
    -------
    Status

    Examples
    --------
    >>> check_status([], ["no dominance rule"]), check_status([], [])
    ('review', 'pass')
    """
    if reasons:
        return "fail"
    return "review" if review else "pass"
