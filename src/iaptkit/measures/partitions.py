"""Pathway parts: derive a long extract in slices of its pathways, to bound memory.

Every published measure is a count (or a sum) over pathways, and every derivation reads only the
rows of one pathway. So an extract can be split by PathwayID into disjoint *parts*, each part's
pathway table derived and counted on its own, and the counts added up: the result is exactly that
of one pass, while the engine holds one part's rows at a time. :class:`PathwayPart` is one part of
an :class:`iaptkit.data.Extract` (a :class:`~iaptkit.measures.sources.PathwaySubset`: the extract
and the restriction to the part's rows, which ``Extract.referrals_as_at`` and
``Extract.activity_as_at`` apply); :func:`auto_parts` chooses how many parts a DuckDB extract
needs for its memory limit.

Rows are assigned to a part by a hash of their typed PathwayID *before* the as-at
de-duplication, so each part de-duplicates only its own rows (the de-duplication keys of IDS101
and every activity table include PathwayID). IDS001 is keyed by submission and record, not by
pathway: each part reads all of it, joined to its own referrals.
"""

from __future__ import annotations

import math
import re

import ibis
import ibis.expr.types as ir

from iaptkit.data import TABLES, Extract
from iaptkit.errors import ConfigError

__all__ = [
    "ROWS_PER_GIB",
    "PathwayPart",
    "PathwayRange",
    "auto_parts",
    "check_parts",
    "memory_limit_bytes",
    "range_parts",
    "written_parts",
]

#: Source rows (IDS001, IDS101 and the activity tables together) one part may hold per GiB of
#: the engine's memory limit. Measured on the benchmark extracts: a national year (51 M rows)
#: peaks at about 4.2 GB under a 5 GB (4.66 GiB) limit in one part (``benchmarks/measures.py``).
ROWS_PER_GIB = 12_000_000

#: Pathways per part when the whole pathway table is written (``iaptkit derive``): each part
#: becomes a pandas frame of Python dates and decimals, about 0.8 KB per pathway (measured on
#: the 100k benchmark extract), held with its copies while it is written.
PATHWAYS_PER_WRITTEN_PART = 1_000_000

#: The tables whose row counts decide the number of parts: IDS001, IDS101 and the activity tables.
_SIZED_TABLES = (
    "IDS001MPI",
    "IDS101Referral",
    *(name for name, spec in TABLES.items() if spec.activity_key is not None),
)

