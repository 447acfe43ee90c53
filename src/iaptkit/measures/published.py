"""Published measures: counts, rates and means of docs/measures.md §2, by breakdown (§3).

:func:`published_measures` derives the pathway table of an extract as at the period end
(:mod:`iaptkit.measures.derive`, or from the NHS-derived fields, :mod:`iaptkit.measures.nhs_flags`),
counts its cohorts by breakdown (:mod:`iaptkit.measures.counting`) and lays the counts out as the
long table of docs/module-contracts.md "Published measures" (:mod:`iaptkit.measures.long_table`); on
a large DuckDB extract it does so in disjoint parts of the pathways and adds their counts up
(:mod:`iaptkit.measures.partitions`). :func:`measures_from_pathways` does the same from a
pathway table already derived.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from datetime import date

import ibis.expr.types as ir
import pandas as pd

from iaptkit.data import Extract
from iaptkit.definitions import Definitions, load_definitions
from iaptkit.definitions.commissioners import CommissionerLookup
from iaptkit.measures.catalogue import (
    LONG_COLUMNS,
    PublishedParameters,
    breakdown_name,
    parse_breakdowns,
)
from iaptkit.measures.commissioners import add_commissioner_hierarchy, check_lookup_for
from iaptkit.measures.counting import added_counts, indicator_table, pathway_counts
from iaptkit.measures.derive import pathway_table
from iaptkit.measures.families.compute import pathway_family_counts, stock_providers
from iaptkit.measures.families.counts import FamilyCounts, added_family_counts
from iaptkit.measures.families.layout import family_rows
from iaptkit.measures.families.specs import NHS_MEASURE_IDS, parse_families
from iaptkit.measures.long_table import long_table
from iaptkit.measures.nhs_flags import nhs_pathway_table, nhs_version
from iaptkit.measures.partitions import PathwayPart, auto_parts, check_parts
from iaptkit.measures.periods import check_period
from iaptkit.measures.sources import PathwaySource

__all__ = [
    "indicator_table",  # lives in iaptkit.measures.counting; kept here for existing importers
    "measures_from_pathways",
    "published_measures",
    "published_measures_with_count",
]


def measures_from_pathways(
    pathways: ir.Table | pd.DataFrame,
    start: date,
    end: date,
    by: str | Sequence[str] = ("england",),
    *,
    definitions_version: str,
    params: PublishedParameters | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Compute the published measures from a pathway table already derived as at ``end``.

    Parameters
    ----------
    pathways
        The pathway table (ibis, lazy; or pandas), one row per PathwayID.
    start, end
        The period ``[start, end]``; the table must describe the state as at ``end``.
    by
        Breakdowns (see :func:`parse_breakdowns`).
    definitions_version
        Written into every row.
    params
        Wait and gap thresholds (default 42, 126, 90 days).
    progress
        Called with a short message before each engine pass.

    Returns
    -------
    pandas.DataFrame
        The long table (:data:`~iaptkit.measures.catalogue.LONG_COLUMNS`), ordered by
        breakdown (as requested), group (natural order) and measure (publication order).

    Raises
    ------
    ConfigError
        If the period or a breakdown is invalid.
    IaptkitError
        If the pathway table has more than one row for a PathwayID.

    Notes
    -----
    docs/measures.md §2 (cohorts, rates, means; zero denominators give missing rates) and §3
    (breakdowns). Rates are per cent with 95 % Wilson bounds (:mod:`iaptkit.measures.statistics`).

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"PathwayID": ["a", "b"], "provider": ["P1", "P2"],
    ...     "ReferralRequestReceivedDate": [date(2024, 1, 2), date(2023, 5, 1)],
    ...     "ServDischDate": [None, date(2024, 1, 20)],
    ...     "TherapySession_FirstDate": [None, date(2023, 6, 1)],
    ...     "TherapySession_SecondDate": [None, date(2023, 6, 8)],
    ...     "TreatmentCareContact_Count": [0, 6], "CompletedTreatment_Flag": [False, True],
    ...     "NotCaseness_Flag": [False, False], "Recovery_Flag": [False, True],
    ...     "ReliableImprovement_Flag": [False, True], "ReliableDeterioration_Flag": [False, False],
    ...     "NoChange_Flag": [False, False], "ReliableRecovery_Flag": [False, True],
    ...     "wait_to_first_treatment": [None, 31]})
    >>> m = measures_from_pathways(p, date(2024, 1, 1), date(2024, 1, 31), "england",
    ...                            definitions_version="test")
    >>> m.set_index("measure").loc[["referrals_received", "recovery_rate",
    ...     "mean_sessions_finished"], "value"].tolist()
    [1.0, 100.0, 6.0]
    """
    check_period(start, end)
    breakdowns = parse_breakdowns(by)
    counts, _ = pathway_counts(
        pathways, start, end, breakdowns, params or PublishedParameters(), progress
    )
    return long_table(counts, breakdowns, start, end, definitions_version)


