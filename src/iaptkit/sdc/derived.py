"""Protect the published measures long table: counts jointly, rates and means recomputed.

The long table of :func:`iaptkit.measures.published.published_measures` (columns
``period_start, period_end, breakdown, group, measure, value, kind, numerator, denominator,
ci_lower, ci_upper, definitions_version``) holds counts, rates and means. The counts are one
cell space, with the relations an attacker knows:

* within a breakdown that partitions England (every group present, incl. ``Unknown``), the
  groups add up to the England value (and a combined breakdown ``a x b`` adds up to ``a``, to
  ``b`` and to England) -- added only where the true values do add up;
* ``finished_treatment = at_caseness + not_at_caseness``;
* the inequalities ``recovered <= at_caseness``, ``reliably_recovered <= recovered``,
  ``waited_6_weeks <= waited_18_weeks <= finished_treatment``, ``reliably_improved +
  reliably_deteriorated + no_reliable_change <= finished_treatment``, ``finished_treatment <=
  ended_referrals``, ``first_to_second_over_90_days <= second_treatment``;
* ``2 x finished_treatment <= sum_sessions_finished`` (a course has at least 2 sessions)
  (all in :mod:`iaptkit.sdc.measure_relations`).

Rates are recomputed by the policy's rule (:mod:`iaptkit.sdc.rates`) and suppressed when the
numerator or denominator is suppressed or below the threshold; means need the policy's number of
contributors. The counts read together with every published rate then pass an integer audit
(:func:`iaptkit.sdc.rates.rates_audit`), or the output is refused; with every published mean
(and the sums behind them, :mod:`iaptkit.sdc.means_audit`) too, means being withheld until it
passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from iaptkit.definitions.labels import BREAKDOWN_SEPARATOR
from iaptkit.errors import AuditFailedError, ConfigError
from iaptkit.sdc.categories import category_rules, with_every_category
from iaptkit.sdc.integer_attack import rows_matrix
from iaptkit.sdc.layout import frame_html
from iaptkit.sdc.means_audit import (
    PublishedMean,
    statistic_families,
    withhold_means,
)
from iaptkit.sdc.measure_relations import CELL_KEY, measure_relations
from iaptkit.sdc.measures_layout import VALUE_COLUMNS, export_layout, published_layout
from iaptkit.sdc.median_relations import median_relations
from iaptkit.sdc.policies import Policy, load_policy
from iaptkit.sdc.protected import FrozenMappingsPickle
from iaptkit.sdc.rates import PublishedRate, fmt, rate_texts, rates_audit
from iaptkit.sdc.rules import primary_mask
from iaptkit.sdc.solve import Progress, solve_cells
from iaptkit.sdc.tables import CellTable

if TYPE_CHECKING:
    from collections.abc import Mapping

    from iaptkit.definitions.model import BreakdownRules
    from iaptkit.sdc.audit import AuditCertificate

__all__ = ["MEAN_DECIMALS", "ProtectedMeasures", "protect_measures"]

REQUIRED_COLUMNS: tuple[str, ...] = (
    "period_start",
    "period_end",
    "breakdown",
    "group",
    "measure",
    "value",
    "kind",
)
#: Decimal places of a published mean (e.g. mean sessions).
MEAN_DECIMALS = 1


@dataclass(frozen=True, eq=False)
class ProtectedMeasures(FrozenMappingsPickle):
    """The measures table after disclosure control.

    Attributes
    ----------
    policy
        The policy applied.
    cells
        INTERNAL view: every input row with ``true_value``, ``display``, ``status``
        (published | primary | secondary | structural_zero for counts; published | suppressed
        | missing for rates and means) and ``reason``.
    certificate
        The audit certificate of the counts.
    info_loss
        Counts suppressed (primary, secondary), rates/means suppressed.
    relations_added
        How many equality and inequality relations the attacker is assumed to know.
    """

    policy: Policy
    cells: pd.DataFrame
    certificate: AuditCertificate
    info_loss: Mapping[str, float]
    relations_added: Mapping[str, int]
    columns: tuple[str, ...] = ()

    def __repr__(self) -> str:
        loss = self.info_loss
        n_supp = int(loss.get("suppressed_primary", 0) + loss.get("suppressed_secondary", 0))
        return (
            f"<ProtectedMeasures: {len(self.cells)} rows, {int(loss.get('counts', 0))} counts "
            f"({n_supp} suppressed), {int(loss.get('derived', 0))} rates and means "
            f"({int(loss.get('derived_suppressed', 0))} suppressed); policy {self.policy.id} "
            f"v{self.policy.version}, rates from {self.policy.rates_from} counts; audit "
            f"{'passed' if self.certificate.passed else 'FAILED'}>"
        )

    def published(self) -> pd.DataFrame:
        """ANALYST view: numbers as published, one column per breakdown, a status per row.

        Returns
        -------
        pandas.DataFrame
            ``period_start``, ``period_end``, ``breakdown``, one column per breakdown dimension
            (``provider``, ``age_band``, ...: the group of a combined breakdown
            ``provider x age_band`` split into its columns; ordered categoricals where the
            labels have an order, e.g. IMD decile; ``<NA>`` where the row's breakdown does not
            use it), ``measure``, ``kind``, ``value`` (``Float64``), ``status`` (published |
            rounded | suppressed | missing; primary and secondary are never told apart),
            ``numerator`` and ``denominator`` (``Int64``: the published counts of the
            measures named in ``numerator_measure`` and ``denominator_measure``), ``ci_lower``,
            ``ci_upper`` (``Float64``), ``rate_from`` (``rounded counts`` or ``unrounded
            counts``, per the policy's rule: why a rate may differ from the ratio of the
            published counts), the input's other columns, ``policy_id``, ``policy_version``.
            Suppressed and missing values are ``<NA>``; :meth:`export` writes them as ``*``.

        Examples
        --------
        >>> rows = [("england", "England", 60), ("provider", "A", 57), ("provider", "B", 3)]
        >>> df = pd.DataFrame([dict(period_start="2024-04-01", period_end="2024-06-30",
        ...     breakdown=b, group=g, measure="referrals_received", value=v, kind="count")
        ...     for b, g, v in rows])
        >>> pub = protect_measures(df, "sdap").published()
        >>> pub["provider"].tolist(), pub["value"].tolist(), pub["status"].tolist()
        ([<NA>, 'A', 'B'], [60.0, <NA>, <NA>], ['published', 'suppressed', 'suppressed'])
        """
        return published_layout(self.cells, self.columns, self.policy)

    def _repr_html_(self) -> str:
        """The notebook display: :meth:`published`, suppressed rows shaded, never their truth."""
        return frame_html(self.published(), repr(self), numbers=VALUE_COLUMNS)

    def export(self) -> pd.DataFrame:
        """EXPORT view (the CSV file): :meth:`published` with ``*`` where suppressed."""
        display = self.cells[["display", "ci_lower_display", "ci_upper_display"]].set_axis(
            ["value", "ci_lower", "ci_upper"], axis=1
        )
        return export_layout(self.published(), display)

    def underlying(self) -> pd.DataFrame:
        """The truth beside what is published (for the output checker, never exported)."""
        return self.cells.copy()

    def to_csv(self, path: str | Path) -> Path:
        """Write :meth:`export` to ``path`` (CSV, ``*`` where suppressed)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        self.export().to_csv(p, index=False)
        return p