_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS.update({"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40})


def check_parts(parts: int | None) -> int | None:
    """Return ``parts`` if it is ``None`` (automatic) or a whole number of at least 1.

    Raises
    ------
    ConfigError
        For anything else (zero, negative, not a whole number).

    Examples
    --------
    >>> check_parts(4), check_parts(None)
    (4, None)
    """
    if parts is None:
        return None
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise ConfigError(
            f"parts: expected a whole number of at least 1 (or automatic), found {parts!r}."
        )
    return parts


class PathwayPart:
    """The pathways of one part of an extract: a ``PathwaySource`` for the derivations.

    Parameters
    ----------
    extract
        The loaded extract.
    index, parts
        This part is number ``index`` (0-based) of ``parts``.

    Notes
    -----
    A pathway is in part ``hash(PathwayID) mod parts`` (the engine's hash of the typed
    PathwayID). Its referral and activity rows are all in that part, so the pathway table of a
    part is the rows of the whole pathway table for those pathways (docs/data-model.md rules 3 and 4
    are per PathwayID). The derivations read a part through the extract's own
    ``referrals_as_at`` and ``activity_as_at`` with ``where=part.where``.

    Examples
    --------
    >>> from datetime import date
    >>> from iaptkit.measures.examples import example_extract
    >>> ex = example_extract()
    >>> sizes = [ex.referrals_as_at(date(2024, 6, 30), where=PathwayPart(ex, k, 3).where)
    ...          .count().execute() for k in range(3)]
    >>> sum(sizes) == ex.referrals_as_at(date(2024, 6, 30)).count().execute()
    True
    """

    def __init__(self, extract: Extract, index: int, parts: int) -> None:
        if check_parts(parts) is None or not 0 <= index < parts:
            raise ConfigError(f"pathway part: expected 0 <= index < {parts}, found {index}.")
        self.extract = extract
        self.index = index
        self.parts = parts
        self.engine = extract.engine

    def where(self, rows: ir.Table) -> ir.Table:
        """The rows of ``rows`` (a table with a PathwayID) that belong to this part."""
        if self.parts == 1:
            return rows
        n = ibis.literal(self.parts)
        # the engine's hash may be signed (Spark): a non-negative remainder either way
        bucket = (rows.PathwayID.hash() % n + n) % n
        return rows.filter(bucket == self.index)


class PathwayRange(PathwayPart):
    """The pathways whose PathwayID lies in ``[lower, upper)``: a part in PathwayID order.

    Parameters
    ----------
    extract
        The loaded extract.
    index, parts
        This part is number ``index`` (0-based) of ``parts``; part 0 also holds rows with a
        null PathwayID (they belong to no pathway).
    lower, upper
        The first PathwayID of the part and the first of the next (``None``: unbounded).

    Notes
    -----
    Parts in PathwayID order, written one after another, give a table sorted by PathwayID, as
    the whole table would be (``iaptkit derive``). Text is compared by code point on every
    engine, as Python sorts it. See :func:`range_parts`.

    Examples
    --------
    >>> from datetime import date
    >>> from iaptkit.measures.examples import example_extract
    >>> ex = example_extract()
    >>> parts = range_parts(ex, 2)
    >>> sum(ex.referrals_as_at(date(2024, 6, 30), where=p.where).count().execute()
    ...     for p in parts) == ex.referrals_as_at(date(2024, 6, 30)).count().execute()
    True
    """

    def __init__(
        self, extract: Extract, index: int, parts: int, lower: str | None, upper: str | None
    ) -> None:
        super().__init__(extract, index, parts)
        self.lower = lower
        self.upper = upper

    def where(self, rows: ir.Table) -> ir.Table:
        """The rows of ``rows`` whose PathwayID is in ``[lower, upper)`` (or null, part 0)."""
        pid = rows.PathwayID
        inside = ibis.literal(True)
        if self.lower is not None:
            inside = inside & (pid >= self.lower)
        if self.upper is not None:
            inside = inside & (pid < self.upper)
        if self.index == 0:
            inside = inside | pid.isnull()
        return rows.filter(inside.fill_null(False))


def range_parts(extract: Extract, parts: int, *, sample: int = 100_000) -> list[PathwayRange]:
    """Split an extract into at most ``parts`` ranges of PathwayID of about equal size.

    The boundaries are quantiles of a sample of about ``sample`` IDS101 PathwayIDs: they only
    decide how the pathways are shared out (every PathwayID is in exactly one range whatever
    they are), so sampling changes the balance of the parts, never a result.

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> [(p.lower, p.upper) for p in range_parts(example_extract(), 1)]
    [(None, None)]
    """
    check_parts(parts)
    if parts == 1:
        return [PathwayRange(extract, 0, 1, None, None)]
    ids = extract.counted("IDS101Referral").select("PathwayID")
    ids = ids.filter(ids.PathwayID.notnull())
    total = int(ids.count().execute())
    if total > sample:
        ids = ids.sample(sample / total, seed=1)
    values = sorted(set(ids.PathwayID.execute().dropna().astype(str)))
    cuts: list[str] = []
    for k in range(1, parts):
        if values:
            cut = values[min(len(values) - 1, (k * len(values)) // parts)]
            if cut not in cuts and (not cuts or cut > cuts[-1]):
                cuts.append(cut)
    bounds: list[str | None] = [None, *cuts, None]
    n = len(bounds) - 1
    return [PathwayRange(extract, k, n, bounds[k], bounds[k + 1]) for k in range(n)]


def memory_limit_bytes(extract: Extract) -> int | None:
    """The DuckDB connection's ``memory_limit`` in bytes (``None`` if unknown or not DuckDB).

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> ex = example_extract()
    >>> _ = ex.con.raw_sql("SET memory_limit = '2GB'")  # DuckDB shows it as 1.8 GiB
    >>> round(memory_limit_bytes(ex) / 1e9, 1)
    1.9
    """
    if extract.engine != "duckdb":
        return None
    text = str(extract.con.raw_sql("SELECT current_setting('memory_limit')").fetchall()[0][0])
    match = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", text)
    if match is None or match.group(2).upper() not in _UNITS:
        return None
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def auto_parts(extract: Extract) -> int:
    """How many pathway parts a DuckDB extract needs under its memory limit (1 when small).

    The source rows of :data:`_SIZED_TABLES` divided by :data:`ROWS_PER_GIB` times the memory
    limit in GiB, rounded up. Spark, and extracts whose limit is unknown, use one part.

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> auto_parts(example_extract())
    1
    """
    limit = memory_limit_bytes(extract)
    if limit is None:
        return 1
    rows = 0
    for name in _SIZED_TABLES:
        if extract.has_table(name):
            rows += int(extract.raw(name).count().execute())
    budget = max(1.0, ROWS_PER_GIB * limit / 2**30)
    return max(1, math.ceil(rows / budget))


def written_parts(extract: Extract) -> int:
    """How many PathwayID ranges ``iaptkit derive`` writes a DuckDB extract in.

    At least :func:`auto_parts`, and enough for about :data:`PATHWAYS_PER_WRITTEN_PART`
    pathways per part (estimated by the distinct IDS101 PathwayIDs).

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> written_parts(example_extract())
    1
    """
    parts = auto_parts(extract)
    if extract.engine != "duckdb" or not extract.has_table("IDS101Referral"):
        return parts
    pathways = int(extract.raw("IDS101Referral").PathwayID.nunique().execute())
    return max(parts, math.ceil(pathways / PATHWAYS_PER_WRITTEN_PART))