def published_measures(
    extract: Extract,
    start: date,
    end: date,
    by: str | Sequence[str] = ("england",),
    definitions: Definitions | None = None,
    use_nhs_flags: bool = False,
    *,
    progress: Callable[[str], None] | None = None,
    parts: int | None = None,
    families: str | Sequence[str | int] | None = None,
    commissioner_lookup: CommissionerLookup | None = None,
) -> pd.DataFrame:
    """All published measures of a period, by breakdown, from an extract.

    Parameters
    ----------
    extract
        The loaded extract (:func:`iaptkit.data.load_extract`).
    start, end
        The period ``[start, end]``; pathway state and derivations are taken as at ``end``.
    by
        Breakdowns, e.g. ``("england", "provider", "provider x age_band")``.
    definitions
        Measure definitions; ``None`` loads the packaged default.
    use_nhs_flags
        Use the NHS-derived IDS101 fields instead of iaptkit's own derivation
        (:func:`iaptkit.measures.nhs_flags.nhs_pathway_table`).
    progress
        Called with a short message before each engine pass.
    parts
        Derive in this many disjoint slices of the pathways, one after another, and add up
        their counts (the same result, less memory at once; DuckDB only). ``None`` chooses from
        the extract's size and the DuckDB memory limit
        (:func:`iaptkit.measures.partitions.auto_parts`): 1 unless the extract is large.
    families
        Measure families to compute, by number or name (docs/measures.md §5): 0 ``outcomes``
        (§2), 1 ``waits``, 2 ``ended``, 3 ``waiting_list``, 4 ``first_to_second``,
        5 ``appointments``, 6 ``referral_sources``, 7 ``sessions``, 8 ``employment_ltc_wsas``.
        ``None``: every family.
    commissioner_lookup
        The site's Sub-ICB -> ICB -> region lookup
        (:func:`iaptkit.definitions.commissioners.load_commissioner_lookup`); needed by the
        ``icb`` and ``region`` breakdowns, whose commissioner codes not in it are grouped as
        ``Not in lookup``.

    Returns
    -------
    pandas.DataFrame
        Long table: period_start, period_end, breakdown, group, measure, value, kind, numerator,
        denominator, ci_lower, ci_upper, definitions_version, family, nhs_measure_id.

    Raises
    ------
    ConfigError
        If the period, a breakdown or ``parts`` is invalid.
    ExtractError
        If ``use_nhs_flags`` and the extract lacks the NHS-derived fields.

    Notes
    -----
    docs/measures.md §2 and §3; docs/module-contracts.md "Published measures". Every measure is a
    count or a sum over pathways, so the counts of disjoint parts add up to those of the whole.

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> m = published_measures(example_extract(), date(2024, 4, 1), date(2024, 6, 30),
    ...                        "england, provider")
    >>> m[["breakdown", "group"]].drop_duplicates().values.tolist(), len(m)
    ([['england', 'England'], ['provider', 'R1A']], 474)
    >>> r1a = m[m["group"] == "R1A"].set_index("measure")
    >>> r1a.loc[["referrals_received", "finished_treatment", "recovery_rate",
    ...     "mean_sessions_finished"], ["value", "ci_lower", "ci_upper"]].round(2).values.tolist()
    [[1.0, nan, nan], [1.0, nan, nan], [100.0, 20.65, 100.0], [2.0, nan, nan]]
    """
    table, _ = published_measures_with_count(
        extract,
        start,
        end,
        by,
        definitions,
        use_nhs_flags,
        progress=progress,
        parts=parts,
        families=families,
        commissioner_lookup=commissioner_lookup,
    )
    return table