def protect_measures(
    measures: pd.DataFrame,
    policy: Policy | str | Path = "nhs-sde",
    *,
    rounding: str = "policy",
    categories: BreakdownRules | None = None,
    progress: Progress | None = None,
) -> ProtectedMeasures:
    """Protect the published measures long table.

    Parameters
    ----------
    measures
        Long table of published measures (see module docstring for the columns).
    policy
        Policy object, id or path.
    rounding
        ``"policy"`` or ``"midpoint6"``.
    categories
        The labels of the breakdowns (``Definitions.breakdowns``) the table was made with.
        Before protection every category of each labelled breakdown (age band, gender, ethnic
        group, IMD decile) gets a row, a count of 0 where nobody is in it, so that a missing row
        never gives a zero away (:func:`iaptkit.sdc.categories.with_every_category`).
        ``None`` (the default) takes them from the table's ``definitions_version`` column
        (a packaged definitions set; :func:`iaptkit.sdc.categories.category_rules`).
    progress
        Optional callback ``(stage, done, total)``, the stages of
        :data:`iaptkit.sdc.solve.STAGES`: secondary suppression and its attacker passes, the
        audit, then the integer audit of the rates and means (``"rates"``). A table of every
        family by provider and a crossed breakdown can take minutes.

    Returns
    -------
    ProtectedMeasures
        ``.published()`` is the export view; ``.certificate`` the audit of the counts.

    Raises
    ------
    ConfigError
        Missing columns, unknown kinds, duplicate or non-integer counts; labels of a breakdown
        that are not those of ``categories`` (or of a site's own definitions not passed).
    AuditFailedError
        The counts fail the attacker audit.

    Notes
    -----
    Measures and their relations: ``docs/measures.md`` section 2; rates and means:
    ``docs/disclosure-control.md`` ("Derived statistics"). National counts are those
    of the ``england`` breakdown. Totals are rounded from their own true values (a policy's
    ``sum_of_rounded`` margin rule does not apply to this table).

    Examples
    --------
    >>> rows = [("england", "England", 60), ("provider", "A", 57), ("provider", "B", 3)]
    >>> df = pd.DataFrame([dict(period_start="2024-04-01", period_end="2024-06-30", breakdown=b,
    ...                        group=g, measure="finished_treatment", value=v, kind="count")
    ...                    for b, g, v in rows])
    >>> protect_measures(df, "sdap").export()["value"].tolist()
    ['60', '*', '*']
    """
    pol = load_policy(policy)
    missing = [c for c in REQUIRED_COLUMNS if c not in measures.columns]
    if missing:
        raise ConfigError(
            f"Measures table: expected columns {list(REQUIRED_COLUMNS)}; missing {missing} "
            f"({len(measures)} rows)."
        )
    rules = categories if categories is not None else category_rules(measures)
    full = measures if rules is None else with_every_category(measures, rules)
    df = full.reset_index(drop=True).copy()
    for c in ("period_start", "period_end", "breakdown", "group", "measure", "kind"):
        df[c] = df[c].astype(str)
    for c in ("numerator", "denominator"):
        if c not in df.columns:
            df[c] = pd.NA
    kinds = set(df["kind"])
    unknown = sorted(kinds - {"count", "rate", "mean", "median", "internal"})
    if unknown:
        raise ConfigError(
            "Measures table, column 'kind': expected count, rate, mean, median or internal; "
            f"found {unknown}."
        )
    is_count = (df["kind"] == "count").to_numpy()
    raw = pd.to_numeric(df.loc[is_count, "value"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(raw) | (np.floor(raw) != raw) | (raw < 0)
    if bool(bad.any()):
        ex = df.loc[is_count].loc[bad, [*CELL_KEY, "value"]].head(3).to_dict("records")
        raise ConfigError(
            f"Measures table: {int(bad.sum())} count rows are not whole numbers >= 0 (e.g. {ex})."
        )
    counts = df.loc[is_count].copy()
    counts["true_value"] = raw.astype(np.int64)
    dup = counts.duplicated(list(CELL_KEY), keep=False)
    if bool(dup.any()):
        ex = counts.loc[dup, list(CELL_KEY)].head(3).to_dict("records")
        raise ConfigError(f"Measures table: {int(dup.sum())} count rows repeat a cell (e.g. {ex}).")
    counts = counts.reset_index().rename(columns={"index": "_row"})
    n = len(counts)
    eqs, ineqs = measure_relations(counts)
    # a median printed beside its band counts bounds them (at least half on each side)
    ineqs += median_relations(counts, df.loc[df["kind"] == "median"], MEAN_DECIMALS)
    national = (counts["breakdown"] == "england").to_numpy()
    level = np.where(
        national,
        2,
        np.where(counts["breakdown"].str.contains(BREAKDOWN_SEPARATOR, regex=False), 0, 1),
    ).astype(np.int64)
    table = CellTable(
        keys=counts[list(CELL_KEY)],
        values=counts["true_value"].to_numpy(dtype=np.int64),
        is_margin=level > 0,
        level=level,
        relations=rows_matrix(eqs, n),
        inequalities=rows_matrix(ineqs, n) if ineqs else None,
    )
    labels = [
        f"{r['measure']} {r['breakdown']}={r['group']} {r['period_start']}..{r['period_end']}"
        for r in counts.to_dict("records")
    ]
    solved = solve_cells(
        table, pol, national=national, rounding=rounding, labels=labels, progress=progress
    )

    out = df.copy()
    out["true_value"] = pd.to_numeric(out["value"], errors="coerce")
    out["display"] = ""
    out["status"] = ""
    out["reason"] = ""
    out["ci_lower_display"] = ""
    out["ci_upper_display"] = ""
    rows = counts["_row"].to_numpy()
    supp = solved.suppressed
    out.loc[rows, "display"] = np.where(supp, "*", solved.published.astype(str))
    out.loc[rows, "status"] = solved.status.astype(str)
    out.loc[rows, "reason"] = np.where(
        solved.status == "primary",
        f"count below {pol.threshold}",
        np.where(solved.status == "secondary", "protects a suppressed count", ""),
    )
    lookup = {k: i for i, k in enumerate(map(tuple, counts[list(CELL_KEY)].to_numpy().tolist()))}
    small = primary_mask(counts["true_value"].to_numpy(), pol)
    truth = counts["true_value"].to_numpy()
    published_rates: list[PublishedRate] = []
    published_means: list[PublishedMean] = []
    # every mean's groups (cohort count cell, true mean): the sums the attacker reasons about
    all_means: dict[str, list[tuple[int, float]]] = {}
    n_derived_supp = 0
    for i in np.flatnonzero(~is_count):
        r = df.loc[i]
        base = (r["period_start"], r["period_end"], r["breakdown"], r["group"])
        decimals = (
            pol.rate_decimals_national
            if r["breakdown"] == "england"
            else pol.rate_decimals_subnational
        )
        den_name = r["denominator"]
        den = lookup.get((*base, str(den_name))) if pd.notna(den_name) else None
        status, reason, display = "published", "", ""
        if r["kind"] == "rate":
            num_name = r["numerator"]
            num = lookup.get((*base, str(num_name))) if pd.notna(num_name) else None
            if num is None or den is None:
                status, reason = "suppressed", "numerator or denominator count not in the table"
            elif supp[num] or supp[den]:
                status, reason = "suppressed", "numerator or denominator suppressed"
            elif small[num] or small[den]:
                status, reason = "suppressed", f"numerator or denominator below {pol.threshold}"
            elif truth[den] == 0 or solved.published[den] == 0:
                status, reason = "missing", "zero denominator"
            else:
                from_pub = pol.rates_from != "unrounded"
                src = solved.published if from_pub else truth
                texts = rate_texts(float(src[num]), float(src[den]), decimals)
                display = texts[0]
                out.loc[i, "ci_lower_display"] = texts[1]
                out.loc[i, "ci_upper_display"] = texts[2]
                published_rates.append(PublishedRate(int(num), int(den), decimals, texts, from_pub))
        elif r["kind"] == "internal":
            # an individual's value (a maximum or minimum): for inside use only, never released
            status, reason = "suppressed", "inside use only (an individual's value)"
        else:
            # a mean or a median: published when enough pathways contribute
            mean = pd.to_numeric(pd.Series([r["value"]]), errors="coerce").iloc[0]
            if den is not None and r["kind"] == "mean":
                all_means.setdefault(str(r["measure"]), []).append((int(den), float(mean)))
            if den is None:
                status, reason = "suppressed", "number of contributors not in the table"
            elif supp[den]:
                status, reason = "suppressed", "contributor count suppressed"
            elif int(counts["true_value"].iloc[den]) < pol.min_contributors:
                status, reason = "suppressed", f"fewer than {pol.min_contributors} contributors"
            elif pd.isna(mean):
                status, reason = "missing", "no value"
            else:
                display = fmt(float(mean), MEAN_DECIMALS)
                if r["kind"] == "mean":
                    published_means.append(
                        PublishedMean(
                            int(i), str(r["measure"]), int(den), float(display), MEAN_DECIMALS
                        )
                    )
        if status == "suppressed":
            display = "*"
            out.loc[i, "ci_lower_display"] = "*"
            out.loc[i, "ci_upper_display"] = "*"
            n_derived_supp += 1
        out.loc[i, "display"] = display
        out.loc[i, "status"] = status
        out.loc[i, "reason"] = reason
    checked = rates_audit(solved.space, supp, published_rates, progress=progress)
    withheld: tuple[int, ...] = ()
    too_large: tuple[int, ...] = ()
    if checked.passed and all_means:
        # the means' sums, read with the counts and rates: withhold means until none narrows
        keys = counts[list(CELL_KEY[:-1])].to_numpy().tolist()

        def sum_cell(cell: int, measure: str) -> int | None:
            return lookup.get((*keys[cell], measure))

        checked, withheld, too_large = withhold_means(
            solved.space,
            supp,
            published_rates,
            published_means,
            lambda shown: statistic_families(shown, all_means, eqs, sum_cell),
            progress=progress,
        )
    for row in withheld:
        out.loc[row, ["display", "ci_lower_display", "ci_upper_display"]] = "*"
        out.loc[row, "status"] = "suppressed"
        out.loc[row, "reason"] = "withheld: with the other means it would narrow a suppressed count"
        n_derived_supp += 1
    for row in too_large:
        out.loc[row, ["display", "ci_lower_display", "ci_upper_display"]] = "*"
        out.loc[row, "status"] = "suppressed"
        out.loc[row, "reason"] = (
            "withheld: linked to too many counts to audit it with them "
            "(iaptkit.sdc.means_audit.MAX_LINKED_COUNTS; publish fewer breakdowns in one table)"
        )
        n_derived_supp += 1
    if not checked.passed:
        shown = "; ".join(f"{lab}: {lo:g}..{hi:g}" for lab, lo, hi in checked.failures[:5])
        raise AuditFailedError(
            f"The disclosure audit with published rates and means failed for "
            f"{len(checked.failures)} suppressed counts under policy {pol.id} "
            f"v{pol.version}: {shown}. The output must not be released."
        )
    loss = MappingProxyType(
        {
            "counts": float(n),
            "suppressed_primary": float((solved.status == "primary").sum()),
            "suppressed_secondary": float((solved.status == "secondary").sum()),
            "derived": float((~is_count).sum()),
            "derived_suppressed": float(n_derived_supp),
        }
    )
    return ProtectedMeasures(
        policy=pol,
        cells=out,
        certificate=solved.certificate,
        info_loss=loss,
        relations_added=MappingProxyType(
            {
                "equalities": len(eqs),
                "inequalities": len(ineqs),
                "rates": checked.n_rates,
                "informative_rates": checked.n_informative,
            }
        ),
        columns=tuple(str(c) for c in measures.columns),
    )
