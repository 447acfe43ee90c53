"""Where the derivations read from: an extract, or some of its pathways, and their activity.

The referral and activity tables *as at a date* are defined once, by the data layer
(:meth:`iaptkit.data.Extract.referrals_as_at` and :meth:`~iaptkit.data.Extract.activity_as_at`,
docs/data-model.md "which rows count"). A derivation reads a :data:`PathwaySource`: a whole
:class:`~iaptkit.data.Extract`, or a :class:`PathwaySubset` of its pathways (for example a
:class:`iaptkit.measures.partitions.PathwayPart`), which is the extract and the row restriction
(``where``) handed to those two methods. :class:`SharedActivity` gives the derivations the
activity of a source, each relation built once per derivation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from types import MappingProxyType
from typing import Protocol, TypeAlias

import ibis.expr.types as ir

from iaptkit.data import Extract

__all__ = [
    "SHARED_RELATIONS",
    "ActivitySource",
    "PathwaySource",
    "PathwaySubset",
    "SharedActivity",
    "Where",
    "split_source",
]

#: A row restriction: keeps or drops all the rows of a PathwayID (see ``Extract.referrals_as_at``).
Where: TypeAlias = Callable[[ir.Table], ir.Table]


class ActivitySource(Protocol):
    """What the contact, score and problem derivations read: activity tables as at a date."""

    def activity_as_at(
        self,
        name: str,
        as_at: date,
        *,
        pathways: ir.Table | None = None,
        prefer: Callable[[ir.Table], ir.BooleanValue] | None = None,
        keep: Callable[[ir.Table], ir.BooleanValue] | None = None,
    ) -> ir.Table: ...


class PathwaySubset(Protocol):
    """Some of an extract's pathways: the extract and the restriction to their rows."""

    @property
    def extract(self) -> Extract: ...

    def where(self, rows: ir.Table) -> ir.Table: ...


#: What the pathway derivation reads: a whole extract or a subset of its pathways.
PathwaySource: TypeAlias = "Extract | PathwaySubset"


def split_source(source: PathwaySource) -> tuple[Extract, Where | None]:
    """The extract of ``source`` and its row restriction (``None`` for a whole extract).

    Examples
    --------
    >>> from iaptkit.measures.examples import example_extract
    >>> ex = example_extract()
    >>> split_source(ex) == (ex, None)
    True
    """
    if isinstance(source, Extract):
        return source, None
    return source.extract, source.where


#: Activity relations read by more than one derivation (contacts and the dating of IDS607
#: scores): computed once and cached on the backend (``Table.cache``, DuckDB and Spark), with
#: only the columns the derivations read (the cache is held for the whole derivation).
SHARED_RELATIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "IDS201CareContact": (
            "PathwayID",
            "CareContactId",
            "CareContDate",
            "AppType",
            "AttendOrDNACode",
            "PlannedCareContIndicator",
        ),
        "IDS202CareActivity": (
            "PathwayID",
            "CareContactId",
            "CareActId",
            "CodeProcAndProcStatus",
        ),
    }
)

#: The tables the contact-derived fields come from (sessions, assessments).
_CONTACT_TABLES = frozenset({"IDS201CareContact", "IDS202CareActivity", "IDS205InternetTherLog"})


class SharedActivity:
    """An :class:`ActivitySource` over a :data:`PathwaySource`, each relation built once.

    Parameters
    ----------
    source
        The extract, or a subset of its pathways.
    shared
        Cache the relations of :data:`SHARED_RELATIONS` on the backend (a derivation reads
        them several times; ibis otherwise fuses each consumer's projection into its own copy
        of the de-duplication window). Release them with :meth:`release_shared`.

    Notes
    -----
    The derivations ask for the same relation several times: handing back the same expression
    lets ibis emit it once.

    Examples
    --------
    >>> from datetime import date
    >>> from iaptkit.measures.examples import example_extract
    >>> activity = SharedActivity(example_extract(), shared=False)
    >>> a = activity.activity_as_at("IDS201CareContact", date(2024, 6, 30))
    >>> a is activity.activity_as_at("IDS201CareContact", date(2024, 6, 30))
    True
    """

    def __init__(self, source: PathwaySource, *, shared: bool = True) -> None:
        self._extract, self._where = split_source(source)
        self._shared = shared
        self._relations: dict[tuple[str, date], ir.Table] = {}
        self._cached: set[tuple[str, date]] = set()
        #: when set (before the first contact table is asked for), the contact tables
        #: (IDS201, IDS202, IDS205) hold only these pathways' activity
        self.contact_pathways: ir.Table | None = None

    def release_shared(self) -> None:
        """Drop the cached relations of :data:`SHARED_RELATIONS` (once nothing lazy reads them)."""
        for key in [k for k in self._relations if k in self._cached]:
            self._relations.pop(key).release()
            self._cached.discard(key)

    def activity_as_at(
        self,
        name: str,
        as_at: date,
        *,
        pathways: ir.Table | None = None,
        prefer: Callable[[ir.Table], ir.BooleanValue] | None = None,
        keep: Callable[[ir.Table], ir.BooleanValue] | None = None,
    ) -> ir.Table:
        """The source's activity ``name`` as at ``as_at`` (``Extract.activity_as_at``).

        A ``prefer`` predicate (which row of a record wins) bypasses the shared relations, as
        as does ``keep`` (only the rows it holds for take part in the de-duplication).
        """
        if pathways is not None or prefer is not None or keep is not None:
            only = pathways
            if only is None and name in _CONTACT_TABLES:
                only = self.contact_pathways
            return self._extract.activity_as_at(
                name, as_at, pathways=only, where=self._where, prefer=prefer, keep=keep
            )
        key = (name, as_at)
        if key not in self._relations:
            only = self.contact_pathways if name in _CONTACT_TABLES else None
            relation = self._extract.activity_as_at(name, as_at, pathways=only, where=self._where)
            if self._shared and name in SHARED_RELATIONS:
                relation = relation.select(*SHARED_RELATIONS[name]).cache()
                self._cached.add(key)
            self._relations[key] = relation
        return self._relations[key]