def published_measures_with_count(
    extract: Extract,
    start: date,
    end: date,
    by: str | Sequence[str] = ("england",),
    definitions: Definitions | None = None,
    use_nhs_flags: bool = False,
    *,
    progress: Callable[[str], None] | None = None,
    parts: int | None = None,
    families: str | Sequence[str | int] | None = None,
    commissioner_lookup: CommissionerLookup | None = None,
    pathways: ir.Table | None = None,
) -> tuple[pd.DataFrame, int]:
    """:func:`published_measures` and the number of pathways in the pathway table.

    Parameters
    ----------
    extract, start, end, by, definitions, use_nhs_flags, progress, parts, families,
    commissioner_lookup
        As for :func:`published_measures`.
    pathways
        The pathway table of ``extract`` as at ``end``, already derived (e.g. the parquet
        file of ``iaptkit derive``, read on the extract's backend): counted as it is, not
        derived again. Every measure of the period is the same as from the extract (the
        derivation of the period's measures only skips fields they do not read).

    Returns
    -------
    (pandas.DataFrame, int)
        The long table and the number of pathways (as at ``end``) it was computed from.

    Notes
    -----
    Used by ``iaptkit measures`` for its summary (pathways seen).

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> m, pathways = published_measures_with_count(
    ...     example_extract(), date(2024, 4, 1), date(2024, 6, 30), families="outcomes")
    >>> pathways, m.set_index("measure").loc[["entered_treatment", "recovered"], "value"].tolist()
    (1, [1.0, 1.0])
    """
    defs = definitions if definitions is not None else load_definitions()
    check_period(start, end)
    breakdowns = parse_breakdowns(by)
    lookup = commissioner_lookup if check_lookup_for(breakdowns, commissioner_lookup) else None
    chosen = parse_families(families)
    catalogue = tuple(f for f in chosen if f != 0)
    # family 0's NHS at-caseness count is counted with the families (docs/measures.md §2.6)
    if 0 in chosen and defs.catalogue.published_at_caseness:
        catalogue = (0, *catalogue)
    params = PublishedParameters.from_definitions(defs)
    check_parts(parts)
    version = defs.version
    providers = stock_providers(extract, end, defs) if 3 in catalogue else None
    fams: list[FamilyCounts] = []
    if pathways is not None:
        # derived already (iaptkit derive): one count over the table, no derivation
        counts, rows = pathway_counts(pathways, start, end, breakdowns, params, progress)
        if catalogue:
            if progress:
                progress("counting the measure families")
            fams.append(
                pathway_family_counts(
                    extract, pathways, start, end, breakdowns, defs, providers, catalogue
                )
            )
    elif use_nhs_flags or extract.engine != "duckdb":
        # NHS flags: one table read once (IDS101 and IDS001), no parts needed. Spark keeps one
        # lazy plan (cached stages would nest every plan in the next) and spreads it over its
        # own cluster: no parts
        if use_nhs_flags:
            version = nhs_version(defs)
            pathways = nhs_pathway_table(extract, end, defs)
        else:
            pathways = pathway_table(extract, end, defs)
        if lookup is not None:
            pathways = add_commissioner_hierarchy(pathways, lookup, defs)
        counts, rows = pathway_counts(pathways, start, end, breakdowns, params, progress)
        if catalogue:
            if progress:
                progress("counting the measure families")
            fams.append(
                pathway_family_counts(
                    extract, pathways, start, end, breakdowns, defs, providers, catalogue
                )
            )
    else:
        counts, rows = _counts_in_parts(
            extract,
            start,
            end,
            breakdowns,
            defs,
            params,
            progress,
            parts,
            catalogue,
            providers,
            fams,
            lookup,
        )
    table = long_table(counts, breakdowns, start, end, version) if 0 in chosen else None
    return _with_families(table, fams, catalogue, breakdowns, start, end, version), rows


def _with_families(
    table: pd.DataFrame | None,
    fams: list[FamilyCounts],
    catalogue: tuple[int, ...],
    breakdowns: tuple[tuple[str, ...], ...],
    start: date,
    end: date,
    version: str,
) -> pd.DataFrame:
    """The outcome table (family 0) and the catalogue families' rows, with NHS measure IDs."""
    frames = []
    if table is not None:
        frames.append(table.assign(family=0))
    if catalogue and fams:
        skip = frozenset(table["measure"]) if table is not None else frozenset()
        rows = family_rows(added_family_counts(fams), catalogue, start, end, version, skip)
        if not rows.empty:
            order = {breakdown_name(bd): i for i, bd in enumerate(breakdowns)}
            rows = rows.assign(_b=rows["breakdown"].map(order), _i=range(len(rows)))
            rows = rows.sort_values(["_b", "_i"], kind="stable").drop(columns=["_b", "_i"])
            frames.append(rows)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out["family"] = out["family"].astype("int64")
    out["nhs_measure_id"] = out["measure"].map(NHS_MEASURE_IDS)
    return out.loc[:, [*LONG_COLUMNS, "family", "nhs_measure_id"]].reset_index(drop=True)


def _counts_in_parts(
    extract: Extract,
    start: date,
    end: date,
    breakdowns: tuple[tuple[str, ...], ...],
    defs: Definitions,
    params: PublishedParameters,
    progress: Callable[[str], None] | None,
    parts: int | None,
    catalogue: tuple[int, ...] = (),
    providers: tuple[str, ...] | None = None,
    fams: list[FamilyCounts] | None = None,
    lookup: CommissionerLookup | None = None,
) -> tuple[pd.DataFrame, int]:
    """Derive and count on DuckDB, in ``parts`` slices of the pathways (automatic if None).

    With ``catalogue`` families, their counts of each part are appended to ``fams``.
    """
    n = parts if parts is not None else auto_parts(extract)
    counted: list[pd.DataFrame] = []
    rows = 0
    for k in range(n):
        source: PathwaySource = extract if n == 1 else PathwayPart(extract, k, n)
        # outcome flags count only for pathways finished in the period (indicator_table):
        # derive only what the period's measures read, in cached stages
        pathways = pathway_table(source, end, defs, outcomes_finished_in=(start, end))
        if lookup is not None:
            pathways = add_commissioner_hierarchy(pathways, lookup, defs)
        label = "" if n == 1 else f"part {k + 1} of {n}: "
        materialised = None
        if catalogue and fams is not None:
            # both the outcome counts and the families read the pathway table: materialise it
            # once, so that the derivation graph is compiled and run once
            if progress:
                progress(f"{label}deriving pathways")
            materialised = pathways.cache()
            pathways = materialised
        part, part_rows = pathway_counts(pathways, start, end, breakdowns, params, progress, label)
        counted.append(part)
        rows += part_rows
        if catalogue and fams is not None:
            if progress:
                progress(f"{label}counting the measure families")
            fams.append(
                pathway_family_counts(
                    source, pathways, start, end, breakdowns, defs, providers, catalogue
                )
            )
        if materialised is not None:
            materialised.release()
        # drop this part's cached stages before the next part is derived
        del pathways, materialised
        gc.collect()
    return added_counts(counted), rows
